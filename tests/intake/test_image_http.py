"""Step 3 over HTTP: custody, viewing, containment, site reports and deletion, as staff, the DSL
and the head send them; refusals that name the rule, and never an image taken in."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.intake.entrypoint import create_app
from services.intake.entrypoint.common import router
from shared.identity import Role
from tests.conftest import StoreChoice
from tests.shared.test_imagery import JPEG_HEADER, solid_png

GIRL = {"pseudonym": "YP-1", "year_group": 9, "sex": "female", "roles": ["pictured"]}
BOY = {"pseudonym": "YP-2", "year_group": 9, "sex": "male", "roles": ["recipient"]}
STAFF = ("staff.a", Role.STAFF)
DSL = ("dsl.oak", Role.DSL)
HEADTEACHER = ("head.oak", Role.HEAD)

CONFISCATED = {
    "device": "YP-2's phone",
    "pseudonym": "YP-2",
    "action": "confiscated",
    "held_by": "dsl.oak",
    "location": "DSL office safe",
    "seal_number": "SEAL-0001",
    "switched_off": True,
}
TRANSFERRED = {**CONFISCATED, "action": "transferred", "held_by": "head.oak", "location": "Safe"}
TO_POLICE = {
    **CONFISCATED,
    "action": "handed_to_police",
    "held_by": "PC Invented 1234",
    "location": "",
    "officer_reference": "INV-2026-555",
}
AGREEMENT = {"dsl": "dsl.oak", "pseudonym": "YP-1", "reason": "Invented: unavoidable"}
# A viewing that meets the whole protocol, by the DSL after the head's agreement.
VIEWING = {
    "pseudonym": "YP-1",
    "viewer_sex": "female",
    "senior_present": "head.oak",
    "on_school_premises": True,
    "reason": "Invented: to decide whether the police must be told at once",
    "what_was_seen": "Invented: a description in words",
    "what_was_done": "Invented: the device was sealed again",
}
DEADLINE = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
DELETION = {"pseudonym": "YP-1", "deadline": DEADLINE.isoformat(), "places": ["devices"]}
CONFIRMATION = {"pseudonym": "YP-1", "how": "Invented: told the DSL in person"}

Post = tuple[str, tuple[str, Role], dict[str, Any]]

# Each route: who sends it, a valid body, one detail changed, and what must come first.
ROUTES: dict[str, tuple[tuple[str, Role], dict[str, Any], dict[str, Any], list[Post]]] = {
    "custody": (STAFF, CONFISCATED, {"seal_number": "SEAL-0002"}, []),
    "not-viewed-attestations": (STAFF, {"context": "Invented"}, {"context": "Other"}, []),
    "viewing-agreements": (HEADTEACHER, AGREEMENT, {"reason": "Invented: other"}, []),
    "viewings": (
        DSL,
        VIEWING,
        {"what_was_done": "Invented: other"},
        [("viewing-agreements", HEADTEACHER, AGREEMENT)],
    ),
    "containment": (
        STAFF,
        {"action": "network_blocked", "done_by": "it.oak", "where": "the school network"},
        {"action": "image_isolated"},
        [],
    ),
    "site-reports": (
        STAFF,
        {"site": "Invented social site", "report_reference": "R-1"},
        {"report_reference": "R-2"},
        [],
    ),
    "deletion-requests": (DSL, DELETION, {"places": ["devices", "cloud_storage"]}, []),
    "deletion-confirmations": (
        DSL,
        CONFIRMATION,
        {"how": "Invented: by phone"},
        [("deletion-requests", DSL, DELETION)],
    ),
}


def bearer(client: TestClient, who: tuple[str, Role], school: str = "OAK") -> dict[str, str]:
    user, role = who
    return {"Authorization": f"Bearer {client.app.state.tokens.issue(user, role, [school])}"}  # type: ignore[attr-defined]


def new_case(client: TestClient, dsl: str | None = "dsl.oak") -> str:
    """A disclosure with two young people; ``dsl`` (unless None) has taken the case."""
    created = client.post(
        "/cases",
        json={
            "school": "OAK",
            "disclosure_route": "peer",
            "summary": "Invented",
            "young_people": [GIRL, BOY],
        },
        headers=bearer(client, STAFF),
    )
    assert created.status_code == 201
    case_id: str = created.json()["case_id"]
    if dsl is not None:
        take_case(client, case_id, dsl)
    return case_id


def take_case(client: TestClient, case_id: str, dsl: str, reason: str = "") -> None:
    taken = client.post(
        f"/cases/{case_id}/dsl", json={"dsl": dsl, "reason": reason}, headers=bearer(client, DSL)
    )
    assert taken.status_code == 201, taken.json()


def post(
    client: TestClient,
    case_id: str,
    route: str,
    who: tuple[str, Role],
    body: dict[str, Any],
    **headers: str,
) -> httpx.Response:
    """POST an entry as ``who``; ``If_Match="..."`` sends the header ``If-Match``."""
    headers = {name.replace("_", "-"): value for name, value in headers.items()}
    response: httpx.Response = client.post(
        f"/cases/{case_id}/{route}", json=body, headers={**bearer(client, who), **headers}
    )
    return response


def get_case(client: TestClient, case_id: str) -> httpx.Response:
    response: httpx.Response = client.get(f"/cases/{case_id}", headers=bearer(client, DSL))
    return response


@pytest.fixture
def client(store: StoreChoice) -> Iterator[TestClient]:
    with TestClient(create_app(store.settings())) as c:
        yield c


@pytest.mark.parametrize("route", ROUTES)
def test_each_entry_is_recorded_once_per_idempotency_key(client: TestClient, route: str) -> None:
    who, body, change, first = ROUTES[route]
    case_id = new_case(client)
    for before, by, before_body in first:
        assert post(client, case_id, before, by, before_body).status_code == 201
    created = post(client, case_id, route, who, body, Idempotency_Key="k1")
    assert created.status_code == 201, created.json()
    entry = created.json()
    assert entry["recorded_by"] == who[0]
    assert entry["recorded_by_role"] == who[1]
    assert "idempotency_key" not in entry
    sent = {k: datetime.fromisoformat(v) if k == "deadline" else v for k, v in body.items()}
    shown = {k: datetime.fromisoformat(v) if k == "deadline" else v for k, v in entry.items()}
    assert {k: shown[k] for k in sent} == sent
    version = get_case(client, case_id).headers["ETag"]

    again = post(client, case_id, route, who, body, Idempotency_Key="k1")
    assert again.status_code == 200
    assert again.json() == entry

    other = post(client, case_id, route, who, {**body, **change}, Idempotency_Key="k1")
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]
    assert get_case(client, case_id).headers["ETag"] == version


def test_a_key_reused_for_another_kind_of_entry_is_422(client: TestClient) -> None:
    case_id = new_case(client)
    post(client, case_id, "custody", STAFF, CONFISCATED, Idempotency_Key="k1")
    reused = post(
        client, case_id, "site-reports", STAFF, ROUTES["site-reports"][1], Idempotency_Key="k1"
    )
    assert reused.status_code == 422
    assert "Idempotency-Key" in reused.json()["detail"]


def test_a_device_goes_from_confiscation_to_the_police_and_no_further(client: TestClient) -> None:
    case_id = new_case(client)
    assert post(client, case_id, "custody", STAFF, CONFISCATED).status_code == 201
    assert post(client, case_id, "custody", DSL, TRANSFERRED).status_code == 201

    no_reference = post(client, case_id, "custody", DSL, {**TO_POLICE, "officer_reference": ""})
    assert no_reference.status_code == 422
    assert "officer_reference" in no_reference.json()["detail"]

    handed = post(client, case_id, "custody", DSL, TO_POLICE)
    assert handed.status_code == 201
    assert handed.json()["officer_reference"] == "INV-2026-555"

    further = post(client, case_id, "custody", DSL, TRANSFERRED)
    assert further.status_code == 422
    assert "with the police since" in further.json()["detail"]
    assert get_case(client, case_id).json()["agencies_involved"] == ["device_with_police"]


def test_a_device_must_be_confiscated_before_it_moves(client: TestClient) -> None:
    case_id = new_case(client)
    refused = post(client, case_id, "custody", DSL, TRANSFERRED)
    assert refused.status_code == 422
    assert "record it confiscated first" in refused.json()["detail"]


def test_a_new_seal_without_a_note_is_refused_on_the_note(client: TestClient) -> None:
    case_id = new_case(client)
    post(client, case_id, "custody", STAFF, CONFISCATED)
    resealed = {**TRANSFERRED, "seal_number": "SEAL-0002"}
    refused = post(client, case_id, "custody", DSL, resealed)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "note"]
    assert "SEAL-0001" in refused.json()["detail"][0]["msg"]
    noted = {**resealed, "note": "Invented: opened to check it was switched off"}
    assert post(client, case_id, "custody", DSL, noted).status_code == 201


@pytest.mark.parametrize("who", [STAFF, HEADTEACHER], ids=["staff", "head"])
def test_only_the_dsl_views_the_image(client: TestClient, who: tuple[str, Role]) -> None:
    case_id = new_case(client)
    post(client, case_id, "viewing-agreements", HEADTEACHER, {**AGREEMENT, "dsl": who[0]})
    version = get_case(client, case_id).headers["ETag"]
    refused = post(client, case_id, "viewings", who, VIEWING)
    assert refused.status_code == 422
    assert "only the DSL views the image" in refused.json()["detail"]
    assert get_case(client, case_id).headers["ETag"] == version


@pytest.mark.parametrize("who", [STAFF, DSL], ids=["staff", "dsl"])
def test_only_the_head_agrees_to_a_viewing(client: TestClient, who: tuple[str, Role]) -> None:
    case_id = new_case(client)
    assert post(client, case_id, "viewing-agreements", who, AGREEMENT).status_code == 403


@pytest.mark.parametrize("named", ["staff.a", "head.oak", "dep.oak"])
def test_the_head_agrees_only_to_the_dsl_who_has_the_case_viewing(
    client: TestClient, named: str
) -> None:
    case_id = new_case(client)
    version = get_case(client, case_id).headers["ETag"]
    refused = post(client, case_id, "viewing-agreements", HEADTEACHER, {**AGREEMENT, "dsl": named})
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        f"viewing is by the DSL: the agreement names {named}, who is not the DSL who has the "
        "case (dsl.oak); hand the case over first, with the reason, if they are to view it"
    )
    assert get_case(client, case_id).headers["ETag"] == version
    # Handed over, with the reason, the one who has the case may be agreed to.
    take_case(client, case_id, named, reason="Invented: dsl.oak is away")
    agreed = post(client, case_id, "viewing-agreements", HEADTEACHER, {**AGREEMENT, "dsl": named})
    assert agreed.status_code == 201


def test_no_viewing_is_agreed_before_a_dsl_takes_the_case(client: TestClient) -> None:
    case_id = new_case(client, dsl=None)
    refused = post(client, case_id, "viewing-agreements", HEADTEACHER, AGREEMENT)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith(
        "viewing is by the DSL: the agreement names dsl.oak, but no DSL has taken the case yet"
    )
    image = client.get(f"/cases/{case_id}/image", headers=bearer(client, DSL)).json()
    assert image["viewing_agreements"] == []


def test_the_dsl_views_the_image_after_the_heads_agreement(client: TestClient) -> None:
    case_id = new_case(client)
    unagreed = post(client, case_id, "viewings", DSL, VIEWING)
    assert unagreed.status_code == 422
    assert "the head has not agreed to dsl.oak viewing it" in unagreed.json()["detail"]

    assert post(client, case_id, "viewing-agreements", HEADTEACHER, AGREEMENT).status_code == 201
    viewed = post(client, case_id, "viewings", DSL, VIEWING)
    assert viewed.status_code == 201
    assert viewed.json()["agreed_by"] == "head.oak"
    assert viewed.json()["what_was_seen"] == VIEWING["what_was_seen"]

    attested = post(client, case_id, "not-viewed-attestations", DSL, {"context": "Invented"})
    assert attested.status_code == 422
    assert "dsl.oak is recorded as viewing the image" in attested.json()["detail"]


def test_a_viewing_breaking_several_rules_names_each(client: TestClient) -> None:
    case_id = new_case(client)
    post(client, case_id, "viewing-agreements", HEADTEACHER, AGREEMENT)
    broken = {**VIEWING, "viewer_sex": "male", "on_school_premises": False}
    refused = post(client, case_id, "viewings", DSL, broken)
    assert refused.status_code == 422
    assert "school premises only" in refused.json()["detail"]
    assert "not of the same sex" in refused.json()["detail"]
    explained = {**broken, "on_school_premises": True, "same_sex_not_possible_reason": "Invented"}
    assert post(client, case_id, "viewings", DSL, explained).status_code == 201


def test_deletion_is_not_asked_for_once_the_police_have_a_device(client: TestClient) -> None:
    case_id = new_case(client)
    assert post(client, case_id, "deletion-requests", DSL, DELETION).status_code == 201
    post(client, case_id, "custody", STAFF, CONFISCATED)
    post(client, case_id, "custody", DSL, TO_POLICE)

    refused = post(client, case_id, "deletion-requests", DSL, {**DELETION, "pseudonym": "YP-2"})
    assert refused.status_code == 422
    assert "another agency is involved" in refused.json()["detail"]
    assert get_case(client, case_id).json()["flagged_for_review"] == []

    confirmed = post(client, case_id, "deletion-confirmations", DSL, CONFIRMATION)
    assert confirmed.status_code == 201
    assert confirmed.json()["agencies_involved"] == ["device_with_police"]
    case = get_case(client, case_id).json()
    (flag,) = case["flagged_for_review"]
    assert flag.startswith("YP-1 confirmed deleting copies after another agency became involved")


def test_a_confirmation_answers_a_request(client: TestClient) -> None:
    case_id = new_case(client)
    refused = post(client, case_id, "deletion-confirmations", DSL, CONFIRMATION)
    assert refused.status_code == 422
    assert "was not asked to delete copies" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"deadline": "2030-03-31T01:30:00"}, "deadline"),  # the clocks go forward then
        ({"places": []}, "places"),
        ({"places": ["printouts"]}, "places"),
        ({"pseudonym": "Jane Doe"}, "pseudonym"),
    ],
)
def test_a_bad_deletion_request_is_422_naming_the_field(
    client: TestClient, changes: dict[str, Any], field: str
) -> None:
    case_id = new_case(client)
    refused = post(client, case_id, "deletion-requests", DSL, {**DELETION, **changes})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][:2] == ["body", field]


def test_a_deadline_without_a_zone_is_read_in_the_trusts(client: TestClient) -> None:
    case_id = new_case(client)
    sent = {**DELETION, "deadline": "2030-07-01T17:00:00"}
    recorded = post(client, case_id, "deletion-requests", DSL, sent)
    assert recorded.status_code == 201, recorded.text
    assert recorded.headers["Safeguard-Time-Zone-Assumed"] == "deadline read as Europe/London"
    assert recorded.json()["deadline"] == "2030-07-01T17:00:00+01:00"


def test_a_deadline_before_the_request_is_refused(client: TestClient) -> None:
    case_id = new_case(client)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    refused = post(client, case_id, "deletion-requests", DSL, {**DELETION, "deadline": past})
    assert refused.status_code == 422
    assert "deadline" in refused.json()["detail"]


def test_an_entry_sent_on_a_stale_etag_is_409(client: TestClient) -> None:
    case_id = new_case(client)
    etag = get_case(client, case_id).headers["ETag"]
    assert post(client, case_id, "custody", STAFF, CONFISCATED, If_Match=etag).status_code == 201
    stale = post(client, case_id, "containment", STAFF, ROUTES["containment"][1], If_Match=etag)
    assert stale.status_code == 409
    assert f"GET /cases/{case_id}" in stale.json()["detail"]
    fresh = get_case(client, case_id).headers["ETag"]
    assert fresh != etag
    again = post(client, case_id, "containment", STAFF, ROUTES["containment"][1], If_Match=fresh)
    assert again.status_code == 201


def test_an_entry_in_the_future_is_refused(client: TestClient) -> None:
    case_id = new_case(client)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    refused = post(
        client, case_id, "site-reports", STAFF, {**ROUTES["site-reports"][1], "occurred_at": future}
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "occurred_at"]


@pytest.mark.parametrize("route", ROUTES)
def test_a_case_of_another_school_is_404(client: TestClient, route: str) -> None:
    who, body, _, _ = ROUTES[route]
    case_id = new_case(client)
    version = get_case(client, case_id).headers["ETag"]
    elsewhere = client.post(
        f"/cases/{case_id}/{route}", json=body, headers=bearer(client, who, school="ELM")
    )
    assert elsewhere.status_code == 404
    assert elsewhere.json()["detail"] == "no such case"
    assert get_case(client, case_id).headers["ETag"] == version


def test_staff_record_on_their_own_cases_only(client: TestClient) -> None:
    case_id = new_case(client)
    other_staff = ("staff.b", Role.STAFF)
    assert post(client, case_id, "custody", other_staff, CONFISCATED).status_code == 404
    assert post(client, case_id, "deletion-requests", STAFF, DELETION).status_code == 403


# Never the image: each synthetic image, in each form, in each free-text field of step 3.
PNG_1X1 = solid_png(1, 1, (200, 30, 30))
IMAGES = {
    "PNG data URI": f"data:image/png;base64,{base64.b64encode(PNG_1X1).decode()}",
    "PNG base64": f"it was {base64.b64encode(PNG_1X1).decode()}",
    "JPEG header hex": JPEG_HEADER.hex(),
    "link to an image": "see https://example.org/x.jpg",
}
FREE_TEXT = [
    (route, field)
    for route, (_, body, _, _) in ROUTES.items()
    for field, value in body.items()
    if isinstance(value, str) and field not in ("pseudonym", "action", "deadline", "viewer_sex")
] + [
    ("custody", "officer_reference"),
    ("custody", "note"),
    ("viewings", "same_sex_not_possible_reason"),
]


def test_every_free_text_field_of_step_3_is_checked() -> None:
    """Each string field of each step-3 route that is not a pattern is in FREE_TEXT."""
    forms = {
        route.path.removeprefix("/cases/{case_id}/"): route.body_field
        for route in router.routes
        if isinstance(route, APIRoute)
    }
    strings = set()
    for name in ROUTES:
        body = forms[name]
        assert body is not None
        model = body.field_info.annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        strings |= {
            (name, field)
            for field, info in model.model_fields.items()
            if info.annotation is str
            and not any(getattr(m, "pattern", None) for m in info.metadata)
        }
    assert strings == set(FREE_TEXT)


@pytest.fixture(scope="module")
def one_case(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    """A client, a case and its ETag, shared by the many image checks: none records anything.
    The check comes before any store is touched, so SQLite alone is enough."""
    tmp_path: Path = tmp_path_factory.mktemp("image")
    with TestClient(create_app(StoreChoice("sqlite", tmp_path).settings())) as c:
        case_id = new_case(c)
        yield c, case_id, get_case(c, case_id).headers["ETag"]


@pytest.mark.parametrize("image", IMAGES.values(), ids=IMAGES.keys())
@pytest.mark.parametrize(("route", "field"), FREE_TEXT, ids=[f"{r}.{f}" for r, f in FREE_TEXT])
def test_an_image_in_any_free_text_field_is_refused_unrepeated(
    one_case: tuple[TestClient, str, str], route: str, field: str, image: str
) -> None:
    client, case_id, version = one_case
    who, body, _, _ = ROUTES[route]
    refused = post(client, case_id, route, who, {**body, field: image})
    assert refused.status_code == 422
    (error,) = refused.json()["detail"]
    assert error["loc"] == ["body", field]
    assert "never the image" in error["msg"]
    assert image[-12:] not in refused.text
    assert get_case(client, case_id).headers["ETag"] == version


def test_the_dsl_and_the_head_read_step_3_as_it_stands(client: TestClient) -> None:
    case_id = new_case(client)
    assert post(client, case_id, "custody", STAFF, CONFISCATED).status_code == 201
    assert post(client, case_id, "viewing-agreements", HEADTEACHER, AGREEMENT).status_code == 201
    assert post(client, case_id, "viewings", DSL, VIEWING).status_code == 201
    assert post(client, case_id, "custody", DSL, TO_POLICE).status_code == 201
    for who in (DSL, HEADTEACHER):
        read = client.get(f"/cases/{case_id}/image", headers=bearer(client, who))
        assert read.status_code == 200
        record = read.json()
        assert [c["action"] for c in record["custody"]] == ["confiscated", "handed_to_police"]
        assert record["custody"][0]["recorded_by"] == "staff.a"
        assert record["viewings"][0]["what_was_seen"] == VIEWING["what_was_seen"]
        assert record["agencies_involved"] == ["device_with_police"]
        assert "idempotency_key" not in record["custody"][0]
    # What was seen, in words, is for the DSL and the head: not for staff.
    staff_read = client.get(f"/cases/{case_id}/image", headers=bearer(client, STAFF))
    assert staff_read.status_code == 403
