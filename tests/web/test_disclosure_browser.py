"""The disclosure in a real browser (Debian's Chromium), against the running services: on a
360 px phone with no scrolling across and no serious accessibility fault; by keyboard alone; and
offline, where the form is kept on the phone and sent once when the connection or the server is
back, also after the session ended meanwhile.

The web app is served over http://127.0.0.1 by uvicorn: Chromium counts 127.0.0.1 as a secure
context, so the session's Secure cookie is kept and the service worker runs (the first test
checks both)."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

import pytest
import uvicorn
from playwright.sync_api import Page, expect
from starlette.types import ASGIApp

from services.web.sessions import SESSION_COOKIE
from shared.application import NAMESPACE
from shared.identity import Role
from tests.web.browser import assert_accessible, live_server, tab_to
from tests.web.people import Person
from tests.web.stack import Stack

pytestmark = [pytest.mark.browser, pytest.mark.nats, pytest.mark.e2e]
LONDON = ZoneInfo("Europe/London")  # the demo trust's
RETRY_MS = 25_000  # the script retries every 10 s; a sign of life well within this


@pytest.fixture(scope="module")
def people(stack: Stack) -> dict[str, Person]:
    """Made before the pages are served: making one runs the app's lifespan in a TestClient,
    which must not end while uvicorn serves the same app."""
    return {
        "oak": stack.person("teacher@oak.example", Role.STAFF, ["OAK"]),
        "elm": stack.person("teacher@elm.example", Role.STAFF, ["ELM"]),
    }


@pytest.fixture
def web(stack: Stack, people: dict[str, Person]) -> Iterator[str]:
    with live_server(stack.app) as url:
        yield url


@contextmanager
def serving(app: ASGIApp, port: int) -> Iterator[str]:
    """The app served by uvicorn on ``port``, so that it can be stopped and served again at the
    same address (a page loaded before finds it again, as after a restart)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        _wait(lambda: server.started, "uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        assert not thread.is_alive()


def _wait(check: Any, what: str, timeout: float = 10.0) -> None:
    done = threading.Event()
    deadline = datetime.now() + timedelta(seconds=timeout)
    while not check():
        if datetime.now() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        done.wait(0.05)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sign_in(page: Page, url: str, person: Person) -> None:
    page.goto(f"{url}/sign-in")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password", exact=True).fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/disclosures/new$"))


def fill(page: Page, *, pseudonym: str, summary: str, at: datetime | None = None) -> None:
    """Answers the form's questions by mouse and keys, as a teacher would."""
    page.get_by_label("A young person told me about themselves").check()
    page.get_by_label("What was said?").fill(summary)
    if at is not None:
        page.locator("#occurred-at").fill(str(at.day))
        page.locator("#occurred-month").fill(str(at.month))
        page.locator("#occurred-year").fill(str(at.year))
        page.locator("#occurred-time").fill(f"{at.hour:02d}")
        page.locator("#occurred-minute").fill(f"{at.minute:02d}")
    row = page.locator('#young-people [data-row="0"]')
    row.get_by_label("Pseudonym").fill(pseudonym)
    row.get_by_label("Told us about it").check()
    row.get_by_label("Is in the image").check()
    row.get_by_label("School year").fill("10")


def does_not_scroll_across(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def case_of(school: str, key: str) -> UUID:
    return uuid5(NAMESPACE, f"incident:{school}:{key}")


def intake_case(stack: Stack, school: str, key: str) -> Any:
    answer = stack.api("intake", "GET", f"/cases/{case_of(school, key)}", Role.DSL, [school])
    return answer.json() if answer.status_code == 200 else None


def cases_in_review(stack: Stack, school: str) -> list[str]:
    answer = stack.api("review", "GET", f"/cases?school={school}", Role.DSL, [school])
    return [c["reference"] for c in answer.json()["cases"]]


def test_on_a_phone_a_teacher_records_a_disclosure(
    phone: Page, web: str, stack: Stack, people: dict[str, Person]
) -> None:
    sign_in(phone, web, people["oak"])
    # 127.0.0.1 is a secure context: the Secure cookie is kept, the service worker runs.
    assert phone.evaluate("window.isSecureContext")
    [cookie] = [c for c in phone.context.cookies() if c["name"] == SESSION_COOKIE]
    assert cookie["secure"]
    scope = phone.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{web}/disclosures/"
    does_not_scroll_across(phone)
    assert_accessible(phone)
    assert phone.locator('input[type="file"]').count() == 0

    phone.get_by_role("button", name="Send to the DSL").click()
    summary = phone.locator("#disclosure-errors .govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Select how you came to know")
    expect(summary).to_contain_text("Enter what was said")
    expect(summary).to_contain_text("Enter a pseudonym for the young person who told you")
    does_not_scroll_across(phone)
    assert_accessible(phone)
    summary.get_by_role("link", name="Enter what was said").click()
    expect(phone.get_by_label("What was said?")).to_be_focused()

    fill(phone, pseudonym="YP-P1", summary="YP-P1 says a picture she sent is being shared.")
    phone.get_by_role("button", name="Add another young person").click()
    second = phone.locator('#young-people [data-row="1"]')
    expect(second.get_by_label("Pseudonym")).to_be_focused()
    second.get_by_label("Pseudonym").fill("YP-P2")
    second.get_by_label("Passed the image on to others").check()
    second.get_by_label("Age", exact=True).fill("15")
    does_not_scroll_across(phone)
    key = phone.locator('input[name="idempotency_key"]').input_value()
    phone.get_by_role("button", name="Send to the DSL").click()

    phone.wait_for_url(re.compile(r"/disclosures/[0-9a-f-]{36}$"))
    reference = phone.locator("#reference").inner_text()
    assert re.fullmatch(r"OAK-\d{4}-\d{4}", reference)
    does_not_scroll_across(phone)
    assert_accessible(phone)
    case = intake_case(stack, "OAK", key)
    assert case["reference"] == reference
    assert sorted(p["pseudonym"] for p in case["young_people"]) == ["YP-P1", "YP-P2"]
    # Sent: nothing of it is left in the browser.
    kept = phone.evaluate(KEPT)
    assert kept == []


KEPT = """() => new Promise((resolve, reject) => {
  const opening = indexedDB.open("safeguard-disclosures", 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore("kept", {keyPath: "key"});
  opening.onsuccess = () => {
    const all = opening.result.transaction("kept").objectStore("kept").getAll();
    all.onsuccess = () => { opening.result.close(); resolve(all.result); };
    all.onerror = () => reject(all.error);
  };
  opening.onerror = () => reject(opening.error);
})"""
"""What the page's script keeps in this browser (its IndexedDB store)."""


def test_a_disclosure_is_recorded_by_keyboard_alone(
    page: Page, web: str, stack: Stack, people: dict[str, Person]
) -> None:
    teacher = people["oak"]
    keys = page.keyboard
    page.goto(f"{web}/sign-in")
    tab_to(page, page.get_by_label("Username"))
    keys.type(teacher.username)
    keys.press("Tab")
    keys.type(teacher.password)
    keys.press("Enter")
    page.wait_for_url(re.compile(r"/disclosures/new$"))

    tab_to(page, page.get_by_label("A young person told me about themselves"), presses=40)
    keys.press("Space")
    keys.press("Tab")  # out of the radio group, to what was said
    expect(page.get_by_label("What was said?")).to_be_focused()
    keys.type("YP-K1 told me an image of them was posted online.")
    row = page.locator('#young-people [data-row="0"]')
    tab_to(page, row.get_by_label("Pseudonym"))
    keys.type("YP-K1")
    for role in ("Told us about it", "Is in the image"):
        tab_to(page, row.get_by_label(role))
        keys.press("Space")
    tab_to(page, row.get_by_label("School year"))
    keys.type("8")
    key = page.locator('input[name="idempotency_key"]').input_value()
    tab_to(page, page.get_by_role("button", name="Send to the DSL"))
    keys.press("Enter")

    page.wait_for_url(re.compile(r"/disclosures/[0-9a-f-]{36}$"))
    reference = page.locator("#reference").inner_text()
    case = intake_case(stack, "OAK", key)
    assert case["reference"] == reference
    assert case["summary"] == "YP-K1 told me an image of them was posted online."
    [person] = case["young_people"]
    assert (person["pseudonym"], sorted(person["roles"]), person["year_group"]) == (
        "YP-K1",
        ["discloser", "pictured"],
        8,
    )


def test_offline_the_disclosure_is_kept_and_sent_once_when_the_connection_is_back(
    phone: Page, stack: Stack, people: dict[str, Person]
) -> None:
    teacher = people["elm"]
    port = free_port()
    when = (datetime.now(LONDON) - timedelta(days=1)).replace(
        hour=8, minute=5, second=0, microsecond=0
    )
    with serving(stack.app, port) as web:
        sign_in(phone, web, teacher)
        phone.evaluate("navigator.serviceWorker.ready")

        # 1. The phone loses its connection: the form is kept, and nothing reaches intake.
        phone.context.set_offline(True)
        fill(phone, pseudonym="YP-O1", summary="YP-O1 says her photo was sent on.", at=when)
        first_key = phone.locator('input[name="idempotency_key"]').input_value()
        phone.get_by_role("button", name="Send to the DSL").click()
        waiting = phone.locator('[data-outbox="waiting"]')
        expect(waiting).to_be_visible()
        expect(waiting).to_contain_text("kept on this device and will be sent")
        expect(waiting).to_contain_text("tell the DSL now, in person")
        expect(phone.locator("#disclosure-form")).to_be_hidden()
        does_not_scroll_across(phone)
        assert_accessible(phone)
        [kept] = phone.evaluate(KEPT)
        assert kept["key"] == first_key
        assert "csrf_token" not in dict(kept["fields"])  # the disclosure, and only it
        assert dict(kept["fields"])["occurred_hour"] == "08"
        assert intake_case(stack, "ELM", first_key) is None

        # The connection is back: it is sent, once, with the time the teacher gave.
        phone.context.set_offline(False)
        sent = phone.locator('[data-outbox="sent"]')
        expect(sent).to_be_visible(timeout=RETRY_MS)
        reference = sent.locator("[data-reference]").inner_text()
        case = intake_case(stack, "ELM", first_key)
        assert case["reference"] == reference
        assert datetime.fromisoformat(case["occurred_at"]) == when
        assert phone.evaluate(KEPT) == []
        stack.wait_for(lambda: reference in cases_in_review(stack, "ELM"))
        assert cases_in_review(stack, "ELM") == [reference]

        # 2. The server goes away with a second disclosure on its way.
        phone.goto(f"{web}/disclosures/new")
    fill(phone, pseudonym="YP-O2", summary="YP-O2 was sent an image.", at=when)
    second_key = phone.locator('input[name="idempotency_key"]').input_value()
    phone.get_by_role("button", name="Send to the DSL").click()
    expect(phone.locator('[data-outbox="waiting"]')).to_be_visible()
    # Opened again while the server is away: the service worker's copy of the form, which says
    # a disclosure is waiting.
    phone.reload()
    expect(phone.locator("#disclosure-form")).to_have_attribute("data-offline", "1")
    expect(phone.locator('[data-outbox="waiting"]')).to_be_visible()
    assert intake_case(stack, "ELM", second_key) is None
    # Meanwhile the session ended (as when it goes idle): the page says so, and keeps it.
    session = {c["name"]: c["value"] for c in phone.context.cookies()}[SESSION_COOKIE]
    stack.app.state.sessions.end(session)

    with serving(stack.app, port):
        signed_out = phone.locator('[data-outbox="signed-out"]')
        expect(signed_out).to_be_visible(timeout=RETRY_MS)
        assert intake_case(stack, "ELM", second_key) is None
        assert len(phone.evaluate(KEPT)) == 1
        signed_out.get_by_role("link", name="Sign in").click()
        phone.get_by_label("Username").fill(teacher.username)
        phone.get_by_label("Password", exact=True).fill(teacher.password)
        phone.get_by_role("button", name="Sign in").click()
        phone.wait_for_url(re.compile(r"/disclosures/new$"))
        sent = phone.locator('[data-outbox="sent"]')
        expect(sent).to_be_visible(timeout=RETRY_MS)
        reference = sent.locator("[data-reference]").inner_text()
        assert intake_case(stack, "ELM", second_key)["reference"] == reference
        assert phone.evaluate(KEPT) == []
        stack.wait_for(lambda: len(cases_in_review(stack, "ELM")) == 2)
        assert sorted(cases_in_review(stack, "ELM")) == sorted(
            [intake_case(stack, "ELM", k)["reference"] for k in (first_key, second_key)]
        )


def test_a_kept_disclosure_refused_when_sent_comes_back_to_be_corrected(
    phone: Page, web: str, stack: Stack, people: dict[str, Person]
) -> None:
    sign_in(phone, web, people["oak"])
    phone.context.set_offline(True)
    fill(phone, pseudonym="Sam Jones", summary="Sam Jones told me about a photo.")
    key = phone.locator('input[name="idempotency_key"]').input_value()
    phone.get_by_role("button", name="Send to the DSL").click()
    expect(phone.locator('[data-outbox="waiting"]')).to_be_visible()

    phone.context.set_offline(False)
    expect(phone.locator('[data-outbox="refused"]')).to_be_visible(timeout=RETRY_MS)
    summary = phone.locator("#disclosure-errors .govuk-error-summary")
    expect(summary).to_contain_text("never a name")
    pseudonym = phone.locator("#young-people-0-pseudonym")
    expect(pseudonym).to_have_value("Sam Jones")
    expect(phone.get_by_label("What was said?")).to_have_value("Sam Jones told me about a photo.")
    assert_accessible(phone)
    assert intake_case(stack, "OAK", key) is None
    assert [k["state"] for k in phone.evaluate(KEPT)] == ["refused"]  # kept until corrected

    summary.get_by_role("link").click()
    expect(pseudonym).to_be_focused()
    pseudonym.fill("YP-R1")
    phone.get_by_label("What was said?").fill("YP-R1 told me about a photo.")
    phone.get_by_role("button", name="Send to the DSL").click()
    phone.wait_for_url(re.compile(r"/disclosures/[0-9a-f-]{36}$"))
    case = intake_case(stack, "OAK", key)
    assert case["reference"] == phone.locator("#reference").inner_text()
    assert [p["pseudonym"] for p in case["young_people"]] == ["YP-R1"]
    assert phone.evaluate(KEPT) == []
