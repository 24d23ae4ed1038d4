"""``safeguard demo``: an invented case, driven through the running services over HTTP.

Every name, school and detail here is invented. Each later step of the policy adds its part.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from rich.console import Console

from services.web.accounts import SECOND_FACTOR_ROLES, AccountError, Accounts
from shared.identity import Role, TokenService
from shared.settings import SERVICE_NAMES, Settings
from shared.trust import load_trust

DEMO_DISCLOSURE = {
    "disclosure_route": "young_person",
    "summary": (
        "Student YP-DEMO-1 (Year 9) says an image of them, sent to a boyfriend, "
        "has been forwarded to a group chat. Invented for the demo."
    ),
    "young_people": [
        {
            "pseudonym": "YP-DEMO-1",
            "year_group": 9,
            "sex": "female",
            "roles": ["pictured", "sender", "discloser"],
        },
        {
            "pseudonym": "YP-DEMO-2",
            "year_group": 10,
            "sex": "male",
            "roles": ["recipient", "forwarder"],
        },
    ],
}

DEMO_SECOND_DISCLOSURE = {
    "disclosure_route": "peer",
    "summary": (
        "A Year 8 student tells a teacher that YP-DEMO-3 was sent an image by someone in "
        "Year 10 and is upset. Invented for the demo."
    ),
    "young_people": [
        {"pseudonym": "YP-DEMO-3", "year_group": 8, "roles": ["recipient"]},
        {"pseudonym": "YP-DEMO-4", "year_group": 10, "roles": ["sender"]},
    ],
}
"""A second case, left open: the DSL takes it through the pages."""

DEMO_TRIAGE = {
    "disclosing_about": ["sending"],
    "image_nature": "potentially_illegal",
    "ai_generated_or_altered": "no",
    "dsl_consulted": "yes",
    "how_widely_shared": "small_group",
    "device_in_possession": "no",
    "device_ownership": "personal",
    "immediate_support_needed": "yes",
    "other_young_people_involved": "yes",
    "image_locations": [{"kind": "site_or_app", "name": "an invented group chat"}],
    "adult_involvement": "no",
    "coercion_blackmail_or_grooming": "no",
    "capacity_to_consent_concerns": "no",
    "violent_or_abusive_acts": "no",
    "acts_unusual_for_development": "no",
    "sexual_acts": "no",
    "pictured_under_13": "no",
    "immediate_risk_of_harm": "no",
    "financially_motivated_extortion": "no",
}
_UNKNOWN = ("unknown", ["unknown"])

# Step 5: a willing exchange within a relationship, forwarded beyond the intended recipient
# without her agreement: reckless misuse, so aggravated.
DEMO_RISK = {
    "factors": {
        "willing_or_coerced": "willing",
        "spread_beyond_intended_recipient": "yes",
        "public_platform": "no",
        "several_recipients": "yes",
        "age_gap_years": 1,
        "vulnerabilities": "no",
        "earlier_incidents": "no",
        "intent_to_harm": "no",
        "without_consent": "yes",
        "experimental_context": "romantic",
    },
    "conclusion": "medium",
    "reasons": "Invented: forwarded to a group chat without her agreement; no adult involved.",
}
# How the DSL did what each action asked (step 6).
DEMO_DONE = {
    "police": {"how": "phone", "whom": "Invented PC 1234", "their_reference": "INV-POL-1"},
    "parents_or_carers": {"how": "in_person", "whom": "YP-DEMO-1's parents (invented)"},
    "hosting_site": {
        "how": "online_form",
        "whom": "the app's safety team",
        "their_reference": "INV-R-1",
    },
    "senior_management": {"how": "in_person", "whom": "head.demo"},
    "dsl_record": {"how": "secure_system", "whom": "dsl.demo"},
}
DEMO_REVIEW = {
    "what_worked": "Invented: the DSL was told in person within minutes.",
    "what_did_not_work": "Invented: the group chat was reported a day late.",
    "procedure_changes": "Invented: report to the hosting site the same day.",
}

DEMO_SITE_REPORT = {"site": "an invented group chat app", "report_reference": "INVENTED-REPORT-1"}


def _deletion_request() -> dict[str, Any]:
    deadline = datetime.now(UTC) + timedelta(days=2)
    return {"pseudonym": "YP-DEMO-2", "deadline": deadline.isoformat(), "places": ["devices"]}


DEMO_USERS = (
    ("staff.demo", Role.STAFF, "school"),
    ("dsl.demo", Role.DSL, "school"),
    ("head.demo", Role.HEAD, "school"),
    ("trust.demo", Role.TRUST_LEAD, "*"),
    ("auditor.demo", Role.AUDITOR, "*"),
)
"""The demo's people: who signs in to the web pages, as what, for which schools."""


def demo_users(settings: Settings, school: str) -> list[tuple[str, str, str, str]]:
    """The demo's accounts, made (or, on a second run, reset) with a one-time password and,
    for every role but staff, an authenticator key set up: (username, role, password, key)."""
    accounts = Accounts(settings)
    made = []
    for username, role, schools in DEMO_USERS:
        try:
            password = accounts.add(
                username, role, [school if schools == "school" else schools], by="demo"
            )
        except AccountError:
            password = accounts.reset(username, by="demo")
        key = ""
        if role in SECOND_FACTOR_ROLES:
            key = accounts.give_second_factor(username, by="demo").secret
        made.append((username, str(role), password, key))
    return made


class DemoError(RuntimeError):
    """A step of the demo did not happen in time."""


def run_demo(settings: Settings, *, timeout: float = 30.0) -> int:
    console = Console()
    trust = load_trust(settings.trust_file)
    school = trust.schools[0]
    tokens = TokenService(settings)
    staff = tokens.issue("staff.demo", Role.STAFF, [school.code])
    dsl = tokens.issue("dsl.demo", Role.DSL, [school.code])
    base = {name: settings.url_of(name) for name in SERVICE_NAMES}
    try:
        with httpx.Client(timeout=5.0) as http:
            console.print(f"[bold]{trust.name}[/bold], {school.name} ({school.code})")
            for name in SERVICE_NAMES:
                _wait(partial(_ready, http, base[name]), timeout, f"{name} to be ready")
            console.print(
                "1. A member of staff records the disclosure and who is involved (intake)"
            )
            created = http.post(
                f"{base['intake']}/cases",
                json={"school": school.code, **DEMO_DISCLOSURE},
                headers={"Authorization": f"Bearer {staff}", "Idempotency-Key": str(uuid.uuid4())},
            )
            created.raise_for_status()
            case = created.json()
            case_id = case["case_id"]
            console.print(f"   {created.status_code}: case {case['reference']} ({case_id})")
            auth = {"Authorization": f"Bearer {dsl}"}

            console.print("2. The DSL records the step 1 triage (intake)")
            triaged = http.post(
                f"{base['intake']}/cases/{case_id}/triage",
                json=DEMO_TRIAGE,
                headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
            )
            triaged.raise_for_status()
            answered = {k: v for k, v in triaged.json()["answers"].items() if v not in _UNKNOWN}
            console.print(f"   {triaged.status_code}: triage 1, answered: {answered}")

            console.print("3. The DSL is told in person and takes the case (intake, step 4)")
            staff_auth = {"Authorization": f"Bearer {staff}"}
            told = http.post(
                f"{base['intake']}/cases/{case_id}/informed",
                json={"audience": "dsl", "person": "dsl.demo", "how": "in_person"},
                headers={**staff_auth, "Idempotency-Key": str(uuid.uuid4())},
            )
            told.raise_for_status()
            http.post(
                f"{base['intake']}/cases/{case_id}/dsl", json={"dsl": "dsl.demo"}, headers=auth
            ).raise_for_status()
            console.print(
                f"   DSL told {told.json()['minutes_after_disclosure']} min after the disclosure"
            )

            console.print(
                "4. Nobody views the image: it is reported to the site, and the forwarder asked "
                "to delete it (intake, step 3)"
            )
            for path, body, token in (
                ("not-viewed-attestations", {"context": "took the disclosure"}, staff),
                ("site-reports", DEMO_SITE_REPORT, dsl),
                ("deletion-requests", _deletion_request(), dsl),
            ):
                http.post(
                    f"{base['intake']}/cases/{case_id}/{path}",
                    json=body,
                    headers={"Authorization": f"Bearer {token}", "Idempotency-Key": path},
                ).raise_for_status()
                console.print(f"   {path.replace('-', ' ')}: recorded")

            console.print("5. Referral assesses the disclosure, then the triage (referral)")
            assessments = _wait(
                partial(
                    _with_assessments,
                    http,
                    f"{base['referral']}/cases/{case_id}/assessments",
                    auth,
                    2,
                ),
                timeout,
                "referral's assessments",
            )
            for a in assessments["assessments"]:
                console.print(
                    f"   assessment {a['number']}: {a['classification']} "
                    f"(policy {a['policy_version']}), still missing: "
                    f"{', '.join(a['missing_facts']) or 'nothing'}"
                )

            console.print(
                "6. The DSL's risk assessment, and what the policy now requires (referral)"
            )
            post = partial(_post, http, auth)
            post(f"{base['referral']}/cases/{case_id}/risk-assessments", DEMO_RISK)
            required = http.get(f"{base['referral']}/cases/{case_id}", headers=auth).json()
            console.print(f"   {required['classification']} ({required['subtype']})")
            console.print(f"   why: {required['computed_classification_reason']}")
            for action in required["actions"]:
                console.print(f"   {action['action']:<22} {action['level']:<12} {action['why']}")
            for action in required["actions"]:
                if action["action"] in DEMO_DONE:
                    done = {"action": action["action"], **DEMO_DONE[action["action"]]}
                    post(f"{base['referral']}/cases/{case_id}/actions/completed", done)
            console.print("   each done, with whom and the other side's reference")

            console.print("7. Review: the case reviewed and closed (review, steps 7-8)")
            _wait(
                partial(_nothing_open, http, f"{base['review']}/cases/{case_id}", auth),
                timeout,
                "review to see every action done",
            )
            post(f"{base['review']}/cases/{case_id}/reviews", DEMO_REVIEW)
            closed = post(f"{base['review']}/cases/{case_id}/closure", {})
            console.print(f"   {closed['summary']}")

            console.print("8. Review shows the chronology (review)")
            view = _wait(
                partial(_view_with_entries, http, f"{base['review']}/cases/{case_id}", auth, 11),
                timeout,
                "review's case view",
            )
            for e in view["entries"]:
                console.print(
                    f"   {e['occurred_at']}  {e['kind']:<24} by {e['actor']} ({e['actor_role']})"
                )
            verified = http.get(f"{base['review']}/cases/{case_id}/export.json", headers=auth)
            if verified.status_code == 200:
                chain = verified.json()["chain"]
                if chain["intact"]:
                    console.print(
                        f"   hash chain: intact, {chain['entries_verified']} entries verified, "
                        f"head {chain['head_hash'][:16]}…"
                    )
                else:
                    console.print(
                        f"   hash chain: [red]BROKEN at entry {chain['broken_at']}[/red]: "
                        f"{chain['problem']}"
                    )

            console.print("9. A second disclosure, left open for you to take through the pages")
            second = _post(
                http,
                {"Authorization": f"Bearer {staff}"},
                f"{base['intake']}/cases",
                {"school": school.code, **DEMO_SECOND_DISCLOSURE},
            )
            console.print(f"   case {second['reference']}: waiting for the DSL")
    except (DemoError, httpx.HTTPError) as e:
        console.print(f"[red]demo failed:[/red] {e}. Is `safeguard up` running?")
        return 1
    console.print(
        "[green]done[/green]: the case is recorded, assessed, acted on, reviewed and closed."
    )
    _print_users(console, settings, demo_users(settings, school.code))
    return 0


def _print_users(
    console: Console, settings: Settings, users: list[tuple[str, str, str, str]]
) -> None:
    web = f"http://{settings.host}:{settings.port_of('web')}/sign-in"
    console.print(f"\nSign in to the web pages at [bold]{web}[/bold] as one of:")
    for username, role, password, key in users:
        console.print(f"  {username:<13} {role:<11} one-time password {password}")
        if key:
            console.print(f"  {'':<13} {'':<11} authenticator key {key}")
    console.print(
        "Each one-time password is changed at the first sign-in. Add each authenticator key "
        "to an authenticator app (time based, 6 digits) and enter its code when asked. A second "
        "run of the demo resets these accounts."
    )


def _post(http: httpx.Client, auth: dict[str, str], url: str, body: dict[str, Any]) -> Any:
    """POST an entry with its own key; a refusal stops the demo with what was refused."""
    r = http.post(url, json=body, headers={**auth, "Idempotency-Key": str(uuid.uuid4())})
    if r.status_code >= 400:
        raise DemoError(f"{url} answered {r.status_code}: {r.text[:500]}")
    return r.json()


def _nothing_open(http: httpx.Client, url: str, headers: dict[str, str]) -> Any:
    view = _json_if_ok(http, url, headers)
    return view if view and view.get("actions") and not view.get("open_actions") else None


def _ready(http: httpx.Client, base: str) -> bool | None:
    try:
        return http.get(f"{base}/readyz").status_code == 200 or None
    except httpx.TransportError:
        return None


def _json_if_ok(http: httpx.Client, url: str, headers: dict[str, str]) -> Any:
    r = http.get(url, headers=headers)
    return r.json() if r.status_code == 200 else None


def _with_assessments(http: httpx.Client, url: str, headers: dict[str, str], count: int) -> Any:
    found = _json_if_ok(http, url, headers)
    return found if found and len(found["assessments"]) >= count else None


def _view_with_entries(http: httpx.Client, url: str, headers: dict[str, str], count: int) -> Any:
    view = _json_if_ok(http, url, headers)
    return view if view and len(view["entries"]) >= count else None


def _wait(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.1)
    raise DemoError(f"waited {timeout:.0f}s for {what}")
