"""A kind of entry's form read from its declaration, and a form as sent read back into the body
its route takes. On real declarations, so that a changed declaration shows here: a field added,
its choices, whether it must be answered."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.datastructures import FormData

from services.intake.domain.device_search import DeviceSearched, SearchAuthorised
from services.intake.domain.image import DeletionRequested, ImageViewingAgreed
from services.referral.domain.response import RiskAssessed, YoungPersonHeard
from services.web.entry_forms import Choice, EntryForm, UnsupportedFieldError, entry_form
from services.web.pages.common import PAGES
from shared.entry_routes import entry_in


def shape(form: EntryForm) -> list[tuple[str, str, bool]]:
    return [(f.name, f.kind, f.required) for f in form]


def sent(**fields: str | list[str]) -> FormData:
    return FormData(
        [(k, v) for k, vs in fields.items() for v in ([vs] if isinstance(vs, str) else vs)]
    )


def test_the_head_s_search_authorisation_asks_who_may_search_whose_device() -> None:
    form = entry_form(SearchAuthorised)
    assert shape(form) == [
        ("searcher", "text", True),
        ("pseudonym", "text", True),
        ("occurred_at", "date-time", False),  # every entry's, last; empty: now
    ]
    searcher = form.field("searcher")
    assert (searcher.label, searcher.hint, searcher.max_length) == (
        "Who may search",
        "For example, staff.b.",
        200,
    )
    # authorised_by is worked out by the rules: never asked.
    assert "authorised_by" not in [f.name for f in form]


def test_the_viewing_agreement_asks_which_dsl_whose_image_and_why() -> None:
    form = entry_form(ImageViewingAgreed)
    assert shape(form) == [
        ("dsl", "text", True),
        ("pseudonym", "text", True),
        ("reason", "textarea", True),
        ("occurred_at", "date-time", False),
    ]
    assert [(f.label, f.hint) for f in form][:3] == [
        ("The DSL who may view it", "The DSL who has the case."),
        ("The young person pictured", ""),
        ("Why viewing is unavoidable", ""),
    ]


def test_a_referral_kind_the_young_person_heard_round_trips_its_own_example() -> None:
    form = entry_form(YoungPersonHeard)
    assert shape(form) == [
        ("pseudonym", "text", True),
        ("heard_by", "text", True),
        ("account", "textarea", True),
        ("wishes", "textarea", False),
        ("occurred_at", "date-time", False),
    ]
    assert form.field("wishes").legend.endswith("(optional)")
    reading = form.read(sent(**YoungPersonHeard.EXAMPLE))
    assert reading.errors == {}
    assert reading.body == YoungPersonHeard.EXAMPLE
    entry_in(YoungPersonHeard).model_validate(reading.body)  # what the route takes


def test_choices_come_from_the_literal_and_sent_only_fields_are_asked() -> None:
    form = entry_form(DeviceSearched)
    assert [c.value for c in form.field("outcome").choices] == [
        "nothing_found",
        "inappropriate_content",
        "potentially_illegal_imagery_suspected",
    ]
    assert [c.text for c in form.field("searcher_sex").choices] == ["Female", "Male"]
    assert (form.field("policy_followed").kind, form.field("policy_followed").required) == (
        "boolean",
        True,
    )
    assert "conditions_not_met" not in [f.name for f in form]
    reading = form.read(
        sent(
            pseudonym="YP-1",
            device="Invented: personal phone",
            searcher="staff.b",
            searcher_sex="female",
            outcome="nothing_found",
            policy_followed="yes",
            emergency="no",
        )
    )
    assert reading.errors == {}
    assert reading.body["policy_followed"] is True
    assert reading.body["emergency"] is False
    assert "safeguarding_team_member" not in reading.body  # left empty: the default


def test_checkboxes_and_a_date_time_in_the_trust_s_local_time_without_a_zone() -> None:
    form = entry_form(DeletionRequested)
    assert shape(form) == [
        ("pseudonym", "text", True),
        ("deadline", "date-time", True),
        ("places", "checkboxes", True),
        ("occurred_at", "date-time", False),
    ]
    reading = form.read(
        sent(
            pseudonym="YP-1",
            **{"deadline-day": "7", "deadline-month": "4", "deadline-year": "2026"},
            **{"deadline-time": "9.05"},
            places=["devices", "cloud_storage"],
        )
    )
    assert reading.errors == {}
    assert reading.body == {
        "pseudonym": "YP-1",
        "deadline": "2026-04-07T09:05",
        "places": ["devices", "cloud_storage"],
    }
    assert reading.values["places"] == ["devices", "cloud_storage"]
    assert dict(form.answers(reading.body))["Deadline"] == "7 April 2026, 09:05"
    assert dict(form.answers(reading.body))["When it happened"] == "Now, when it is recorded"


def test_each_field_answered_wrongly_or_left_empty_has_its_own_error() -> None:
    form = entry_form(DeletionRequested)
    reading = form.read(
        sent(
            **{"deadline-day": "31", "deadline-month": "2", "deadline-year": "2026"},
            places=["the_moon"],
            **{"occurred_at-day": "1", "occurred_at-month": "3", "occurred_at-year": "2026"},
            **{"occurred_at-time": "25:00"},
        )
    )
    assert reading.errors == {
        "pseudonym": "Enter pseudonym",
        "deadline": "Deadline must be a real date, for example 27 3 2026",
        "places": "Select where every copy is to be deleted from",
        "occurred_at": "When it happened: enter the time on the 24-hour clock, for example 14:30",
    }
    assert reading.body == {}
    assert form.error_links(reading.errors)[1] == {
        "text": "Deadline must be a real date, for example 27 3 2026",
        "href": "#deadline-day",
    }
    too_long = entry_form(ImageViewingAgreed).read(sent(reason="x" * 2001))
    assert (
        too_long.errors["reason"] == "Why viewing is unavoidable must be 2000 characters or fewer"
    )


def test_the_case_s_own_young_people_are_offered_where_the_declaration_says_only_a_shape() -> None:
    people = [Choice("YP-1", "YP-1", "Female, Year 9"), Choice("YP-2", "YP-2")]
    form = entry_form(SearchAuthorised).choosing("pseudonym", people, label="Whose device?")
    pseudonym = form.field("pseudonym")
    assert (pseudonym.kind, pseudonym.label, pseudonym.required) == (
        "radios",
        "Whose device?",
        True,
    )
    assert form.read(sent(searcher="staff.b", pseudonym="YP-3")).errors == {
        "pseudonym": "Select whose device"
    }
    assert entry_form(SearchAuthorised).choosing("pseudonym", []) == entry_form(SearchAuthorised)


def test_a_nested_structure_is_refused_by_name_rather_than_asked_wrongly() -> None:
    with pytest.raises(UnsupportedFieldError, match="factors"):
        entry_form(RiskAssessed)
    assert "factors" not in [f.name for f in entry_form(RiskAssessed, leave_out=("factors",))]


def test_the_macro_draws_each_kind_of_field_with_its_error() -> None:
    form = entry_form(DeletionRequested)
    errors = {"deadline": "Enter deadline", "places": "Select where"}
    values: dict[str, Any] = {"pseudonym": "YP-1", "places": ["devices"]}
    template = PAGES.env.from_string(
        '{% from "_entry_form.html" import entry_fields, carried %}'
        "{{ entry_fields(form, values, errors) }}{{ carried(values) }}"
    )
    html = template.render(form=form, values=values, errors=errors)
    assert re.search(r'<input[^>]*name="pseudonym" type="text"[^>]*value="YP-1"', html)
    # The date and the time in one fieldset, whose legend names both.
    date_time = re.search(r"<fieldset.*?Deadline.*?</fieldset>", html, re.DOTALL)
    assert date_time is not None
    for part in ("day", "month", "year", "time"):
        assert f'name="deadline-{part}"' in date_time.group(0)
    assert 'id="deadline-error"' in date_time.group(0)
    assert re.search(r'id="places"[^>]*name="places"[^>]*value="devices"[^>]*checked', html)
    assert re.search(r'id="places-error"[^>]*>\s*<span[^>]*>Error:</span> Select where', html)
    assert '<input type="hidden" name="places" value="devices">' in html
