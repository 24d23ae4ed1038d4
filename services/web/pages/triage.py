"""Step 1's triage, for the DSL: the policy's questions and the facts that decide a referral,
each answered or left as "not known"; a second triage corrects the first, with its reason.

The questions and their answers are intake's (:data:`TRIAGE_ANSWERS`); only the words a person
reads are written here, and a test checks there are words for every question and answer.
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.intake.domain.triage import (
    IMAGE_LOCATION_KINDS,
    MULTI_ANSWER,
    REFERRAL_FACTS,
    STEP_1_QUESTIONS,
    TRIAGE_ANSWERS,
    UNKNOWN,
)
from services.web.clients import Refused
from services.web.pages.cases import Decider
from services.web.pages.common import CSRF, clients_of, field_id, render
from services.web.wording import words

router = APIRouter(dependencies=[CSRF])

QUESTIONS = {
    "disclosing_about": "Is the young person disclosing about receiving, sending or sharing?",
    "image_nature": "Is the imagery potentially illegal, or inappropriate?",
    "ai_generated_or_altered": "Is the imagery generated or altered by AI?",
    "dsl_consulted": "Has the DSL been consulted?",
    "how_widely_shared": "How widely has the image been shared?",
    "device_in_possession": "Is a device with the image in the school's possession?",
    "device_ownership": "Whose device is it?",
    "immediate_support_needed": "Does the young person need immediate support?",
    "other_young_people_involved": "Are other young people involved?",
    "adult_involvement": "Is an adult involved?",
    "coercion_blackmail_or_grooming": "Is there coercion, blackmail or grooming?",
    "capacity_to_consent_concerns": "Are there concerns about capacity to consent?",
    "violent_or_abusive_acts": "Does the imagery show violent or abusive acts?",
    "acts_unusual_for_development": (
        "Does it show acts unusual for the young person's developmental stage?"
    ),
    "sexual_acts": "Does it show sexual acts?",
    "pictured_under_13": "Is anyone pictured under 13?",
    "immediate_risk_of_harm": "Is a young person at immediate risk of harm?",
    "financially_motivated_extortion": "Is it financially motivated extortion (sextortion)?",
}
"""Each triage question as the DSL reads it."""

ANSWERS = {UNKNOWN: "Not known"}
"""Answers whose words are not the code in words."""


def answer_items(question: str, chosen: Any) -> list[dict[str, Any]]:
    chosen_set = set(chosen) if isinstance(chosen, list) else {chosen}
    if question in MULTI_ANSWER:
        chosen_set.discard(UNKNOWN)  # none ticked is "not known"; ticking one must be enough
    return [
        {"value": a, "text": ANSWERS.get(a, words(a)), "checked": a in chosen_set}
        for a in TRIAGE_ANSWERS[question]
    ]


def _form(
    request: Request,
    case_id: UUID,
    reference: str,
    answers: dict[str, Any],
    locations: list[dict[str, str]],
    errors: dict[str, str],
    correcting: bool,
    reason: str = "",
    key: str = "",
    status_code: int = 200,
) -> Response:
    def group(questions: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
        return [
            {
                "name": q,
                "id": field_id(q),
                "legend": QUESTIONS[q],
                "multiple": q in MULTI_ANSWER,
                "items": answer_items(q, answers.get(q, UNKNOWN)),
                "error": errors.get(q, ""),
            }
            for q in questions
        ]

    location = locations[0] if locations else {"kind": UNKNOWN, "name": ""}
    return render(
        request,
        "triage.html",
        status_code,
        case_id=case_id,
        reference=reference,
        step_1=group(STEP_1_QUESTIONS),
        facts=group(REFERRAL_FACTS),
        location_items=[
            {"value": k, "text": ANSWERS.get(k, words(k)), "checked": location["kind"] == k}
            for k in IMAGE_LOCATION_KINDS
        ],
        location_name=location.get("name", ""),
        errors=errors,
        correcting=correcting,
        reason=reason,
        key=key or str(uuid.uuid4()),
    )


@router.get("/cases/{case_id}/triage")
async def triage_page(request: Request, case_id: UUID, principal: Decider) -> Response:
    clients = clients_of(request)
    case = await clients.get(principal, "intake", f"/cases/{case_id}")
    triage = await clients.get(principal, "intake", f"/cases/{case_id}/triage")
    latest = triage[-1] if triage else {"answers": {}, "image_locations": []}
    return _form(
        request,
        case_id,
        case["reference"],
        latest["answers"],
        latest["image_locations"],
        {},
        correcting=bool(triage),
    )


@router.post("/cases/{case_id}/triage")
async def record_triage(request: Request, case_id: UUID, principal: Decider) -> Response:
    form = await request.form()
    answers: dict[str, Any] = {}
    for question in TRIAGE_ANSWERS:
        given = [str(v) for v in form.getlist(question)]
        if question in MULTI_ANSWER:
            # "Not known" ticked beside an answer: the answer is what the person knows.
            answers[question] = [g for g in given if g != UNKNOWN] or [UNKNOWN]
        else:
            answers[question] = given[0] if given else UNKNOWN
    kind = str(form.get("location_kind", UNKNOWN))
    name = str(form.get("location_name", "")).strip()
    locations = []
    if kind != UNKNOWN or name:
        locations = [{"kind": kind, **({"name": name} if name else {})}]
    reason = str(form.get("reason", "")).strip()
    key = str(form.get("idempotency_key", "")) or str(uuid.uuid4())
    clients = clients_of(request)
    case = await clients.get(principal, "intake", f"/cases/{case_id}")
    correcting = form.get("correcting") == "1"
    errors: dict[str, str] = {}
    if correcting and not reason:
        errors["reason"] = "Enter why the triage is corrected"
    if not errors:
        try:
            await clients.post(
                principal,
                "intake",
                f"/cases/{case_id}/triage",
                json={**answers, "image_locations": locations, "reason": reason},
                headers={"Idempotency-Key": key},
            )
        except Refused as e:
            if e.status not in (409, 422):
                raise
            errors = {(k or "reason"): v for k, v in e.problems.items()}
    if errors:
        return _form(
            request,
            case_id,
            case["reference"],
            answers,
            locations,
            errors,
            correcting,
            reason,
            key,
            400,
        )
    return RedirectResponse(f"/cases/{case_id}?done=triage#step-1", status_code=303)
