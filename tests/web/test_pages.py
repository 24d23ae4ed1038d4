"""The web process's pages: GOV.UK Frontend served by the process itself, strict headers on
every answer, and "Exit this page" everywhere, ending the session before it leaves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.web import app as web_app
from services.web.app import EXIT_TO, SESSION_COOKIE, create_app
from shared.settings import Settings


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(var_dir=tmp_path / "var"))
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def loaded_by(html: str) -> list[str]:
    """Every URL the page makes the browser load: scripts, styles, icons, the manifest."""
    return re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)


def test_the_start_page_loads_only_the_process_s_own_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    urls = loaded_by(page.text)
    assert "/govuk/govuk-frontend.min.css" in urls
    assert "/static/init.mjs" in urls
    for url in urls:
        assert url.startswith("/"), url  # no CDN, no third party
        assert client.get(url).status_code == 200, url
    css = client.get("/govuk/govuk-frontend.min.css").text
    for font in set(re.findall(r"url\(([^)]+\.woff2)\)", css)):
        assert font.startswith("/assets/"), font
        assert client.get(font.strip("\"'")).status_code == 200, font


def test_every_answer_forbids_inline_script_but_the_template_s_own_nonce(
    client: TestClient,
) -> None:
    page = client.get("/")
    policy = page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "default-src 'self'" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page.text)
    assert inline == [f' nonce="{nonce.group(1)}"']
    again = client.get("/").headers["Content-Security-Policy"]
    assert again != policy  # a nonce per answer
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_exit_this_page_ends_the_session_then_leaves(client: TestClient) -> None:
    page = client.get("/")
    assert 'data-module="govuk-exit-this-page"' in page.text
    assert 'href="/exit"' in page.text
    client.cookies.set(SESSION_COOKIE, "invented-session")
    left = client.get("/exit", follow_redirects=False)
    assert (left.status_code, left.headers["Location"]) == (303, EXIT_TO)
    assert f"{SESSION_COOKIE}=" in left.headers["set-cookie"]
    assert "Max-Age=0" in left.headers["set-cookie"]
    assert '"cookies"' in left.headers["Clear-Site-Data"]
    # A disclosure kept offline, waiting to be sent, is not cleared with the session.
    assert "storage" not in left.headers["Clear-Site-Data"]


def test_the_policy_s_first_advice_is_on_the_start_page(client: TestClient) -> None:
    text = client.get("/").text
    assert "Do not view, copy, forward or delete the image" in text
    assert "Do not promise to keep it secret" in text


def test_without_gov_uk_frontend_installed_the_process_says_what_to_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(web_app, "GOVUK", tmp_path / "not-installed")
    with pytest.raises(web_app.AssetsMissingError, match="npm ci --prefix services/web"):
        web_app.create_app()


def test_healthz_says_the_process_is_up(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "service": "web"}
