"""What an auditor reads over HTTP besides a case's view: its hash chain verified entry by entry
(itself a read, recorded first and in the chain it answers), an entry edited in the database
named as the break with every entry after it following the break, and when each case of a list
last changed (a read is not a change)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from shared.identity import ALL_SCHOOLS, Role
from tests.conftest import StoreChoice
from tests.review.conftest import bearer, reviews_of
from tests.review.story import T0, Story, minutes
from tests.review.test_chain import rewrite_stored_event

AUDITOR = {"role": Role.AUDITOR, "schools": (ALL_SCHOOLS,), "user": "auditor.invented"}


def a_case(client: TestClient) -> Story:
    """Disclosed at 09:00, then three DSLs in turn (each name is in one stored entry only)."""
    story = Story(reviews_of(client))
    story.disclosure(T0)
    for n, who in enumerate(("dsl.first", "dsl.second", "dsl.third"), start=1):
        story.dsl(who, T0 + minutes(n))
    return story


def test_the_chain_holds_entry_by_entry_and_its_read_is_recorded_first(
    client: TestClient,
) -> None:
    story = a_case(client)
    answer = client.get(f"/cases/{story.case_id}/chain", headers=bearer(client, **AUDITOR))
    assert answer.status_code == 200, answer.text
    chain = answer.json()
    assert (chain["reference"], chain["chain"]["intact"], chain["chain"]["broken_at"]) == (
        "OAK-2026-0007",
        True,
        None,
    )
    entries = chain["entries"]
    assert [e["kind"] for e in entries] == [
        "disclosure_recorded",
        "dsl_assigned",
        "dsl_assigned",
        "dsl_assigned",
        "case_read",  # this read, recorded before the chain was verified
    ]
    assert all(e["verified"] and e["problem"] == "" for e in entries)
    assert [e["previous_hash"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    assert chain["chain"]["head_hash"] == entries[-1]["hash"]
    reads = client.get(f"/cases/{story.case_id}", headers=bearer(client)).json()["reads"]
    assert (reads[0]["user"], reads[0]["role"], reads[0]["what"]) == (
        "auditor.invented",
        "auditor",
        "chain",
    )


def test_an_entry_edited_in_the_database_breaks_the_chain_there_and_after(
    client: TestClient, store: StoreChoice
) -> None:
    story = a_case(client)
    reviews = reviews_of(client)
    table = reviews.recorder.events_table_name  # type: ignore[attr-defined]
    # Version 1 opens the record; version 4 is the third entry, the second DSL's.
    rewrite_stored_event(
        table, store, store.env("review"), 4, story.case_id, "dsl.second", "dsl.altered"
    )
    chain = client.get(f"/cases/{story.case_id}/chain", headers=bearer(client, **AUDITOR)).json()
    assert (chain["chain"]["intact"], chain["chain"]["broken_at"]) == (False, 3)
    states = [(e["number"], e["verified"], e["problem"]) for e in chain["entries"]]
    assert states[:2] == [(1, True, ""), (2, True, "")]
    assert states[2][:2] == (3, False)
    assert "no longer matches its hash" in states[2][2]
    assert states[3:] == [
        (4, False, "follows the break at entry 3"),
        (5, False, "follows the break at entry 3"),
    ]


def test_the_chain_of_another_school_s_case_is_not_found(client: TestClient) -> None:
    story = a_case(client)
    answer = client.get(f"/cases/{story.case_id}/chain", headers=bearer(client, schools=("ELM",)))
    assert answer.status_code == 404
    assert reviews_of(client).get_case(story.case_id).entries[-1].kind == "dsl_assigned"


def test_the_case_list_says_when_each_case_last_changed_a_read_being_no_change(
    client: TestClient,
) -> None:
    story = a_case(client)
    reviews = reviews_of(client)
    reviews.clock = lambda: T0 + minutes(30)
    reviews.record_read(story.case_id, user="dsl.oak", role="dsl", what="case_view")
    listed = client.get("/cases", headers=bearer(client, **AUDITOR)).json()["cases"]
    (line,) = (c for c in listed if c["case_id"] == str(story.case_id))
    assert line["last_change"] == "2026-11-24T09:03:00Z"
