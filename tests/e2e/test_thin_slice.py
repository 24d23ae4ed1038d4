"""The thin slice over HTTP and real NATS, with the services as separate processes."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
from fastapi.testclient import TestClient

from services.web.app import create_app
from shared.bus import connect
from shared.embedded_nats import EmbeddedNats
from shared.identity import Role
from tests.e2e.conftest import Services
from tests.helpers import eventually, stream_positions
from tests.web.people import Person, first_sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.nats]

DISCLOSURE = {"school": "OAK", "disclosure_route": "young_person", "summary": "Invented e2e"}


def case_view(services: Services, case_id: str) -> dict[str, object] | None:
    r = httpx.get(
        f"{services.url('review')}/cases/{case_id}", headers=services.bearer(Role.DSL, ["OAK"])
    )
    return r.json() if r.status_code == 200 else None


def complete(services: Services, case_id: str) -> dict[str, object] | None:
    view = case_view(services, case_id)
    return view if view and len(view["entries"]) == 2 else None  # type: ignore[arg-type]


async def test_a_disclosure_reaches_referral_and_review(services: Services) -> None:
    staff = services.bearer(Role.STAFF, ["OAK"], user="staff.e2e")
    created = httpx.post(f"{services.url('intake')}/cases", json=DISCLOSURE, headers=staff)
    assert created.status_code == 201
    case = created.json()
    assert case["reference"].startswith("OAK-")

    view = await eventually(lambda: complete(services, case["case_id"]), timeout=20)
    assert isinstance(view, dict)
    entries = view["entries"]
    assert [e["kind"] for e in entries] == ["disclosure_recorded", "assessment_recorded"]
    assert [e["actor"] for e in entries] == ["staff.e2e", "referral-service"]
    assert entries[0]["occurred_at"] <= entries[1]["occurred_at"]
    assert all(e["recorded_at"] for e in entries)
    assert view["reference"] == case["reference"]

    assessments = httpx.get(
        f"{services.url('referral')}/cases/{case['case_id']}/assessments",
        headers=services.bearer(Role.DSL, ["OAK"]),
    ).json()["assessments"]
    assert [a["classification"] for a in assessments] == ["undetermined"]
    for name in ("intake", "referral", "review"):
        assert httpx.get(f"{services.url(name)}/readyz").status_code == 200


async def test_intake_keeps_taking_disclosures_while_nats_is_down(
    services: Services, nats_server: EmbeddedNats
) -> None:
    staff = services.bearer(Role.STAFF, ["OAK"])
    nats_server.stop()
    await eventually(
        lambda: httpx.get(f"{services.url('intake')}/readyz").status_code == 503, timeout=15
    )
    case_ids = []
    for i in range(5):
        r = httpx.post(
            f"{services.url('intake')}/cases",
            json={**DISCLOSURE, "summary": f"Invented while NATS is down {i}"},
            headers=staff,
        )
        assert r.status_code == 201
        case_ids.append(r.json()["case_id"])

    nats_server.start()
    for case_id in case_ids:
        await eventually(lambda c=case_id: complete(services, c), timeout=30)

    readiness = httpx.get(f"{services.url('review')}/readyz").json()
    assert readiness["upstreams"]["intake"]["applied"] == 5
    assert readiness["upstreams"]["referral"]["applied"] == 5
    assert readiness["upstreams"]["intake"]["dead_letters"] == 0
    references = [
        httpx.get(f"{services.url('intake')}/cases/{c}", headers=staff).json()["reference"]
        for c in case_ids
    ]
    assert references == sorted(references)  # recorded in order, nothing lost or doubled
    referral_ready = httpx.get(f"{services.url('referral')}/readyz").json()
    assert referral_ready["upstreams"]["intake"]["applied"] == 5
    nc = await connect(nats_server.url, "test")
    for stream in ("INTAKE", "REFERRAL"):
        positions = await stream_positions(nc.jetstream(), stream)
        assert len(positions) == 5
        assert positions == sorted(set(positions)), stream
    await nc.close()


async def test_restarting_the_services_keeps_every_case(services: Services) -> None:
    staff = services.bearer(Role.STAFF, ["OAK"])
    case_id = httpx.post(f"{services.url('intake')}/cases", json=DISCLOSURE, headers=staff).json()[
        "case_id"
    ]
    await eventually(lambda: complete(services, case_id), timeout=20)
    services.stop()
    services.start()
    assert complete(services, case_id)
    assert httpx.get(f"{services.url('intake')}/cases/{case_id}", headers=staff).status_code == 200


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
async def test_the_demo_runs_against_the_services(services: Services) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ops.cli", "demo", "--timeout", "20"],
        env=services.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for kind in (
        "disclosure_recorded",
        "young_person_recorded",
        "triage_recorded",
        "assessment_recorded",
        "risk_assessed",
        "action_completed",
        "review_recorded",
        "case_closed",
    ):
        assert kind in result.stdout
    assert "assessment 2" in result.stdout
    assert "aggravated (youth_reckless_misuse)" in result.stdout
    # The trust's policy version, and the reason it states for the classification.
    assert "(policy uk-2024.3)" in result.stdout
    assert "why: without_consent is yes" in result.stdout
    assert "reviewed and closed" in result.stdout
    assert re.search(r"hash chain: intact, \d+ entries verified, head [0-9a-f]{16}", result.stdout)
    # A newcomer signs in to the web pages as the demo DSL, with what the demo printed, and
    # sees the demo's cases: the closed one, and the second, left open.
    password = re.search(r"dsl\.demo +dsl +one-time password (\S+)", result.stdout)
    key = re.search(r"dsl\.demo.*\n +authenticator key ([A-Z2-7]+)", result.stdout)
    assert password, result.stdout
    assert key, result.stdout
    with TestClient(create_app(services.settings), base_url="https://testserver") as web:
        dsl = Person("dsl.demo", Role.DSL, ["OAK"], password.group(1), key.group(1))
        assert first_sign_in(web, dsl) == "/cases"
        open_cases = web.get("/cases").text
        assert "OAK-" in open_cases
        every_case = web.get("/cases?status=all").text
        assert every_case.count('href="/cases/') == 2


async def test_a_consumer_killed_mid_stream_applies_everything_once_after_restart(
    services: Services,
) -> None:
    staff = services.bearer(Role.STAFF, ["OAK"])
    dsl = services.bearer(Role.DSL, ["OAK"])
    case_ids = []
    for i in range(30):
        if i == 10:
            services.kill("referral")
        if i == 20:
            services.kill("review")
        r = httpx.post(
            f"{services.url('intake')}/cases",
            json={**DISCLOSURE, "summary": f"Invented {i}"},
            headers=staff,
        )
        assert r.status_code == 201
        case_ids.append(r.json()["case_id"])
    services.start("referral", "review")
    for case_id in case_ids:
        view = await eventually(lambda c=case_id: complete(services, c), timeout=30)
        assert [e["kind"] for e in view["entries"]] == [  # type: ignore[index]
            "disclosure_recorded",
            "assessment_recorded",
        ]
        assessments = httpx.get(
            f"{services.url('referral')}/cases/{case_id}/assessments", headers=dsl
        ).json()["assessments"]
        assert len(assessments) == 1


async def test_a_police_referral_reaches_intake_and_stops_deletion_requests(
    services: Services,
) -> None:
    """Referral's decision travels back over NATS: intake then refuses to ask a young person
    to delete copies that may be evidence."""
    staff = services.bearer(Role.STAFF, ["OAK"], user="staff.e2e")
    dsl = services.bearer(Role.DSL, ["OAK"], user="dsl.e2e")
    disclosure = {
        **DISCLOSURE,
        "young_people": [
            {"pseudonym": "YP-1", "year_group": 9, "sex": "female", "roles": ["pictured"]}
        ],
    }
    case_id = httpx.post(f"{services.url('intake')}/cases", json=disclosure, headers=staff).json()[
        "case_id"
    ]
    httpx.post(
        f"{services.url('intake')}/cases/{case_id}/triage",
        json={"adult_involvement": "suspected"},
        headers=dsl,
    ).raise_for_status()

    def police_required() -> bool:
        r = httpx.get(f"{services.url('referral')}/cases/{case_id}", headers=dsl)
        return r.status_code == 200 and any(
            a["action"] == "police" and a["level"] == "required" for a in r.json()["actions"]
        )

    await eventually(police_required, timeout=20)
    referred = httpx.post(
        f"{services.url('referral')}/cases/{case_id}/actions/completed",
        json={"action": "police", "how": "phone", "whom": "Invented PC", "their_reference": "I-1"},
        headers=dsl,
    )
    assert referred.status_code == 201

    def agencies() -> list[str] | None:
        r = httpx.get(f"{services.url('intake')}/cases/{case_id}", headers=dsl)
        return r.json()["agencies_involved"] or None

    assert await eventually(agencies, timeout=20) == ["referred_to_police"]
    asked = httpx.post(
        f"{services.url('intake')}/cases/{case_id}/deletion-requests",
        json={"pseudonym": "YP-1", "deadline": "2099-01-01T00:00:00Z", "places": ["devices"]},
        headers=dsl,
    )
    assert asked.status_code == 422
    assert "referred the case to the police" in asked.json()["detail"]
