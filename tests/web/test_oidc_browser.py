"""Signing in through the trust's provider in a real browser (Debian's Chromium), the provider on
another site than the web pages (``localhost`` against ``127.0.0.1``), with a page of its own
that the person leaves by a button, as Entra ID's or Google's sign-in page is left. The browser
then comes back on a navigation the other site started, and holds the SameSite=Strict session
cookie back from it: these tests fail unless the callback's page that moves on from this site
brings the cookie (signin.py, come_back_with_the_cookie), keeping it as it was. (A provider that
redirects straight back, as tests/web/test_oidc.py's does, leaves this site's page the
navigation's initiator, and Chromium sends the cookie.) axe on the sign-in page with its button,
and on a refusal.

Plain sync tests: Playwright's sync API cannot run inside pytest-asyncio's event loop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page

from services.web.app import create_app
from shared.identity import Role
from shared.settings import Settings
from tests.web.browser import assert_accessible, live_server
from tests.web.oidc_provider import Fault, TestProvider
from tests.web.test_oidc import trust_file

pytestmark = pytest.mark.browser


@pytest.fixture
def provider() -> Iterator[TestProvider]:
    with TestProvider(sign_in_page=True).serving() as serving:
        # Another site than the web pages' 127.0.0.1 (a site is the host, whatever the port).
        serving.issuer = serving.issuer.replace("127.0.0.1", "localhost")
        yield serving


def serve_web(
    tmp_path: Path, provider: TestProvider
) -> tuple[FastAPI, AbstractContextManager[str]]:
    """The web pages signing in through ``provider``, and their server (not yet started)."""
    settings = Settings(
        var_dir=tmp_path / "var",
        trust_file=trust_file(tmp_path, provider.issuer),
        web_oidc_client_secret=provider.client_secret,
        web_failure_delay_seconds=0,
    )
    app = create_app(settings)
    return app, live_server(app)


def test_a_dsl_signs_in_with_the_provider_of_another_site(
    page: Page, provider: TestProvider, tmp_path: Path
) -> None:
    app, serving = serve_web(tmp_path, provider)
    with serving as web:
        app.state.accounts.add("dsl@oak.example", Role.DSL, ["OAK"], by="test")
        provider.sign_in_as("dsl@oak.example")
        page.goto(f"{web}/sign-in")
        button = page.get_by_role("button", name="Sign in with Microsoft")
        assert_accessible(page)

        button.click()
        page.get_by_role("link", name="Continue as dsl@oak.example").click()

        page.wait_for_url(f"{web}/cases")
        assert page.get_by_text("dsl@oak.example").is_visible()
        (asked,) = provider.authorize_requests
        assert asked["redirect_uri"] == f"{web}/sign-in/oidc/callback"


def test_a_refusal_is_said_in_the_error_summary(
    page: Page, provider: TestProvider, tmp_path: Path
) -> None:
    app, serving = serve_web(tmp_path, provider)
    with serving as web:
        app.state.accounts.add("dsl@oak.example", Role.DSL, ["OAK"], by="test")
        provider.sign_in_as("dsl@oak.example")
        provider.fault = Fault.NO_AMR
        page.goto(f"{web}/sign-in")

        page.get_by_role("button", name="Sign in with Microsoft").click()
        page.get_by_role("link", name="Continue as dsl@oak.example").click()

        summary = page.locator(".govuk-error-summary")
        summary.wait_for()
        assert "did not use one" in summary.inner_text()
        assert page.url.startswith(f"{web}/sign-in/oidc/callback")
        assert_accessible(page)
        # The summary's link takes the focus to the button, to try again.
        summary.get_by_role("link").click()
        assert page.evaluate("document.activeElement.id") == "oidc"
