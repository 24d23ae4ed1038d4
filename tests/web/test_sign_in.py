"""Signing in to the web pages: a one-time password changed at once, a second factor for every
role but staff, the same answer for every failure, slower answers and a lock-out, sessions in
strict cookies that end when idle, and a CSRF token on every form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from services.web.app import ROUTERS, create_app
from services.web.pages import signin
from services.web.sessions import SESSION_COOKIE, Sessions
from shared.identity import Role
from shared.settings import Settings
from tests.web.people import add_person, csrf_of, first_sign_in, post_form, sign_in


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var", web_failure_delay_seconds=0, web_lockout_failures=3)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="https://testserver") as c:
        yield c


def accounts(client: TestClient):  # type: ignore[no-untyped-def]
    return client.app.state.accounts  # type: ignore[attr-defined]


def test_staff_change_the_one_time_password_and_land_on_the_disclosure_form(
    client: TestClient,
) -> None:
    teacher = add_person(accounts(client), "t.birch@oak.example", Role.STAFF, ["OAK"])
    assert first_sign_in(client, teacher) == "/disclosures/new"
    assert "t.birch@oak.example" in client.get("/").text  # signed in: named in the navigation
    # The one-time password no longer works; the new one does, without a second factor.
    client.cookies.clear()
    stale = post_form(client, "/sign-in", {"username": teacher.username, "password": "x" * 12})
    assert stale.status_code == 400
    assert sign_in(client, teacher) == "/disclosures/new"


def test_a_dsl_sets_up_a_code_then_needs_one_every_time(client: TestClient) -> None:
    dsl = add_person(accounts(client), "dsl@oak.example", Role.DSL, ["OAK"])
    assert first_sign_in(client, dsl) == "/cases"
    client.cookies.clear()
    answer = post_form(client, "/sign-in", {"username": dsl.username, "password": dsl.password})
    assert answer.headers["location"] == "/sign-in/code"
    # The password alone is not signed in.
    assert "dsl@oak.example" not in client.get("/").text
    wrong = post_form(client, "/sign-in/code", {"code": "000000"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.text
    code = dsl.code()
    assert post_form(client, "/sign-in/code", {"code": code}).headers["location"] == "/cases"
    # The same code again (seen over a shoulder) is refused.
    client.cookies.clear()
    post_form(client, "/sign-in", {"username": dsl.username, "password": dsl.password})
    assert post_form(client, "/sign-in/code", {"code": code}).status_code == 400


def test_a_recovery_code_signs_in_once(client: TestClient) -> None:
    head = add_person(accounts(client), "head@elm.example", Role.HEAD, ["ELM"])
    first_sign_in(client, head)
    recovery = head.recovery_codes[3]
    client.cookies.clear()
    assert sign_in(client, head, code=recovery) == "/cases"
    client.cookies.clear()
    post_form(client, "/sign-in", {"username": head.username, "password": head.password})
    assert post_form(client, "/sign-in/code", {"code": recovery}).status_code == 400


def page_without_tokens(html: str) -> str:
    import re

    return re.sub(r'(nonce|csrf_token" value)="[^"]+"|nonce-[^\']+', "", html)


def test_a_wrong_user_and_a_wrong_password_get_the_same_answer(client: TestClient) -> None:
    add_person(accounts(client), "known@oak.example", Role.STAFF, ["OAK"])
    wrong_user = post_form(client, "/sign-in", {"username": "nobody@oak", "password": "p" * 12})
    wrong_password = post_form(client, "/sign-in", {"username": "nobody@oak", "password": "q" * 12})
    known = post_form(client, "/sign-in", {"username": "known@oak.example", "password": "p" * 12})
    assert wrong_user.status_code == known.status_code == 400
    assert "The username or password is not right" in known.text
    # Same page but for the username typed back into its field.
    assert page_without_tokens(known.text).replace("known@oak.example", "nobody@oak") == (
        page_without_tokens(wrong_password.text)
    )


def test_repeated_failures_lock_the_account_and_slow_the_answer(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []

    async def wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(signin.asyncio, "sleep", wait)
    client.app.state.settings.web_failure_delay_seconds = 0.5  # type: ignore[attr-defined]
    staff = add_person(accounts(client), "s@ash.example", Role.STAFF, ["ASH"])
    first_sign_in(client, staff)
    client.cookies.clear()
    for _ in range(3):  # web_lockout_failures
        post_form(client, "/sign-in", {"username": staff.username, "password": "wrong" * 3})
    assert waits == [0.5, 1.0, 2.0]
    # Locked: the right password gets the same refusal, and the answer is slower again.
    locked = post_form(client, "/sign-in", {"username": staff.username, "password": staff.password})
    assert locked.status_code == 400
    assert "The username or password is not right" in locked.text
    assert waits[-1] == 4.0
    # An unknown username is slowed alike.
    for _ in range(5):
        post_form(client, "/sign-in", {"username": "ghost", "password": "wrong" * 3})
    assert waits[-5:] == [0.5, 1.0, 2.0, 4.0, 8.0]
    account = accounts(client).get(staff.username)
    assert account.locked_until is not None


def test_the_session_cookie_is_strict_and_renewed_at_sign_in(client: TestClient) -> None:
    answer = client.get("/sign-in")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for flag in ("Secure", "HttpOnly", "SameSite=strict"):
        assert flag.lower() in cookie.lower(), cookie
    before = client.cookies[SESSION_COOKIE]
    staff = add_person(accounts(client), "s2@oak.example", Role.STAFF, ["OAK"])
    first_sign_in(client, staff)
    assert client.cookies[SESSION_COOKIE] != before  # no session fixation
    # The id seen before signing in opens nothing.
    with TestClient(client.app, base_url="https://testserver") as other:
        other.cookies.set(SESSION_COOKIE, before)
        assert "s2@oak.example" not in other.get("/").text


def test_a_session_ends_when_idle() -> None:
    now = [0.0]
    sessions = Sessions(idle_seconds=60, clock=lambda: now[0])
    session = sessions.start()
    now[0] = 59
    assert sessions.find(session.id) is session
    now[0] = 59 + 61
    assert sessions.find(session.id) is None


def test_sign_out_ends_the_session(client: TestClient) -> None:
    staff = add_person(accounts(client), "s3@oak.example", Role.STAFF, ["OAK"])
    first_sign_in(client, staff)
    old = client.cookies[SESSION_COOKIE]
    answer = post_form(client, "/sign-out", {}, page="/")
    assert answer.status_code == 303
    with TestClient(client.app, base_url="https://testserver") as other:
        other.cookies.set(SESSION_COOKIE, old)
        assert "s3@oak.example" not in other.get("/").text


def test_every_form_is_refused_without_its_csrf_token(client: TestClient) -> None:
    posts = [
        r.path
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute) and "POST" in r.methods
    ]
    assert "/sign-in" in posts
    assert "/sign-out" in posts
    client.get("/")
    for path in posts:
        concrete = path.replace("{case_id}", "00000000-0000-0000-0000-000000000000")
        for token in ({}, {"csrf_token": "forged"}):
            answer = client.post(concrete, data=token, follow_redirects=False)
            assert answer.status_code == 403, (path, answer.status_code)
            assert "did not come from this service" in answer.text
    # With the token, the form is taken (here: refused for its empty fields, not forged).
    token = csrf_of(client.get("/sign-in").text)
    assert client.post("/sign-in", data={"csrf_token": token}).status_code == 400


def test_only_a_path_of_this_site_is_followed_after_sign_in(client: TestClient) -> None:
    staff = add_person(accounts(client), "s4@oak.example", Role.STAFF, ["OAK"])
    first_sign_in(client, staff)
    client.cookies.clear()
    for then, lands in (("//evil.example/x", "/disclosures/new"), ("/cases?x=1", "/cases?x=1")):
        page = client.get(f"/sign-in?then={then}").text
        answer = client.post(
            "/sign-in",
            data={
                "username": staff.username,
                "password": staff.password,
                "then": then,
                "csrf_token": csrf_of(page),
            },
            follow_redirects=False,
        )
        assert answer.headers["location"] == lands
        client.cookies.clear()
