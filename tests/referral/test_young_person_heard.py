"""Step 5: the young person heard before the response is decided. A kind of entry added by
its declaration alone (services/referral/domain/response.py): its route, its rules, its
publication and its words in review's chronology come from it."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from services.referral.adapters.contracts import to_contract
from services.referral.application import Referrals
from services.review.domain.chronology import describe
from shared.contracts import decode
from shared.contracts.referral import ReferralEntryRecordedV1
from tests.referral.test_http import STAFF, bearer, client, new_case, post

__all__ = ["client"]

HEARD = {
    "pseudonym": "YP-1",
    "heard_by": "dsl.oak",
    "account": "Invented: sent it to her boyfriend; it was not meant to go further",
    "wishes": "Invented: wants her mum told by the DSL, not by phone",
    "occurred_at": "2026-11-24T13:00:00Z",
}


def test_the_dsl_records_the_young_person_heard_once_however_often_it_is_sent(
    client: TestClient,
) -> None:
    case_id = new_case(client)
    first = post(client, case_id, "young-people-heard", HEARD, Idempotency_Key="heard-1")
    assert first.status_code == 201, first.text
    heard = first.json()
    assert (heard["pseudonym"], heard["heard_by"], heard["recorded_by"]) == (
        "YP-1",
        "dsl.oak",
        "dsl.oak",
    )
    assert heard["wishes"] == HEARD["wishes"]
    again = post(client, case_id, "young-people-heard", HEARD, Idempotency_Key="heard-1")
    assert (again.status_code, again.json()) == (200, heard)


def test_only_a_young_person_on_the_case_is_heard_and_only_by_the_dsl_or_head(
    client: TestClient,
) -> None:
    case_id = new_case(client)
    unknown = post(client, case_id, "young-people-heard", {**HEARD, "pseudonym": "YP-9"})
    assert unknown.status_code == 422
    assert "no young person YP-9 on this case (recorded: YP-1)" in unknown.text
    blank = post(client, case_id, "young-people-heard", {**HEARD, "account": ""})
    assert blank.status_code == 422
    by_staff = client.post(
        f"/cases/{case_id}/young-people-heard", json=HEARD, headers=bearer(client, STAFF)
    )
    assert by_staff.status_code == 403


def test_it_is_published_by_its_declaration_and_review_shows_it_in_its_words(
    client: TestClient,
) -> None:
    case_id = new_case(client)
    assert post(client, case_id, "young-people-heard", HEARD).status_code == 201
    app = client.app.state.runtime.app  # type: ignore[attr-defined]
    assert isinstance(app, Referrals)
    stored = app.recorder.select_notifications(start=None, limit=1000)
    contracts = [to_contract(app.mapper.to_domain_event(item)) for item in stored]
    published = [c for c in contracts if isinstance(c, ReferralEntryRecordedV1)]
    assert len(published) == 1
    sent = published[0]
    assert (str(sent.case_id), sent.kind, sent.step) == (case_id, "young_person_heard", 5)
    assert json.loads(sent.facts)["wishes"] == HEARD["wishes"]
    # What review reads off the referral stream, and writes in the case's chronology.
    described = describe(decode(sent.subject, sent.model_dump_json().encode()))
    assert described is not None
    assert described.kind == "young_person_heard"
    assert described.summary == f"YP-1 heard by dsl.oak: {HEARD['account']}"
