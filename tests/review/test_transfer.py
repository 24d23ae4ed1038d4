"""Records: the child-protection file sent to a young person's new school, its receipt due
within five school days, confirmed by the receiving school, and overdue when it is not."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from services.review.application import Reviews
from services.review.domain.file_transfer import (
    SECURE_METHODS,
    FileReceived,
    FileSent,
    SecureMethod,
    TransferRefusedError,
    add_school_days,
    receipt_due_on,
)
from shared.identity import Role
from tests.review.conftest import bearer, reviews_of
from tests.review.story import Story, action

# Fridays and weekends in October 2026, all in the past, so that no time sent is the future.
DISCLOSED = datetime(2026, 10, 14, 9, 0, tzinfo=UTC)  # a Wednesday
FRIDAY = datetime(2026, 10, 16, 10, 0, tzinfo=UTC)
DUE = date(2026, 10, 23)  # five school days after Friday the 16th: the next Friday
SENT = {
    "pseudonym": "YP-1",
    "to_school": "ELM",
    "to_whom": "Their DSL, Ms A. Invented",
    "method": "secure_records_system",
}
RECEIVED = {"confirmed_by": "Ms A. Invented, DSL at Elmbridge"}


# The rule: five school days, Saturdays and Sundays skipped.


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 10, 12), 5, date(2026, 10, 19)),  # Monday: the next Monday
        (date(2026, 10, 14), 5, date(2026, 10, 21)),  # Wednesday, across one weekend
        (date(2026, 10, 16), 5, date(2026, 10, 23)),  # Friday: the next Friday
        (date(2026, 10, 17), 5, date(2026, 10, 23)),  # Saturday: counting starts on Monday
        (date(2026, 10, 18), 5, date(2026, 10, 23)),  # Sunday: likewise
        (date(2026, 10, 16), 1, date(2026, 10, 19)),  # Friday and one school day: Monday
        (date(2026, 10, 16), 10, date(2026, 10, 30)),  # across two weekends
        (date(2026, 10, 16), 0, date(2026, 10, 16)),
    ],
)
def test_school_days_skip_saturdays_and_sundays(start: date, days: int, due: date) -> None:
    assert add_school_days(start, days) == due
    assert due.weekday() < 5 or days == 0


def test_a_negative_number_of_school_days_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="never negative"):
        add_school_days(date(2026, 10, 16), -1)


def test_receipt_is_due_five_school_days_after_the_day_sent_in_utc() -> None:
    assert receipt_due_on(FRIDAY) == DUE
    assert receipt_due_on(FRIDAY.replace(hour=23, minute=59)) == DUE
    # 00:30 on a Monday in British Summer Time is still Sunday in UTC: the deadline is the
    # Friday, where the Monday's own date would give the next Monday. Early, never late.
    bst = timezone(timedelta(hours=1))
    assert receipt_due_on(datetime(2026, 10, 19, 0, 30, tzinfo=bst)) == DUE
    assert receipt_due_on(datetime(2026, 10, 19, 1, 30, tzinfo=bst)) == date(2026, 10, 26)


def test_the_methods_offered_are_the_secure_ones_in_words() -> None:
    assert set(get_args(SecureMethod)) == set(SECURE_METHODS)


# The record, on the application.


def a_case(reviews: Reviews | None = None) -> Story:
    story = Story(reviews)
    story.reviews.clock = lambda: FRIDAY + timedelta(minutes=5)
    return story.disclosure(DISCLOSED).assessed(
        DISCLOSED + timedelta(minutes=2), action("parents_or_carers")
    )


def at(reviews: Reviews, moment: datetime) -> None:
    reviews.clock = lambda: moment


def sending(story: Story, **changes: Any) -> Any:
    return story.reviews.send_file(
        story.case_id,
        {**SENT, "note": "", **changes},
        recorded_by="dsl.oak",
        recorded_by_role="dsl",
        occurred_at=FRIDAY,
    )


def receipt(story: Story, when: datetime, **changes: Any) -> Any:
    return story.reviews.confirm_receipt(
        story.case_id,
        {**RECEIVED, "transfer": None, "note": "", **changes},
        recorded_by="dsl.oak",
        recorded_by_role="dsl",
        occurred_at=when,
    )


def test_a_transfer_is_due_in_five_school_days_and_overdue_after_that_day() -> None:
    story = a_case()
    entry, _, created = sending(story)
    assert created
    assert entry.kind == FileSent.KIND
    assert "sent to ELM" in entry.summary
    reviews = story.reviews
    (transfer,) = reviews.case_view(story.case_id).transfers
    assert (transfer.number, transfer.due_on, transfer.sent_by) == (entry.number, DUE, "dsl.oak")
    assert not transfer.confirmed
    at(reviews, datetime(2026, 10, 23, 23, 59, tzinfo=UTC))
    assert reviews.case_view(story.case_id).overdue_transfers == []
    at(reviews, datetime(2026, 10, 24, 0, 1, tzinfo=UTC))
    overdue = reviews.case_view(story.case_id).overdue_transfers
    assert [t.number for t in overdue] == [entry.number]
    # As the case stood on the deadline's day, it was not overdue yet.
    then = reviews.case_view(story.case_id, as_of=datetime(2026, 10, 23, 12, 0, tzinfo=UTC))
    assert [t.number for t in then.transfers] == [entry.number]
    assert then.overdue_transfers == []


def test_confirmation_of_receipt_ends_the_overdue_and_a_late_one_is_kept_visible() -> None:
    story = a_case()
    sent, _, _ = sending(story)
    late = datetime(2026, 10, 26, 8, 30, tzinfo=UTC)  # the Monday after the deadline
    at(story.reviews, late + timedelta(minutes=10))
    assert story.reviews.case_view(story.case_id).overdue_transfers
    entry, _, created = receipt(story, late)
    assert created
    assert entry.kind == FileReceived.KIND
    assert entry.summary.startswith("Receipt of the child-protection file confirmed by Ms A.")
    view = story.reviews.case_view(story.case_id)
    (transfer,) = view.transfers
    assert (transfer.confirmed_by, transfer.confirmed_at) == (RECEIVED["confirmed_by"], late)
    assert transfer.confirmation_number == entry.number
    assert transfer.confirmed_late
    assert view.overdue_transfers == []
    assert sent.number < entry.number
    assert story.reviews.verify(story.case_id) is None


def test_a_confirmation_confirms_the_transfer_it_names_or_the_latest_unconfirmed() -> None:
    story = a_case()
    first, _, _ = sending(story, to_school="Invented School, Leeds")
    second, _, _ = sending(story, pseudonym="YP-2", to_school="ASH")
    receipt(story, FRIDAY + timedelta(minutes=1), transfer=first.number)
    receipt(story, FRIDAY + timedelta(minutes=2))
    view = story.reviews.case_view(story.case_id)
    assert [(t.number, t.confirmed) for t in view.transfers] == [
        (first.number, True),
        (second.number, True),
    ]


@pytest.mark.parametrize(
    ("before", "changes", "refusal"),
    [
        (0, {}, "no transfer of the child-protection file is recorded"),
        (1, {"transfer": 1}, "entry 1 is not a transfer"),
        (2, {}, "every transfer of this case's file is confirmed already"),
        (2, {"transfer": 3}, "was confirmed already, in entry 4"),
    ],
    ids=["no transfer", "not a transfer", "all confirmed", "confirmed already"],
)
def test_a_confirmation_without_a_transfer_to_confirm_is_refused(
    before: int, changes: dict[str, Any], refusal: str
) -> None:
    story = a_case()
    if before >= 1:
        sending(story)
    if before >= 2:
        receipt(story, FRIDAY + timedelta(minutes=1))
    entries = len(story.reviews.get_case(story.case_id).entries)
    with pytest.raises(TransferRefusedError, match=refusal):
        receipt(story, FRIDAY + timedelta(minutes=2), **changes)
    assert len(story.reviews.get_case(story.case_id).entries) == entries


def test_receipt_before_sending_and_sending_to_the_same_school_are_refused() -> None:
    story = a_case()
    with pytest.raises(TransferRefusedError, match="not to OAK itself"):
        sending(story, to_school="oak")
    sending(story)
    with pytest.raises(TransferRefusedError, match="before the file was sent"):
        receipt(story, FRIDAY - timedelta(minutes=1))
    assert not story.reviews.case_view(story.case_id).transfers[0].confirmed


# Over HTTP.


def post(client: TestClient, story: Story, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(
        f"/cases/{story.case_id}/{path}",
        json=body,
        headers={**bearer(client), **{k.replace("_", "-"): v for k, v in headers.items()}},
    )


FRIDAY_SENT = {**SENT, "occurred_at": FRIDAY.isoformat()}


def test_over_http_the_transfer_its_deadline_confirmation_and_overdue(client: TestClient) -> None:
    story = a_case(reviews_of(client))
    sent = post(client, story, "transfers", FRIDAY_SENT)
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert (body["kind"], body["actor"], body["actor_role"]) == (FileSent.KIND, "dsl.test", "dsl")
    assert body["transfer"]["due_on"] == DUE.isoformat()
    assert (body["transfer"]["confirmed"], body["transfer"]["overdue"]) == (False, False)
    assert body["facts"] == {**SENT, "note": ""}
    at(reviews_of(client), datetime(2026, 10, 24, 9, 0, tzinfo=UTC))
    exported = client.get(f"/cases/{story.case_id}/export.json", headers=bearer(client)).json()
    assert [(t["number"], t["overdue"]) for t in exported["transfers"]] == [(body["number"], True)]
    view = client.get(f"/cases/{story.case_id}", headers=bearer(client)).json()
    assert [(t["number"], t["overdue"]) for t in view["transfers"]] == [(body["number"], True)]
    overdue = client.get("/overdue", params={"school": "OAK"}, headers=bearer(client)).json()
    assert [(o["case_id"], o["to_school"]) for o in overdue["overdue_transfers"]] == [
        (str(story.case_id), "ELM")
    ]
    listed = client.get("/cases", params={"school": "OAK"}, headers=bearer(client)).json()
    assert [c["overdue_transfers"] for c in listed["cases"]] == [1]
    confirmed = post(
        client,
        story,
        "transfers/confirmations",
        {**RECEIVED, "occurred_at": datetime(2026, 10, 22, 15, 0, tzinfo=UTC).isoformat()},
    )
    assert confirmed.status_code == 201, confirmed.text
    transfer = confirmed.json()["transfer"]
    assert transfer["number"] == body["number"]
    assert transfer["confirmed_by"] == RECEIVED["confirmed_by"]
    assert (transfer["confirmed"], transfer["overdue"], transfer["confirmed_late"]) == (
        True,
        False,
        False,
    )


def test_over_http_a_confirmation_without_a_transfer_is_422(client: TestClient) -> None:
    story = a_case(reviews_of(client))
    refused = post(client, story, "transfers/confirmations", RECEIVED)
    assert refused.status_code == 422
    assert "record the sending first" in refused.json()["detail"]
    kinds = [e.kind for e in reviews_of(client).get_case(story.case_id).entries]
    assert FileReceived.KIND not in kinds


def test_over_http_a_retry_is_the_same_entry_and_a_stale_if_match_is_409(
    client: TestClient,
) -> None:
    story = a_case(reviews_of(client))
    first = post(client, story, "transfers", FRIDAY_SENT, idempotency_key="t-1")
    again = post(client, story, "transfers", FRIDAY_SENT, idempotency_key="t-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    other = post(
        client, story, "transfers", {**FRIDAY_SENT, "to_school": "ASH"}, idempotency_key="t-1"
    )
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]
    etag = first.headers["ETag"]
    story.dsl("dsl.other", FRIDAY + timedelta(minutes=1))
    stale = post(client, story, "transfers/confirmations", RECEIVED, if_match=etag)
    assert stale.status_code == 409
    assert "read the case again" in stale.json()["detail"]
    sent = [
        e for e in reviews_of(client).get_case(story.case_id).entries if e.kind == FileSent.KIND
    ]
    assert len(sent) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"method": "ordinary_email"}, "method"),
        ({"to_school": "  "}, "to_school"),
        ({"to_whom": "see data:image/png;base64,iVBORw0KGgo="}, "to_whom"),
        ({"occurred_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}, "occurred_at"),
    ],
    ids=["insecure method", "blank school", "an image", "future"],
)
def test_over_http_a_bad_field_is_422_naming_it(
    client: TestClient, changes: dict[str, Any], field: str
) -> None:
    story = a_case(reviews_of(client))
    refused = post(client, story, "transfers", {**SENT, **changes})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", field]
    assert reviews_of(client).case_view(story.case_id).transfers == []


def test_over_http_only_the_schools_dsl_and_head_record_transfers(client: TestClient) -> None:
    story = a_case(reviews_of(client))
    url = f"/cases/{story.case_id}/transfers"
    assert client.post(url, json=SENT, headers=bearer(client, Role.HEAD)).status_code == 201
    for role in (Role.AUDITOR, Role.STAFF):
        assert client.post(url, json=SENT, headers=bearer(client, role)).status_code == 403
    elsewhere = bearer(client, Role.DSL, ("ELM",))
    assert client.post(url, json=SENT, headers=elsewhere).status_code == 404
    nowhere = f"/cases/{Story().case_id}/transfers/confirmations"
    assert client.post(nowhere, json=RECEIVED, headers=bearer(client)).status_code == 404
    assert len(reviews_of(client).case_view(story.case_id).transfers) == 1


def test_a_case_is_not_closed_while_its_file_is_not_confirmed_as_received() -> None:
    from services.review.domain.review_and_closure import TRANSFER_UNCONFIRMED, closure_refusals

    story = a_case()
    sending(story)
    refused = closure_refusals(story.reviews.case_view(story.case_id))
    assert TRANSFER_UNCONFIRMED in [r.rule for r in refused]
    at(story.reviews, FRIDAY + timedelta(days=4))
    receipt(story, FRIDAY + timedelta(days=3))
    refused = closure_refusals(story.reviews.case_view(story.case_id))
    assert TRANSFER_UNCONFIRMED not in [r.rule for r in refused]
