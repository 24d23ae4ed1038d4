"""The head's two decisions under the policy's conditions: authorising a device search (step 2)
and agreeing to the image being viewed (step 3).

Each page shows the case's reference and the policy's conditions for that decision in plain
words, each a checkbox the head must tick ("I confirm that ..."), then the declaration's own
fields (:mod:`services.web.entry_forms`). The form is refused, naming each condition left
unticked, until every one is (a script of ours says so before sending, the server whatever
the script did); then "check your answers", because the decision stays in the case's record;
then intake's route, under the Idempotency-Key made when the form was first shown, so that a
second press, or a retry after a lost answer, records nothing new. Intake's refusal comes back
in the error summary, naming its rule. Who may use each page is the declaration's
``RECORDED_BY``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from services.intake.domain.device_search import SearchAuthorised
from services.intake.domain.image import ImageViewingAgreed
from services.web.clients import Refused
from services.web.entry_forms import Choice, EntryForm, MultiValued, entry_form
from services.web.pages.common import CSRF, SignedIn, clients_of, render
from services.web.wording import words
from shared.entries import CaseEntry
from shared.identity import Principal, Role
from shared.publishing import snake_case

router = APIRouter(dependencies=[CSRF])

_KEY = re.compile(r"^[A-Za-z0-9-]{8,100}$")


@dataclass(frozen=True)
class Condition:
    """One condition the policy sets on a decision, as the head confirms it."""

    code: str
    what: str
    """What holds, as a clause: "a member of the safeguarding team will be present"."""

    @property
    def id(self) -> str:
        return "condition-" + self.code.replace("_", "-")

    @property
    def text(self) -> str:
        return f"I confirm that {self.what}"

    @property
    def unticked(self) -> str:
        return f"Confirm that {self.what}"


@dataclass(frozen=True)
class Decision:
    """A decision the head records on a case: its kind of entry, its page and its conditions."""

    kind: type[CaseEntry]
    path: str
    title: str
    check_heading: str
    button: str
    policy: tuple[str, ...]
    conditions: tuple[Condition, ...]
    young_person: str
    """The question that chooses the young person among the case's own."""
    from_case: tuple[tuple[str, str], ...] = ()
    """Fields first shown filled from the case: (field, the case's key)."""
    warnings: Callable[[dict[str, Any]], list[str]] = field(default=lambda case: [])

    @property
    def done(self) -> str:
        """The case page's notification: the entry's kind, as the chronology names it."""
        return snake_case(self.kind.__name__)

    def form(self, case: dict[str, Any]) -> EntryForm:
        people = [Choice(p["pseudonym"], p["pseudonym"], about(p)) for p in case["young_people"]]
        return entry_form(self.kind).choosing("pseudonym", people, label=self.young_person)


def about(person: dict[str, Any]) -> str:
    """A young person as the head needs to see them here: sex (for the same-sex rule), year
    or age, and what they did or had done to them."""
    sex = person.get("sex") or "not_recorded"
    parts = ["Sex not recorded" if sex == "not_recorded" else words(sex)]
    if person.get("year_group") is not None:
        parts.append(f"Year {person['year_group']}")
    elif person.get("age") is not None:
        parts.append(f"age {person['age']}")
    roles = ", ".join(r.replace("_", " ") for r in person.get("roles", []))
    return ", ".join(parts) + (f"; {roles}" if roles else "")


SEARCH = Decision(
    kind=SearchAuthorised,
    path="authorise-search",
    title="Authorise a device search",
    check_heading="Check your answers before you authorise the search",
    button="Authorise the search",
    # The school policy, appendix 8, step 2 ("Searching a device"), and step 3's first rules.
    policy=(
        "The school's policy allows a young person's device to be searched only when every one "
        "of these conditions holds. The search is to find where the image is, never to look "
        "at it.",
        "Always put the young person first: do not search if it would add to the distress of "
        "the young person whose image has been shared. Record a decision not to search instead.",
    ),
    conditions=(
        Condition(
            "policies",
            "the search is in accordance with the school's child protection and safeguarding "
            "policies",
        ),
        Condition(
            "searcher", "the search will be done by me, or by the member of staff I name below"
        ),
        Condition("safeguarding_team", "a member of the safeguarding team will be present"),
        Condition("same_sex", "the person searching is of the same sex as the young person"),
        Condition(
            "distress",
            "searching will not cause additional distress to the young person whose image has "
            "been shared",
        ),
        Condition(
            "not_viewed",
            "the person searching knows not to view, send, share, save or print the image",
        ),
    ),
    young_person="Whose device may be searched?",
)

VIEWING = Decision(
    kind=ImageViewingAgreed,
    path="authorise-viewing",
    title="Agree to the image being viewed",
    check_heading="Check your answers before you agree to the image being viewed",
    button="Agree to the viewing",
    # The school policy, appendix 8, steps 3 and 4, and the national guidance (UKCIS, "Sharing
    # nudes and semi-nudes", 2020, updated 2024) on viewing.
    policy=(
        "Staff do not view the image. The school's policy and the national guidance allow it "
        "only when it is unavoidable, and then only under this protocol. Your agreement is for "
        "one viewing, by the DSL who has the case.",
        "The best interests of the young person come first: if viewing the image is likely to "
        "cause them additional distress, do not agree to it.",
    ),
    conditions=(
        Condition(
            "unavoidable", "viewing is unavoidable: there is a clear reason, which I give below"
        ),
        Condition("by_the_dsl", "only the DSL named below will view it"),
        Condition("senior_present", "another senior member of staff will be present"),
        Condition("premises", "it will be viewed on school premises"),
        Condition(
            "same_sex",
            "it will be viewed by someone of the same sex as the young person where possible, "
            "and the record will say why if not",
        ),
        Condition("distress", "viewing will not cause the young person additional distress"),
        Condition(
            "not_kept", "the image will not be copied, printed, sent, shared, saved or moved"
        ),
    ),
    young_person="Which young person is pictured?",
    from_case=(("dsl", "dsl"),),
    warnings=lambda case: (
        []
        if case.get("dsl")
        else [
            "No DSL has taken this case yet. Viewing is by the DSL who has the case: a DSL "
            "must take it first."
        ]
    ),
)


def recorders(kind: type[CaseEntry]) -> SignedIn:
    """The roles that may record ``kind``, as its declaration says."""
    return SignedIn(*(Role(role) for role in kind.RECORDED_BY))


SearchAuthoriser = Annotated[Principal, Depends(recorders(SearchAuthorised))]
ViewingAgreer = Annotated[Principal, Depends(recorders(ImageViewingAgreed))]


@router.get("/cases/{case_id}/authorise-search")
async def authorise_search_page(
    request: Request, case_id: UUID, principal: SearchAuthoriser
) -> Response:
    """Step 2: the conditions, then who may search whose device."""
    return await _first(request, case_id, principal, SEARCH)


@router.post("/cases/{case_id}/authorise-search")
async def authorise_search(
    request: Request, case_id: UUID, principal: SearchAuthoriser
) -> Response:
    """Step 2: checked, then checked again by the head, then recorded."""
    return await _answer(request, case_id, principal, SEARCH)


@router.get("/cases/{case_id}/authorise-viewing")
async def authorise_viewing_page(
    request: Request, case_id: UUID, principal: ViewingAgreer
) -> Response:
    """Step 3: the protocol's conditions, then which DSL may view which young person's image,
    and why it is unavoidable."""
    return await _first(request, case_id, principal, VIEWING)


@router.post("/cases/{case_id}/authorise-viewing")
async def authorise_viewing(request: Request, case_id: UUID, principal: ViewingAgreer) -> Response:
    """Step 3: checked, then checked again by the head, then recorded."""
    return await _answer(request, case_id, principal, VIEWING)


async def _case(request: Request, principal: Principal, case_id: UUID) -> dict[str, Any]:
    """Intake's case; a case of another school is not found (404), as one that does not
    exist."""
    case: dict[str, Any] = await clients_of(request).get(principal, "intake", f"/cases/{case_id}")
    return case


async def _first(
    request: Request, case_id: UUID, principal: Principal, decision: Decision
) -> Response:
    case = await _case(request, principal, case_id)
    values: dict[str, str | list[str]] = {
        name: case[key] for name, key in decision.from_case if case.get(key)
    }
    return _form_page(request, decision, case_id, case, values, set(), str(uuid.uuid4()))


async def _answer(
    request: Request, case_id: UUID, principal: Principal, decision: Decision
) -> Response:
    """One POST for the page's three moves, named by ``step``: ``check`` (from the form:
    refused, or "check your answers"), ``change`` (back to the form, as it was filled in) and
    ``record`` (from "check your answers": everything read and checked again, then sent)."""
    case = await _case(request, principal, case_id)
    sent = await request.form()
    form = decision.form(case)
    reading = form.read(sent)
    ticked = _ticked(sent, decision)
    key = str(sent.get("idempotency_key", ""))
    key = key if _KEY.match(key) else str(uuid.uuid4())
    step = sent.get("step", "check")
    if step == "change":
        return _form_page(request, decision, case_id, case, reading.values, ticked, key)
    unticked = {c.code: c.unticked for c in decision.conditions if c.code not in ticked}
    if unticked or reading.errors:
        return _form_page(
            request,
            decision,
            case_id,
            case,
            reading.values,
            ticked,
            key,
            unticked=unticked,
            errors=reading.errors,
        )
    if step != "record":
        return render(
            request,
            "authorise_check.html",
            decision=decision,
            case_id=case_id,
            case=case,
            answers=form.answers(reading.body),
            values=reading.values,
            key=key,
        )
    try:
        await clients_of(request).post(
            principal,
            "intake",
            f"/cases/{case_id}/{decision.kind.ROUTE}",
            json=reading.body,
            headers={"Idempotency-Key": key},
        )
    except Refused as refused:
        if refused.status not in (409, 422):
            raise
        named = {f.name for f in form}
        return _form_page(
            request,
            decision,
            case_id,
            case,
            reading.values,
            ticked,
            key,
            errors={k: v for k, v in refused.problems.items() if k in named},
            rules=[f"{k}: {v}" if k else v for k, v in refused.problems.items() if k not in named],
        )
    return RedirectResponse(
        f"/cases/{case_id}?done={decision.done}#step-{decision.kind.STEP}", status_code=303
    )


def _ticked(sent: MultiValued, decision: Decision) -> set[str]:
    codes = {c.code for c in decision.conditions}
    return {str(v) for v in sent.getlist("conditions")} & codes


def _form_page(
    request: Request,
    decision: Decision,
    case_id: UUID,
    case: dict[str, Any],
    values: dict[str, str | list[str]],
    ticked: set[str],
    key: str,
    *,
    unticked: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    rules: list[str] | None = None,
) -> Response:
    form = decision.form(case)
    unticked, errors, rules = unticked or {}, errors or {}, rules or []
    summary = [{"text": rule} for rule in rules]
    summary += [
        {"text": c.unticked, "href": f"#{c.id}"} for c in decision.conditions if c.code in unticked
    ]
    summary += form.error_links(errors)
    return render(
        request,
        "authorise.html",
        400 if summary else 200,
        decision=decision,
        case_id=case_id,
        case=case,
        form=form,
        values=values,
        ticked=ticked,
        unticked=unticked,
        errors=errors,
        summary=summary,
        warnings=decision.warnings(case),
        key=key,
    )


__all__ = ["SEARCH", "VIEWING", "Condition", "Decision", "router"]
