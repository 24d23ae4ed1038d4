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
    "pictured_under_13": "no",
}
_UNKNOWN = ("unknown", ["unknown"])

DEMO_SITE_REPORT = {"site": "an invented group chat app", "report_reference": "INVENTED-REPORT-1"}


def _deletion_request() -> dict[str, Any]:
    deadline = datetime.now(UTC) + timedelta(days=2)
    return {"pseudonym": "YP-DEMO-2", "deadline": deadline.isoformat(), "places": ["devices"]}


class DemoError(RuntimeError):
    """A step of the demo did not happen in time."""


def run_demo(settings: Settings, *, timeout: float = 30.0) -> int:
    console = Console()
    trust = load_trust(settings.trust_file)
    school = trust.schools[0]
    tokens = TokenService(settings)
    staff = tokens.issue("staff.demo", Role.STAFF, [school.code])
    dsl = tokens.issue("dsl.demo", Role.DSL, [school.code])
    base = {name: f"http://{settings.host}:{settings.port_of(name)}" for name in SERVICE_NAMES}
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

            console.print("6. Review shows the chronology (review)")
            view = _wait(
                partial(_view_with_entries, http, f"{base['review']}/cases/{case_id}", auth, 11),
                timeout,
                "review's case view",
            )
            for e in view["entries"]:
                console.print(
                    f"   {e['occurred_at']}  {e['kind']:<20} by {e['actor']} ({e['actor_role']})"
                )
    except (DemoError, httpx.HTTPError) as e:
        console.print(f"[red]demo failed:[/red] {e}. Is `safeguard up` running?")
        return 1
    console.print(
        "[green]done[/green]: the case is stored, triaged, assessed and in the chronology."
    )
    return 0


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
