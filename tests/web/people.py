"""Invented people signing in to the web pages through the pages themselves (TestClient)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyotp
from fastapi.testclient import TestClient

from services.web.accounts import Accounts
from shared.identity import Role

NEW_PASSWORD = "correct horse battery staple"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def post_form(client: TestClient, path: str, data: dict[str, str], page: str | None = None):  # type: ignore[no-untyped-def]
    """Posts a form as the browser would: with the CSRF token of the page it came from."""
    html = client.get(page or path).text
    return client.post(path, data={**data, "csrf_token": csrf_of(html)}, follow_redirects=False)


@dataclass
class Person:
    username: str
    role: Role
    schools: list[str]
    password: str = ""
    totp_secret: str = ""
    recovery_codes: tuple[str, ...] = ()

    def code(self, when: datetime | None = None) -> str:
        return pyotp.TOTP(self.totp_secret).at(when or datetime.now(UTC))


def add_person(accounts: Accounts, username: str, role: Role, schools: list[str]) -> Person:
    return Person(username, role, schools, accounts.add(username, role, schools, by="test"))


def first_sign_in(client: TestClient, person: Person) -> str:
    """Signs in with the one-time password, chooses a password and, for a role that needs it,
    sets up the second factor. Returns the address signed-in users land on."""
    answer = post_form(
        client, "/sign-in", {"username": person.username, "password": person.password}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith("/sign-in/new-password")
    answer = post_form(
        client,
        "/sign-in/new-password",
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert answer.status_code == 303, answer.text
    person.password = NEW_PASSWORD
    if answer.headers["location"].startswith("/sign-in/code"):  # set up by an operator
        answer = post_form(client, "/sign-in/code", {"code": person.code()})
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]
    if answer.headers["location"].startswith("/sign-in/set-up-code"):
        page = client.get("/sign-in/set-up-code").text
        secret = re.search(r'id="secret">([A-Z2-7 ]+)<', page)
        assert secret, page
        person.totp_secret = secret.group(1).replace(" ", "")
        # A code from the step before: the one the next sign-in uses must be newer.
        earlier = datetime.now(UTC) - timedelta(seconds=30)
        answer = client.post(
            "/sign-in/set-up-code",
            data={"code": person.code(earlier), "csrf_token": csrf_of(page)},
            follow_redirects=False,
        )
        assert answer.status_code == 200, answer.text
        person.recovery_codes = tuple(re.findall(r"<li><code>([0-9a-f]+)</code></li>", answer.text))
        assert len(person.recovery_codes) == 10
        return re.search(r'href="([^"]+)"[^>]*>\s*I have kept', answer.text).group(1)  # type: ignore[union-attr]
    return answer.headers["location"]


def sign_in(client: TestClient, person: Person, code: str | None = None) -> str:
    """An ordinary sign-in; returns where the browser was sent."""
    answer = post_form(
        client, "/sign-in", {"username": person.username, "password": person.password}
    )
    assert answer.status_code == 303, answer.text
    if answer.headers["location"].startswith("/sign-in/code"):
        answer = post_form(client, "/sign-in/code", {"code": code or person.code()})
        assert answer.status_code == 303, answer.text
    return answer.headers["location"]
