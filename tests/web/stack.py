"""The product as the web pages meet it: a nats-server of the tests' own, the three services as
real processes, and the web app (in-process, or served by uvicorn for a browser) calling them
over HTTP. One stack per test module: its cases are told apart by school and reference."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.web.accounts import Accounts
from services.web.app import create_app
from services.web.sessions import SESSION_COOKIE
from shared.embedded_nats import EmbeddedNats, free_port
from shared.identity import Role
from shared.settings import Settings
from tests.conftest import StoreChoice
from tests.e2e.conftest import Services
from tests.web.people import Person, add_person, first_sign_in, sign_in


class Stack:
    """The running product, and a way to sign people in to its pages."""

    def __init__(self, services: Services, settings: Settings) -> None:
        self.services = services
        self.settings = settings
        self.app: FastAPI = create_app(settings)
        self.accounts: Accounts = self.app.state.accounts
        self._people: dict[str, Person] = {}
        self._sessions: dict[str, str] = {}

    def person(self, username: str, role: Role, schools: list[str]) -> Person:
        """An account (made once per stack), signed in once to choose its password and set up
        its second factor."""
        if username not in self._people:
            person = add_person(self.accounts, username, role, schools)
            with self.client() as client:
                first_sign_in(client, person)
            self._people[username] = person
        return self._people[username]

    def client(self) -> TestClient:
        """A browser of its own; use it in ``with`` (that runs the app's lifespan)."""
        return TestClient(self.app, base_url="https://testserver")

    def signed_in(self, username: str, role: Role, schools: list[str]) -> TestClient:
        """A browser where this person is signed in (through the pages, once per stack: a
        TOTP code is good once, so later browsers carry the same session)."""
        client = self.client()
        if username not in self._sessions:
            person = self.person(username, role, schools)
            with self.client() as first:
                sign_in(first, person)
                self._sessions[username] = first.cookies[SESSION_COOKIE]
        client.cookies.set(SESSION_COOKIE, self._sessions[username])
        return client

    def api(
        self, service: str, method: str, path: str, role: Role, schools: list[str], **kw: Any
    ) -> httpx.Response:
        """A call straight to a service, as another client would (to set up or check)."""
        return httpx.request(
            method,
            f"{self.services.url(service)}{path}",
            headers=self.services.bearer(role, schools),
            timeout=10,
            **kw,
        )

    def wait_for(self, check: Any, timeout: float = 20.0) -> Any:
        """``check()``'s first truthy answer, polled until ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            answer = check()
            if answer:
                return answer
            if time.monotonic() > deadline:
                raise AssertionError(f"not so within {timeout}s: {check}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    nats = EmbeddedNats(tmp / "nats", log_file=tmp / "nats.log")
    nats.start()
    settings = StoreChoice("sqlite", Path(tmp)).settings(
        nats_url=nats.url,
        intake_port=free_port(),
        referral_port=free_port(),
        review_port=free_port(),
        web_port=free_port(),
        web_failure_delay_seconds=0,
    )
    services = Services(settings, tmp)
    services.start()
    try:
        yield Stack(services, settings)
    finally:
        services.stop()
        nats.stop()
