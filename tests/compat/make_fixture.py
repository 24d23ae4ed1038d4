"""Write the fixture: what today's code stores and publishes, for later code to read.

    .venv/bin/python -m tests.compat.make_fixture OUTDIR

Starts a real deployment (the three services as processes, SQLite stores, a nats-server of its
own on a free port), records over HTTP at least one entry of every kind each service takes
(every POST route each app documents: it fails naming any route it did not call), in two
invented cases, one walked to closure, reopened and closed again; reads every case through
review's GET routes so the access log has entries; waits until every message has been applied
everywhere; stops the services cleanly; then writes into OUTDIR the three stores
(``var/<service>.sqlite``, vacuumed), every message of every stream
(``streams/<STREAM>.jsonl``) and ``manifest.json``.

Run it only on the code the fixture is to record (see README.md here): a fixture written by
later code records nothing about the earlier code.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import httpx
from typer.testing import CliRunner

from ops.cli import app as cli
from ops.demo import DEMO_RISK, DEMO_TRIAGE
from services.intake.application import Intake
from services.referral.application import Referrals
from services.review.application import Reviews
from shared.embedded_nats import EmbeddedNats
from shared.identity import Role
from shared.settings import SERVICE_NAMES
from shared.store import application_env
from tests.compat.fixture import (
    READ,
    SECRET,
    all_routes,
    case_answers,
    dump_streams,
    jsonable,
    stored_topics,
)
from tests.conftest import StoreChoice
from tests.faults.deployment import Deployment, fault_settings, running

ROOT = Path(__file__).resolve().parents[2]
CODE = ("services", "shared", "pyproject.toml")
"""What the fixture records the writing of."""

# Who records: invented staff of two of the demo trust's schools.
PEOPLE = {
    "staff": (Role.STAFF, "staff.fixture"),
    "dsl": (Role.DSL, "dsl.fixture"),
    "head": (Role.HEAD, "head.fixture"),
}


class Recorder:
    """The deployment's client: each POST sent until it is recorded (with its own
    Idempotency-Key), and each route called remembered as the app documents it."""

    def __init__(self, deployment: Deployment, school: str) -> None:
        self.d = deployment
        self.school = school
        self.auth = {
            who: deployment.bearer(role, [school], user) for who, (role, user) in PEOPLE.items()
        }
        self.called: set[tuple[str, str, str]] = set()
        self.keys = 0
        self.base = {name: deployment.url(name) for name in SERVICE_NAMES}

    def post(
        self, service: str, route: str, body: dict[str, Any], who: str, case_id: str = ""
    ) -> dict[str, Any]:
        self.keys += 1
        path = route.replace("{case_id}", case_id)
        key = f"fixture-{self.school}-{self.keys}"
        answer = self.d.post(service, path, body, key, self.auth[who])
        self.called.add((service, "POST", route))
        return answer

    def get(self, service: str, route: str, case_id: str = "", **params: str) -> httpx.Response:
        path = route.replace("{case_id}", case_id)
        r = self.d.http.get(f"{self.base[service]}{path}", params=params, headers=self.auth["dsl"])
        assert r.status_code == 200, f"GET {service}{path}: {r.status_code} {r.text[:300]}"
        self.called.add((service, "GET", route))
        return r

    def get_json(self, service: str, path: str) -> Any:
        r = self.d.http.get(f"{self.base[service]}{path}", headers=self.auth["dsl"])
        assert r.status_code == 200, f"GET {service}{path}: {r.status_code} {r.text[:300]}"
        return r.json()

    def wait(self, what: str, probe: Any, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = probe()
            if last:
                return last
            time.sleep(0.2)
        raise AssertionError(f"waited {timeout:.0f}s for {what}; last: {last!r}")

    def referral_case(self, case_id: str) -> dict[str, Any] | None:
        r = self.d.http.get(f"{self.base['referral']}/cases/{case_id}", headers=self.auth["dsl"])
        return r.json() if r.status_code == 200 else None

    def review_view(self, case_id: str) -> dict[str, Any] | None:
        r = self.d.http.get(f"{self.base['review']}/cases/{case_id}", headers=self.auth["dsl"])
        return r.json() if r.status_code == 200 else None


def deadline(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0).isoformat()


HOW_DONE = {
    "police": {"how": "phone", "whom": "Invented PC 4321", "their_reference": "INV-POL-A"},
    "parents_or_carers": {"how": "in_person", "whom": "YP-A's parents (invented)"},
    "hosting_site": {"how": "online_form", "whom": "Invented app's safety team"},
    "senior_management": {"how": "in_person", "whom": "head.fixture"},
    "dsl_record": {"how": "secure_system", "whom": "dsl.fixture"},
    "childrens_social_care": {"how": "phone", "whom": "Invented front door"},
    "ceop": {"how": "online_form", "whom": "Invented CEOP report"},
}


def case_a(rec: Recorder) -> str:
    """Steps 1 to 8, walked to closure, reopened, reviewed again and closed again."""
    case = rec.post(
        "intake",
        "/cases",
        {
            "school": rec.school,
            "disclosure_route": "young_person",
            "summary": "Invented: YP-A says an image of her was forwarded to a group chat.",
            "young_people": [
                {"pseudonym": "YP-A", "year_group": 9, "sex": "female", "roles": ["pictured"]},
                {"pseudonym": "YP-B", "year_group": 9, "sex": "male", "roles": ["recipient"]},
            ],
        },
        "staff",
    )
    cid = str(case["case_id"])
    # Step 1: the young people, one added and one corrected with its reason; the triage and a
    # correction of it.
    yp_c = {"pseudonym": "YP-C", "age": 14, "sex": "female", "roles": ["forwarder"]}
    rec.post("intake", "/cases/{case_id}/young-people", {"young_person": yp_c}, "staff", cid)
    corrected = {"pseudonym": "YP-B", "year_group": 10, "sex": "male", "roles": ["recipient"]}
    rec.post(
        "intake",
        "/cases/{case_id}/young-people",
        {"young_person": corrected, "reason": "Invented: the year group was wrong"},
        "dsl",
        cid,
    )
    rec.post("intake", "/cases/{case_id}/triage", DEMO_TRIAGE, "dsl", cid)
    rec.post(
        "intake",
        "/cases/{case_id}/triage",
        {**DEMO_TRIAGE, "how_widely_shared": "widely", "reason": "Invented: more copies found"},
        "dsl",
        cid,
    )
    # Step 4: the DSL and senior leadership told; the DSL takes the case.
    told = {"audience": "dsl", "person": "dsl.fixture", "how": "in_person"}
    rec.post("intake", "/cases/{case_id}/informed", told, "staff", cid)
    rec.post("intake", "/cases/{case_id}/dsl", {"dsl": "dsl.fixture"}, "dsl", cid)
    # Step 2: a search authorised and made; one declined.
    rec.post(
        "intake",
        "/cases/{case_id}/search-authorisations",
        {"searcher": "staff.fixture-searcher", "pseudonym": "YP-A"},
        "head",
        cid,
    )
    rec.post(
        "intake",
        "/cases/{case_id}/searches",
        {
            "pseudonym": "YP-A",
            "device": "YP-A's phone (invented)",
            "searcher": "staff.fixture-searcher",
            "searcher_sex": "female",
            "policy_followed": True,
            "safeguarding_team_member": "dsl.fixture",
            "outcome": "potentially_illegal_imagery_suspected",
        },
        "dsl",  # staff see only the cases they recorded: the DSL records the search
        cid,
    )
    rec.post(
        "intake",
        "/cases/{case_id}/searches/declined",
        {"pseudonym": "YP-B", "reason": "Invented: it would add to his distress"},
        "dsl",
        cid,
    )
    # Step 3: custody, not viewing, the head's agreement and a viewing, containment, the site,
    # deletion asked and confirmed.
    for route, body, who in (
        (
            "custody",
            {
                "device": "YP-A's phone (invented)",
                "pseudonym": "YP-A",
                "action": "confiscated",
                "held_by": "dsl.fixture",
                "location": "DSL office safe",
                "seal_number": "SEAL-FIXTURE-1",
                "switched_off": True,
            },
            "staff",
        ),
        ("not-viewed-attestations", {"context": "Invented: took the disclosure"}, "staff"),
        (
            "viewing-agreements",
            {"dsl": "dsl.fixture", "pseudonym": "YP-A", "reason": "Invented: unavoidable"},
            "head",
        ),
        (
            "viewings",
            {
                "pseudonym": "YP-A",
                "viewer_sex": "female",
                "senior_present": "head.fixture",
                "on_school_premises": True,
                "reason": "Invented: to decide whether the police must be told at once",
                "what_was_seen": "Invented: a description in words",
                "what_was_done": "Invented: the phone was sealed again",
            },
            "dsl",
        ),
        (
            "containment",
            {"action": "network_blocked", "done_by": "it.fixture", "where": "school network"},
            "staff",
        ),
        (
            "site-reports",
            {"site": "Invented group chat app", "report_reference": "INV-R-A"},
            "dsl",
        ),
        (
            "deletion-requests",
            {"pseudonym": "YP-C", "deadline": deadline(2), "places": ["devices"]},
            "dsl",
        ),
        (
            "deletion-confirmations",
            {"pseudonym": "YP-C", "how": "Invented: told the DSL in person"},
            "dsl",
        ),
    ):
        rec.post("intake", f"/cases/{{case_id}}/{route}", body, who, cid)

    # Steps 5-6: the risk assessment, a safeguard, each action done, the police's outcome.
    rec.wait("referral to know case A", lambda: rec.referral_case(cid))
    rec.post("referral", "/cases/{case_id}/risk-assessments", DEMO_RISK, "dsl", cid)
    rec.post(
        "referral",
        "/cases/{case_id}/safeguards",
        {"pseudonym": "YP-A", "kind": "counselling", "detail": "Invented: weekly sessions"},
        "dsl",
        cid,
    )
    referral = rec.referral_case(cid)
    assert referral is not None
    done = []
    for action in referral["actions"]:
        if action["status"] == "open" and action["level"] != "no_longer_required":
            body = {"action": action["action"], **HOW_DONE[action["action"]]}
            rec.post("referral", "/cases/{case_id}/actions/completed", body, "dsl", cid)
            done.append(action["action"])
    assert "police" in done, f"case A's police action was not asked for: {referral['actions']}"
    rec.post(
        "referral",
        "/cases/{case_id}/police-outcomes",
        {
            "code": "21",
            "outcome_date": datetime.now(UTC).date().isoformat(),
            "police_reference": "INV-POL-A",
            "note": "Invented: outcome 21 recorded",
        },
        "dsl",
        cid,
    )

    # Step 7 in review, each kind once; the file sent to another school and received.
    for route, body in (
        ("support", {"pseudonym": "YP-A", "kind": "pastoral", "given_by": "HoY", "detail": "x"}),
        ("staff-informed", {"staff": "Year 9 tutors", "what_and_why": "Invented: to watch"}),
        (
            "parents-conversations",
            {"pseudonym": "YP-A", "with_whom": "mother", "how": "phone", "what_was_said": "x"},
        ),
        (
            "education-sessions",
            {"audience": "Year 9", "topic": "consent", "delivered_by": "Invented PCSO"},
        ),
        (
            "removal-help",
            {"pseudonym": "YP-A", "service": "childline_iwf_report_remove", "status": "used"},
        ),
        ("site-removals", {"site": "Invented group chat app", "status": "removed"}),
        (
            "transfers",
            {
                "pseudonym": "YP-A",
                "to_school": "ELM",
                "to_whom": "dsl at Elmbridge (invented)",
                "method": "secure_records_system",
            },
        ),
        ("transfers/confirmations", {"confirmed_by": "Invented DSL at ELM"}),
    ):
        rec.wait("review to know case A", lambda: rec.review_view(cid))
        rec.post("review", f"/cases/{{case_id}}/{route}", body, "dsl", cid)

    # Step 8: reviewed and closed once review has every decision; reopened, closed again.
    rec.wait(
        "review to see case A's every action decided",
        lambda: (
            (v := rec.review_view(cid))
            and not v["open_actions"]
            and v["parents"]["status"] != "not_yet"
        ),
    )
    reviewed = {
        "what_worked": "Invented: the DSL was told at once",
        "what_did_not_work": "Invented: the site answered late",
        "procedure_changes": "Invented: none",
    }
    rec.post("review", "/cases/{case_id}/reviews", reviewed, "dsl", cid)
    rec.post("review", "/cases/{case_id}/closure", {"note": "Invented: all done"}, "dsl", cid)
    rec.post(
        "review",
        "/cases/{case_id}/reopening",
        {"reason": "Invented: the image was seen again"},
        "head",
        cid,
    )
    rec.post("review", "/cases/{case_id}/reviews", reviewed, "dsl", cid)
    rec.post("review", "/cases/{case_id}/closure", {}, "dsl", cid)
    return cid


def case_b(rec: Recorder) -> str:
    """Another school's case, left open: the classification overridden with its reason, an
    action declined with its reason, leadership told in writing."""
    case = rec.post(
        "intake",
        "/cases",
        {
            "school": rec.school,
            "disclosure_route": "peer",
            "summary": "Invented: a peer says YP-D sent an image to YP-E.",
            "young_people": [
                {"pseudonym": "YP-D", "year_group": 11, "sex": "male", "roles": ["sender"]},
                {"pseudonym": "YP-E", "year_group": 11, "sex": "female", "roles": ["recipient"]},
            ],
        },
        "staff",
    )
    cid = str(case["case_id"])
    rec.post(
        "intake",
        "/cases/{case_id}/triage",
        {**DEMO_TRIAGE, "how_widely_shared": "one_recipient", "image_nature": "inappropriate"},
        "dsl",
        cid,
    )
    told = {"audience": "senior_management", "person": "head.fixture", "how": "written"}
    rec.post("intake", "/cases/{case_id}/informed", told, "dsl", cid)
    rec.wait("referral to know case B", lambda: rec.referral_case(cid))
    risk = {
        **DEMO_RISK,
        "factors": {
            **cast("dict[str, object]", DEMO_RISK["factors"]),
            "spread_beyond_intended_recipient": "no",
            "several_recipients": "no",
            "without_consent": "no",
        },
        "conclusion": "low",
        "reasons": "Invented: a willing exchange between two Year 11 students.",
    }
    rec.post("referral", "/cases/{case_id}/risk-assessments", risk, "dsl", cid)
    rec.post(
        "referral",
        "/cases/{case_id}/classification-overrides",
        {
            "classification": "experimental",
            "subtype": "romantic",
            "reason": "Invented: the DSL knows the relationship is a long-standing one",
        },
        "dsl",
        cid,
    )
    referral = rec.referral_case(cid)
    assert referral is not None
    declinable = [a for a in referral["actions"] if a["status"] == "open" and a["declinable"]]
    assert declinable, f"case B has no action to decline: {referral['actions']}"
    rec.post(
        "referral",
        "/cases/{case_id}/actions/declined",
        {"action": declinable[0]["action"], "reason": "Invented: not needed, and why"},
        "dsl",
        cid,
    )
    rec.wait("review to know case B", lambda: rec.review_view(cid))
    rec.post(
        "review",
        "/cases/{case_id}/support",
        {"pseudonym": "YP-D", "kind": "mentor", "given_by": "Invented mentor", "detail": "x"},
        "dsl",
        cid,
    )
    return cid


def read_everything(rec: Recorder, case_ids: list[str]) -> None:
    """Each of review's GET routes, so that its access log has entries of each kind of read."""
    for cid in case_ids:
        for route in (
            "/cases/{case_id}",
            "/cases/{case_id}/chronology",
            "/cases/{case_id}/export.json",
            "/cases/{case_id}/export.pdf",
        ):
            rec.get("review", route, cid)
    rec.get("review", "/cases", school=rec.school)
    rec.get("review", "/overdue", school=rec.school)
    rec.get("review", "/stats")


def settled(d: Deployment) -> str:
    """Why the deployment has not settled yet ("" when it has): every service ready, nothing
    waiting for any task, and every consumer at its upstream relay's last position."""
    reports = {name: d.readyz(name) for name in SERVICE_NAMES}
    published = {
        name: (report.get("relay") or {}).get("published_position")
        for name, report in reports.items()
    }
    for name, report in reports.items():
        if report["problems"]:
            return f"{name}: {report['problems']}"
        waiting = {t: s["lag_events"] for t, s in report["tasks"].items() if s["lag_events"]}
        if waiting:
            return f"{name}: waiting {waiting}"
        for upstream, state in report["upstreams"].items():
            if state["position"] != published[upstream]:
                return f"{name} at {upstream}:{state['position']} of {published[upstream]}"
    return ""


def heads(d: Deployment) -> dict[str, int]:
    return {name: d.readyz(name)["store"]["events"] for name in SERVICE_NAMES}


def wait_settled(d: Deployment, timeout: float = 90.0) -> None:
    """Until settled twice in a row, a few relay polls apart, with no store having moved."""
    deadline = time.monotonic() + timeout
    why = "not checked"
    before: dict[str, int] | None = None
    while time.monotonic() < deadline:
        why = settled(d)
        now = heads(d) if not why else None
        if now is not None and now == before:
            return
        before = now
        time.sleep(1.0)
    raise AssertionError(f"the deployment did not settle within {timeout}s: {why}")


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def cli_line(var_dir: Path, *args: str) -> str:
    """``safeguard ARGS`` on the stores under ``var_dir``: its last line; it must exit 0."""
    result = CliRunner().invoke(cli, list(args), env={"SAFEGUARD_VAR_DIR": str(var_dir)})
    assert result.exit_code == 0, f"safeguard {' '.join(args)}: {result.output}"
    return result.output.strip().splitlines()[-1]


def make(outdir: Path) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="compat-fixture-"))
    nats = EmbeddedNats(work / "nats", log_file=work / "nats.log")
    nats.start()
    try:
        settings = fault_settings(StoreChoice("sqlite", work), nats.url, jwt_secret=SECRET)
        with running(settings, work) as d:
            d.wait_ready()
            oak, elm = Recorder(d, "OAK"), Recorder(d, "ELM")
            cases = {"A": (oak, case_a(oak)), "B": (elm, case_b(elm))}
            for rec, cid in cases.values():
                read_everything(rec, [cid])
            wait_settled(d)
            answers = {
                label: case_answers(rec.get_json, cid) for label, (rec, cid) in cases.items()
            }
            wait_settled(d)  # the reads just made, relayed too
            codes = d.stop_cleanly()
            assert codes == dict.fromkeys(SERVICE_NAMES, 0), f"not a clean stop: {codes}"
        streams = dump_streams(nats.url, outdir / "streams")
    finally:
        nats.stop()

    routes = all_routes(settings)
    called = oak.called | elm.called
    missed = [
        f"{service} {method} {path}"
        for service, listed in routes.items()
        for method, path in listed
        if method == "POST" and (service, method, path) not in called
    ]
    assert not missed, f"no entry recorded through: {missed}"

    var = settings.var_dir
    intake = Intake(application_env(settings, "intake"))
    referrals = Referrals(application_env(settings, "referral"))
    reviews = Reviews(application_env(settings, "review"))
    try:
        topics = {
            name: dict(sorted(stored_topics(app).items()))
            for name, app in (("intake", intake), ("referral", referrals), ("review", reviews))
        }
        manifest_cases = {}
        for label, (rec, cid) in cases.items():
            record = reviews.get_case(UUID(cid))
            assert reviews.verify(record.id) is None
            manifest_cases[label] = {
                "case_id": cid,
                "school": rec.school,
                "reference": record.reference,
                "chain_head": record.entries[-1].hash,
                "chain_entries": len(record.entries),
                "stored_entry_kinds": dict(sorted(Counter(e.kind for e in record.entries).items())),
                "reads": sum(e.kind == READ for e in record.entries),
                "answers": answers[label],
            }
    finally:
        for app in (intake, referrals, reviews):
            app.close()
    audit = {
        "verify": cli_line(var, "audit", "verify"),
        "replay": cli_line(var, "audit", "replay"),
    }

    (outdir / "var").mkdir(parents=True, exist_ok=True)
    for name in SERVICE_NAMES:
        target = outdir / "var" / f"{name}.sqlite"
        target.unlink(missing_ok=True)
        with contextlib.closing(sqlite3.connect(var / f"{name}.sqlite")) as db:
            db.execute("VACUUM INTO ?", (str(target),))
    shutil.rmtree(work, ignore_errors=True)

    dirty = git("status", "--porcelain", "--", *CODE)
    manifest = {
        "written_by": {
            "commit": git("rev-parse", "HEAD"),
            # The last commit that changed the code the fixture records (HEAD may add tests).
            "code_commit": git("log", "-1", "--format=%H", "--", *CODE),
            "code_changed_since_commit": bool(dirty),
            "command": "python -m tests.compat.make_fixture OUTDIR",
            "at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "python": sys.version.split()[0],
            "eventsourcing": version("eventsourcing"),
        },
        "cases": manifest_cases,
        "topics": topics,
        "streams": streams,
        "routes": {name: listed for name, listed in routes.items()},
        "routes_called": {
            name: sorted([m, p] for s, m, p in called if s == name) for name in SERVICE_NAMES
        },
        "audit": audit,
    }
    (outdir / "manifest.json").write_text(json.dumps(jsonable(manifest), indent=1) + "\n")
    return manifest


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = Path(sys.argv[1])
    outdir.mkdir(parents=True, exist_ok=True)
    manifest = make(outdir)
    size = sum(f.stat().st_size for f in outdir.rglob("*") if f.is_file())
    print(f"wrote {outdir} ({size / 1024:.0f} KB): {json.dumps(manifest['streams'])}")


if __name__ == "__main__":
    main()
