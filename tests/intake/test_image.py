"""Step 3: the device's custody chain, viewing only under the protocol, containment, reports to
the hosting site, and deletion only while no other agency is involved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from services.intake.application import CaseChangedError, IdempotencyKeyReusedError, Intake
from services.intake.domain import (
    AgencyInvolvedError,
    CaseEntry,
    CustodyError,
    DeletionConfirmed,
    DeletionRequested,
    DeviceCustodyRecorded,
    DslAssigned,
    ImageContained,
    ImageNotViewedAttested,
    ImageReportedToSite,
    ImageViewed,
    ImageViewingAgreed,
    Incident,
    IntakeError,
    NeedsReasonError,
    Recording,
    ViewingRefusedError,
)
from shared.entries import EntryError
from tests.conftest import StoreChoice

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
GIRL = {"pseudonym": "YP-1", "year_group": 9, "sex": "female", "roles": ["pictured"]}
BOY = {"pseudonym": "YP-2", "year_group": 9, "sex": "male", "roles": ["recipient"]}
UNRECORDED = {"pseudonym": "YP-9", "age": 14, "roles": ["pictured"]}

CONFISCATED = {
    "device": "YP-2's phone",
    "pseudonym": "YP-2",
    "action": "confiscated",
    "held_by": "dsl.oak",
    "location": "DSL office safe",
    "seal_number": "SEAL-0001",
    "switched_off": True,
    "officer_reference": "",
    "note": "",
}
TRANSFERRED = {
    **CONFISCATED,
    "action": "transferred",
    "held_by": "head.oak",
    "location": "Head's safe",
}
TO_POLICE = {
    **CONFISCATED,
    "action": "handed_to_police",
    "held_by": "PC Invented 1234",
    "location": "",
    "officer_reference": "INV-2026-555",
}

# A viewing that meets the whole protocol (the DSL, after the head agreed, another senior
# member of staff present, on school premises, of the same sex as the young person).
VIEWING = {
    "pseudonym": "YP-1",
    "viewer_sex": "female",
    "senior_present": "head.oak",
    "on_school_premises": True,
    "same_sex_not_possible_reason": "",
    "reason": "Invented: to decide whether the police must be told at once",
    "what_was_seen": "Invented: a description in words",
    "what_was_done": "Invented: the device was sealed again",
}


class CaseApp(Intake):
    """Intake with the one case these tests work on."""

    case_id: UUID


def new_case(
    env: dict[str, str] | None = None, route: str = "young_person", dsl: str | None = "dsl.oak"
) -> CaseApp:
    """A case with three young people; ``dsl`` (unless None) has taken it (step 4)."""
    intake = CaseApp(env, clock=lambda: NOW)
    incident, _ = intake.report_incident(
        school="OAK",
        disclosure_route=route,
        summary="Invented",
        recorded_by="staff.a",
        recorded_by_role="staff",
        young_people=[GIRL, BOY, UNRECORDED],
    )
    intake.case_id = incident.id
    if dsl is not None:
        take_case(intake, dsl)
    return intake


def take_case(app: CaseApp, dsl: str, reason: str = "") -> None:
    """``dsl`` takes the case; a handover says why."""
    record(app, DslAssigned, dsl=dsl, reason=reason)


@pytest.fixture
def app() -> CaseApp:
    return new_case()


def record(
    app: CaseApp,
    kind: type[CaseEntry],
    by: str = "dsl.oak",
    role: str = "dsl",
    key: str | None = None,
    **details: Any,
) -> tuple[CaseEntry, bool]:
    return app.record_entry(
        app.case_id,
        kind,
        details=details,
        recorded_by=by,
        recorded_by_role=role,
        idempotency_key=key,
    )


def case(app: CaseApp) -> Incident:
    return app.get_incident(app.case_id)


# The custody chain


def test_a_device_goes_from_confiscation_to_the_police_under_its_seal(app: CaseApp) -> None:
    record(app, DeviceCustodyRecorded, by="staff.a", role="staff", **CONFISCATED)
    record(app, DeviceCustodyRecorded, **TRANSFERRED)
    entry, _ = record(app, DeviceCustodyRecorded, **TO_POLICE)
    chain = case(app).custody
    assert [c.action for c in chain] == ["confiscated", "transferred", "handed_to_police"]
    assert [c.held_by for c in chain] == ["dsl.oak", "head.oak", "PC Invented 1234"]
    assert entry.officer_reference == "INV-2026-555"  # type: ignore[attr-defined]
    assert chain[0].recorded_by == "staff.a"
    assert case(app).agencies_involved() == ["device_with_police"]


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"switched_off": False}, "switched off"),
        ({"location": " "}, "location"),
        ({"seal_number": ""}, "seal"),
        ({"held_by": ""}, "held_by"),
        ({"action": "lost"}, "action must be one of"),
    ],
)
def test_a_confiscation_is_refused_unless_switched_off_sealed_and_secured(
    app: CaseApp, changes: dict[str, Any], rule: str
) -> None:
    # An action outside the vocabulary is refused before the custody rules (EntryError).
    with pytest.raises(EntryError if "action" in changes else CustodyError, match=rule):
        record(app, DeviceCustodyRecorded, **{**CONFISCATED, **changes})
    assert case(app).custody == []


def test_the_chain_must_start_with_the_confiscation(app: CaseApp) -> None:
    for entry in (TRANSFERRED, TO_POLICE):
        with pytest.raises(CustodyError, match="confiscated first"):
            record(app, DeviceCustodyRecorded, **entry)


def test_a_device_in_custody_is_not_confiscated_twice(app: CaseApp) -> None:
    record(app, DeviceCustodyRecorded, **CONFISCATED)
    with pytest.raises(CustodyError, match=r"in custody already, held by dsl\.oak"):
        record(app, DeviceCustodyRecorded, **CONFISCATED)
    # Another device has its own chain.
    record(app, DeviceCustodyRecorded, **{**CONFISCATED, "device": "YP-1's tablet"})
    assert len(case(app).custody) == 2


def test_a_new_seal_says_why_the_old_one_was_opened(app: CaseApp) -> None:
    record(app, DeviceCustodyRecorded, **CONFISCATED)
    with pytest.raises(NeedsReasonError, match="the seal was SEAL-0001, now SEAL-0002"):
        record(app, DeviceCustodyRecorded, **{**TRANSFERRED, "seal_number": "SEAL-0002"})
    record(
        app,
        DeviceCustodyRecorded,
        **{**TRANSFERRED, "seal_number": "SEAL-0002", "note": "Invented: opened for the search"},
    )
    assert case(app).custody_of("YP-2's phone").seal_number == "SEAL-0002"  # type: ignore[union-attr]


def test_the_police_take_a_device_only_with_the_officers_reference(app: CaseApp) -> None:
    record(app, DeviceCustodyRecorded, **CONFISCATED)
    with pytest.raises(CustodyError, match="officer_reference"):
        record(app, DeviceCustodyRecorded, **{**TO_POLICE, "officer_reference": " "})


def test_nothing_follows_the_hand_over_to_the_police(app: CaseApp) -> None:
    record(app, DeviceCustodyRecorded, **CONFISCATED)
    record(app, DeviceCustodyRecorded, **TO_POLICE)
    for entry in (CONFISCATED, TRANSFERRED, TO_POLICE):
        with pytest.raises(CustodyError, match="with the police since"):
            record(app, DeviceCustodyRecorded, **entry)


def test_a_device_belongs_to_a_young_person_on_the_case(app: CaseApp) -> None:
    with pytest.raises(IntakeError, match="no young person YP-7"):
        record(app, DeviceCustodyRecorded, **{**CONFISCATED, "pseudonym": "YP-7"})
    # A device of no young person (a school computer) has none.
    record(
        app, DeviceCustodyRecorded, **{**CONFISCATED, "device": "ICT suite PC 4", "pseudonym": ""}
    )


# Not viewing, and viewing under the protocol


def test_staff_attest_that_they_did_not_view_the_image(app: CaseApp) -> None:
    entry, _ = record(
        app,
        ImageNotViewedAttested,
        by="staff.a",
        role="staff",
        context="Invented: I took the phone",
    )
    assert entry.recorded_by == "staff.a"
    assert case(app).not_viewed_attestations == [entry]


def agree(app: CaseApp, dsl: str = "dsl.oak", pseudonym: str = "YP-1") -> None:
    record(
        app,
        ImageViewingAgreed,
        by="head.oak",
        role="head",
        dsl=dsl,
        pseudonym=pseudonym,
        reason="Invented: unavoidable to decide on a referral",
    )


def test_the_dsl_views_under_the_protocol_and_the_record_says_who_why_what(app: CaseApp) -> None:
    agree(app)
    entry, _ = record(app, ImageViewed, **VIEWING)
    viewing = case(app).viewings[0]
    assert viewing == entry
    assert (viewing.recorded_by, viewing.agreed_by, viewing.senior_present) == (
        "dsl.oak",
        "head.oak",
        "head.oak",
    )
    assert viewing.what_was_seen == VIEWING["what_was_seen"]


@pytest.mark.parametrize(("role", "user"), [("staff", "staff.a"), ("head", "head.oak")])
def test_no_one_but_the_dsl_views_the_image(app: CaseApp, role: str, user: str) -> None:
    # Even were the case handed to them and the head agreed, their role refuses the viewing.
    take_case(app, user, reason="Invented: a mistaken handover")
    agree(app, dsl=user)
    with pytest.raises(ViewingRefusedError, match="only the DSL") as refused:
        record(
            app,
            ImageViewed,
            by=user,
            role=role,
            **{**VIEWING, "senior_present": "dep.oak"},
        )
    assert refused.value.args[0].count(";") == 0
    assert case(app).viewings == []


EACH_VIEWING_RULE_BROKEN_ALONE = {
    "another senior member of staff absent": ({"senior_present": ""}, "another senior member"),
    "the viewer counted as the other senior": (
        {"senior_present": "dsl.oak"},
        "another senior member",
    ),
    "off school premises": ({"on_school_premises": False}, "school premises only"),
    "other sex, no reason": ({"viewer_sex": "male"}, "not of the same sex"),
    "sex not recorded, no reason": ({"pseudonym": "YP-9"}, "not of the same sex"),
    "no reason": ({"reason": " "}, "reason is required"),
    "nothing said of what was seen": ({"what_was_seen": ""}, "what_was_seen is required"),
    "nothing said of what was done": ({"what_was_done": ""}, "what_was_done is required"),
}


@pytest.mark.parametrize(
    ("changes", "rule"),
    EACH_VIEWING_RULE_BROKEN_ALONE.values(),
    ids=EACH_VIEWING_RULE_BROKEN_ALONE.keys(),
)
def test_a_viewing_breaking_one_rule_is_refused_naming_it(
    app: CaseApp, changes: dict[str, Any], rule: str
) -> None:
    agree(app, pseudonym=changes.get("pseudonym", "YP-1"))
    with pytest.raises(ViewingRefusedError, match=rule) as refused:
        record(app, ImageViewed, **{**VIEWING, **changes})
    assert refused.value.args[0].count(";") == 0  # that rule, and only that one
    assert case(app).viewings == []


def test_a_viewer_of_the_other_sex_says_why_no_one_else_could(app: CaseApp) -> None:
    agree(app)
    record(
        app,
        ImageViewed,
        **{**VIEWING, "viewer_sex": "male", "same_sex_not_possible_reason": "Invented: no one"},
    )
    assert case(app).viewings[0].viewer_sex == "male"


@pytest.mark.parametrize(
    "agreement",
    [None, ("dep.oak", "YP-1"), ("dsl.oak", "YP-2")],
    ids=["no agreement", "agreed for another DSL", "agreed for another young person"],
)
def test_a_viewing_needs_the_heads_agreement_for_that_dsl_and_young_person(
    app: CaseApp, agreement: tuple[str, str] | None
) -> None:
    if agreement:
        dsl, pseudonym = agreement
        take_case(app, dsl, reason="Invented: dsl.oak away")
        agree(app, dsl, pseudonym)
        take_case(app, "dsl.oak", reason="Invented: dsl.oak back")
    with pytest.raises(ViewingRefusedError, match=r"the head has not agreed to dsl\.oak"):
        record(app, ImageViewed, **VIEWING)


NOT_THE_CASES_DSL = {
    "a member of staff": "staff.a",
    "the head": "head.oak",
    "a deputy DSL the case was not handed to": "dep.oak",
    "the DSL's name with other capitals": "DSL.oak",
}


@pytest.mark.parametrize("named", NOT_THE_CASES_DSL.values(), ids=NOT_THE_CASES_DSL.keys())
def test_the_head_agrees_to_a_viewing_only_by_the_dsl_who_has_the_case(
    app: CaseApp, named: str
) -> None:
    with pytest.raises(ViewingRefusedError) as refused:
        agree(app, dsl=named)
    assert refused.value.args[0] == (
        f"viewing is by the DSL: the agreement names {named}, who is not the DSL who has the "
        "case (dsl.oak); hand the case over first, with the reason, if they are to view it"
    )
    assert case(app).viewing_agreements == []


def test_no_viewing_is_agreed_before_a_dsl_has_taken_the_case() -> None:
    app = new_case(dsl=None)
    with pytest.raises(
        ViewingRefusedError,
        match=r"^viewing is by the DSL: the agreement names "
        r"dsl\.oak, but no DSL has taken the case yet",
    ):
        agree(app)
    take_case(app, "dsl.oak")
    agree(app)
    assert [a.dsl for a in case(app).viewing_agreements] == ["dsl.oak"]


def test_a_deputy_views_once_the_case_is_handed_to_them(app: CaseApp) -> None:
    take_case(app, "dep.oak", reason="Invented: dsl.oak is away this week")
    agree(app, dsl="dep.oak")
    entry, _ = record(app, ImageViewed, by="dep.oak", **VIEWING)
    assert (entry.recorded_by, entry.agreed_by) == ("dep.oak", "head.oak")  # type: ignore[attr-defined]
    # The DSL the case was handed from is not the one the head may agree to any more.
    with pytest.raises(ViewingRefusedError, match=r"who is not the DSL who has the case \(dep"):
        agree(app, dsl="dsl.oak")


def test_an_agreement_stored_before_the_rule_still_loads(store: StoreChoice) -> None:
    """An agreement recorded before it had to name the case's DSL (here, a member of staff)
    is a stored event: it loads, and shows, as it was recorded."""
    app = new_case(store.env("intake"), dsl=None)
    incident = case(app)
    # As the earlier build recorded it, with only its own checks then.
    by = Recording("head.oak", "head", NOW, NOW)
    incident.trigger_event(
        ImageViewingAgreed,
        school=incident.school,
        reference=incident.reference,
        **by.fields(),
        dsl="staff.a",
        pseudonym="YP-1",
        reason="Invented: recorded before the rule",
    )
    app.save(incident)
    app.close()

    reopened = CaseApp(store.env("intake"), clock=lambda: NOW)
    reopened.case_id = app.case_id
    (agreement,) = case(reopened).viewing_agreements
    assert (agreement.dsl, agreement.recorded_by) == ("staff.a", "head.oak")
    # It still lets no one but a DSL view: the viewing checks the viewer's own role.
    with pytest.raises(ViewingRefusedError, match="only the DSL"):
        record(reopened, ImageViewed, by="staff.a", role="staff", **VIEWING)
    reopened.close()


def test_only_the_head_agrees_and_says_why(app: CaseApp) -> None:
    with pytest.raises(ViewingRefusedError, match="only the head"):
        record(app, ImageViewingAgreed, dsl="dsl.oak", pseudonym="YP-1", reason="Invented")
    with pytest.raises(NeedsReasonError):
        record(
            app,
            ImageViewingAgreed,
            by="head.oak",
            role="head",
            dsl="dsl.oak",
            pseudonym="YP-1",
            reason="",
        )


def test_one_who_viewed_cannot_attest_they_did_not(app: CaseApp) -> None:
    agree(app)
    record(app, ImageViewed, **VIEWING)
    with pytest.raises(IntakeError, match=r"dsl\.oak is recorded as viewing the image"):
        record(app, ImageNotViewedAttested, context="Invented")


# Containment and the hosting site


def test_the_network_is_blocked_and_the_image_isolated(app: CaseApp) -> None:
    for action in ("network_blocked", "image_isolated"):
        record(
            app,
            ImageContained,
            action=action,
            done_by="it.oak",
            where="school network",
        )
    assert [c.action for c in case(app).containment] == ["network_blocked", "image_isolated"]
    with pytest.raises(EntryError, match="action must be one of"):
        record(app, ImageContained, action="printed", done_by="it.oak", where="x")


def test_the_report_to_the_hosting_site_keeps_their_reference(app: CaseApp) -> None:
    record(app, ImageReportedToSite, site="Invented social site", report_reference="R-1")
    assert case(app).site_reports[0].report_reference == "R-1"


# Deletion, only while no other agency is involved


def request(app: CaseApp, **changes: Any) -> tuple[CaseEntry, bool]:
    details = {"pseudonym": "YP-2", "deadline": NOW + timedelta(days=2), "places": ["devices"]}
    return record(app, DeletionRequested, **{**details, **changes})


def test_young_people_are_asked_to_delete_by_a_deadline_and_confirm(app: CaseApp) -> None:
    request(app, places=["devices", "cloud_storage", "social_media_accounts"])
    record(app, DeletionConfirmed, pseudonym="YP-2", how="Invented: told the DSL")
    incident = case(app)
    assert incident.deletion_requests[0].deadline == NOW + timedelta(days=2)
    assert incident.deletion_confirmations[0].agencies_involved == []
    assert incident.flagged_for_review == []


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"deadline": NOW - timedelta(minutes=1)}, "after the request"),
        ({"places": []}, "places"),
        ({"places": ["the image"]}, "places"),
        ({"pseudonym": "YP-7"}, "no young person YP-7"),
    ],
)
def test_a_deletion_request_needs_a_later_deadline_and_named_places(
    app: CaseApp, changes: dict[str, Any], rule: str
) -> None:
    with pytest.raises(EntryError, match=rule):
        request(app, **changes)


def test_no_deletion_is_asked_once_the_police_hold_a_device(app: CaseApp) -> None:
    record(app, DeviceCustodyRecorded, **CONFISCATED)
    record(app, DeviceCustodyRecorded, **TO_POLICE)
    with pytest.raises(AgencyInvolvedError, match="handed to the police"):
        request(app)
    assert case(app).deletion_requests == []


def test_no_deletion_is_asked_when_another_agency_disclosed() -> None:
    app = new_case(route="other_agency")
    with pytest.raises(AgencyInvolvedError, match="disclosure came from another agency"):
        request(app)


def test_a_confirmation_answers_a_request(app: CaseApp) -> None:
    with pytest.raises(IntakeError, match="was not asked"):
        record(app, DeletionConfirmed, pseudonym="YP-2", how="Invented")


def test_a_confirmation_after_the_police_became_involved_is_kept_and_flagged(app: CaseApp) -> None:
    request(app)
    record(app, DeviceCustodyRecorded, **CONFISCATED)
    record(app, DeviceCustodyRecorded, **TO_POLICE)
    entry, _ = record(app, DeletionConfirmed, pseudonym="YP-2", how="Invented")
    assert entry.agencies_involved == ["device_with_police"]  # type: ignore[attr-defined]
    (flag,) = case(app).flagged_for_review
    assert flag.startswith("YP-2 confirmed deleting copies after another agency became involved")


# Retries, concurrent changes, and the stores


def test_a_retry_with_the_same_key_records_once(app: CaseApp) -> None:
    first, created = record(app, DeviceCustodyRecorded, key="k-1", **CONFISCATED)
    again, created_again = record(app, DeviceCustodyRecorded, key="k-1", **CONFISCATED)
    assert (created, created_again) == (True, False)
    assert again == first
    assert len(case(app).custody) == 1
    with pytest.raises(IdempotencyKeyReusedError):
        record(app, DeviceCustodyRecorded, key="k-1", **{**CONFISCATED, "seal_number": "S-9"})


def test_an_entry_on_a_case_changed_since_it_was_read_is_refused(app: CaseApp) -> None:
    read_at = case(app).version
    record(app, ImageReportedToSite, site="Invented site", report_reference="R-1")
    with pytest.raises(CaseChangedError):
        app.record_entry(
            app.case_id,
            ImageReportedToSite,
            details={"site": "Invented site", "report_reference": "R-2"},
            recorded_by="dsl.oak",
            recorded_by_role="dsl",
            expected_version=read_at,
        )
    assert len(case(app).site_reports) == 1


def test_occurred_and_recorded_times_are_both_kept(app: CaseApp) -> None:
    earlier = NOW - timedelta(hours=3)
    app.record_entry(
        app.case_id,
        ImageContained,
        details={"action": "network_blocked", "done_by": "it.oak", "where": "school network"},
        recorded_by="dsl.oak",
        recorded_by_role="dsl",
        occurred_at=earlier,
    )
    blocked = case(app).containment[0]
    assert (blocked.occurred_at, blocked.recorded_at) == (earlier, NOW)
    with pytest.raises(EntryError, match="later than the time it was recorded"):
        app.record_entry(
            app.case_id,
            ImageContained,
            details={"action": "image_isolated", "done_by": "it.oak", "where": "x"},
            recorded_by="dsl.oak",
            recorded_by_role="dsl",
            occurred_at=NOW + timedelta(hours=1),
        )


def test_step_3_survives_a_restart_on_each_store(store: StoreChoice) -> None:
    app = new_case(store.env("intake"))
    record(app, DeviceCustodyRecorded, key="k-1", **CONFISCATED)
    agree(app)
    record(app, ImageViewed, **VIEWING)
    request(app)
    record(app, DeviceCustodyRecorded, **TO_POLICE)
    record(app, DeletionConfirmed, pseudonym="YP-2", how="Invented")
    before = case(app)
    app.close()

    reopened = CaseApp(store.env("intake"), clock=lambda: NOW)
    reopened.case_id = app.case_id
    after = case(reopened)
    assert after.custody == before.custody
    assert after.viewings == before.viewings
    assert after.deletion_requests[0].deadline == NOW + timedelta(days=2)
    assert after.flagged_for_review == before.flagged_for_review
    _, created = record(reopened, DeviceCustodyRecorded, key="k-1", **CONFISCATED)
    assert not created  # the key survived the restart too


def test_each_agreement_of_the_head_is_for_one_viewing(app: CaseApp) -> None:
    agree(app)
    record(app, ImageViewed, **VIEWING)
    with pytest.raises(ViewingRefusedError, match="each agreement is for one viewing"):
        record(app, ImageViewed, **VIEWING)
    agree(app)
    record(app, ImageViewed, **VIEWING)
    assert len(case(app).viewings) == 2


def test_a_viewer_of_no_recorded_sex_is_refused_before_anything_is_stored(app: CaseApp) -> None:
    agree(app)
    with pytest.raises(EntryError, match="viewer_sex must be one of"):
        record(app, ImageViewed, **{**VIEWING, "viewer_sex": "F"})
    assert case(app).viewings == []


def test_staff_are_told_only_the_dsl_views_whatever_young_person_they_name(app: CaseApp) -> None:
    with pytest.raises(ViewingRefusedError, match="only the DSL"):
        record(
            app,
            ImageViewed,
            by="staff.a",
            role="staff",
            **{**VIEWING, "pseudonym": "YP-7"},
        )
    with pytest.raises(IntakeError, match="no young person YP-7"):
        agree(app, pseudonym="YP-7")


def test_a_place_named_twice_is_refused(app: CaseApp) -> None:
    with pytest.raises(IntakeError, match="places"):
        request(app, places=["devices", "devices"])


def test_a_referral_made_in_the_referral_service_stops_deletion_requests(app: CaseApp) -> None:
    from eventsourcing.persistence import Tracking

    from shared.contracts.referral import ActionCompletedV1

    request(app)
    golden = Path(__file__).parent.parent / "contracts" / "golden"
    sample = json.loads((golden / "referral.action.completed.v1.json").read_text())
    parents_told = ActionCompletedV1.model_validate(
        {**sample, "case_id": app.case_id, "action": "parents_or_carers"}
    )
    app.process_event(parents_told, Tracking("referral", 1))  # type: ignore[arg-type]
    assert case(app).agencies_involved() == []  # telling parents brings no agency in
    police = ActionCompletedV1.model_validate({**sample, "case_id": app.case_id})
    app.process_event(police, Tracking("referral", 2))  # type: ignore[arg-type]
    app.process_event(police, Tracking("referral", 3))  # type: ignore[arg-type]
    assert case(app).agencies_involved() == ["referred_to_police"]
    with pytest.raises(AgencyInvolvedError, match="the DSL referred the case to the police"):
        request(app, pseudonym="YP-1")
    record(app, DeletionConfirmed, pseudonym="YP-2", how="Invented")
    (flag,) = case(app).flagged_for_review
    assert "the DSL referred the case to the police" in flag
