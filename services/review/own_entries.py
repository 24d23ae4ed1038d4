"""Review's own entries: policy step 7 (containing the incident), step 8 (review and closure),
the child-protection file sent to a young person's new school and its receipt confirmed, and
every read of a case. Their kinds, the facts each keeps, and their words in the chronology.

Each is a :class:`~services.review.domain.CaseRecord` entry on subject ``review.<kind>`` whose
payload is ``{"facts": {...}, "key": "<user>:<Idempotency-Key>"}``: the facts as sent (codes and
words, never an image), and the key a retry is matched by.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Literal

# Step 7: containing the incident and managing pupil reaction.
SUPPORT_GIVEN = "support_given"
STAFF_INFORMED = "staff_informed"
PARENTS_SPOKEN_TO = "parents_spoken_to"
EDUCATION_SESSION = "education_session"
REMOVAL_HELP = "removal_help"
SITE_REMOVAL = "site_removal"
STEP_7 = (
    SUPPORT_GIVEN,
    STAFF_INFORMED,
    PARENTS_SPOKEN_TO,
    EDUCATION_SESSION,
    REMOVAL_HELP,
    SITE_REMOVAL,
)

# Step 8: reviewing outcomes and procedures; closing and reopening the case.
REVIEW_RECORDED = "review_recorded"
CASE_CLOSED = "case_closed"
CASE_REOPENED = "case_reopened"
STEP_8 = (REVIEW_RECORDED, CASE_CLOSED, CASE_REOPENED)

# Records (Keeping Children Safe in Education): the child-protection file moves with the young
# person to their new school, securely, with confirmation of receipt (services.review.transfer).
FILE_SENT = "child_protection_file_sent"
FILE_RECEIVED = "child_protection_file_received"
FILE_TRANSFER = (FILE_SENT, FILE_RECEIVED)

# The access log: who read the case, in which role, when, and what.
CASE_READ = "case_read"

OWN_KINDS = (*STEP_7, *STEP_8, *FILE_TRANSFER, CASE_READ)

REMOVAL_SERVICES = {
    "childline_iwf_report_remove": "Childline/IWF Report Remove",
    "ncmec_take_it_down": "NCMEC Take It Down",
}

SecureMethod = Literal[
    "secure_records_system", "secure_email", "hand_delivered", "recorded_delivery"
]
SECURE_METHODS: dict[str, str] = {
    "secure_records_system": "the schools' secure records system",
    "secure_email": "secure (encrypted) email",
    "hand_delivered": "hand delivery, signed for",
    "recorded_delivery": "recorded delivery, signed for",
}
"""How a child-protection file may be sent (the keys are :data:`SecureMethod`): securely, and so
that its delivery can be shown."""


def own_payload(facts: Mapping[str, Any], key: str = "") -> str:
    """An own entry's payload: its facts and the (user-scoped) idempotency key, as canonical
    JSON so that the hash chain covers exactly what was sent."""
    return json.dumps(
        {"facts": dict(facts), "key": key}, sort_keys=True, separators=(",", ":"), default=str
    )


def own_facts(payload: str) -> tuple[dict[str, Any], str]:
    """An own entry's facts and idempotency key, from its payload."""
    data = json.loads(payload) if payload else {}
    return dict(data.get("facts", {})), str(data.get("key", ""))


def summary(kind: str, facts: Mapping[str, Any]) -> str:
    """An own entry in words, for the chronology."""
    return _SUMMARIES[kind](facts)


def _support(f: Mapping[str, Any]) -> str:
    return f"Support for {f['pseudonym']} ({_words(f['kind'])}) by {f['given_by']}: {f['detail']}"


def _staff(f: Mapping[str, Any]) -> str:
    return f"Staff informed ({f['staff']}): {f['what_and_why']}"


def _parents(f: Mapping[str, Any]) -> str:
    return (
        f"Parents or carers of {f['pseudonym']} spoken to ({f['with_whom']}, {_words(f['how'])}): "
        f"{f['what_was_said']}"
    )


def _education(f: Mapping[str, Any]) -> str:
    return f"Education session for {f['audience']}, by {f['delivered_by']}: {f['topic']}"


def _removal_help(f: Mapping[str, Any]) -> str:
    text = f"{REMOVAL_SERVICES[f['service']]} {f['status']} for {f['pseudonym']}"
    return f"{text}; note: {f['note']}" if f.get("note") else text


def _site_removal(f: Mapping[str, Any]) -> str:
    text = f"Removal from {f['site']}: {f['status']}"
    if f.get("their_reference"):
        text += f", the site's reference {f['their_reference']}"
    return f"{text}; note: {f['note']}" if f.get("note") else text


def _review(f: Mapping[str, Any]) -> str:
    return (
        f"Review of outcomes and procedures: worked: {f['what_worked']}; did not: "
        f"{f['what_did_not_work']}; changes to procedure: {f['procedure_changes']}"
    )


def _closed(f: Mapping[str, Any]) -> str:
    return f"Case closed: {f['note']}" if f.get("note") else "Case closed"


def _reopened(f: Mapping[str, Any]) -> str:
    return f"Case reopened: {f['reason']}"


def _file_sent(f: Mapping[str, Any]) -> str:
    text = (
        f"Child-protection file of {f['pseudonym']} sent to {f['to_school']}, "
        f"for {f['to_whom']}, by {SECURE_METHODS[f['method']]}"
    )
    return f"{text}; note: {f['note']}" if f.get("note") else text


def _file_received(f: Mapping[str, Any]) -> str:
    which = f" (the file sent in entry {f['transfer']})" if f.get("transfer") else ""
    text = f"Receipt of the child-protection file{which} confirmed by {f['confirmed_by']}"
    return f"{text}; note: {f['note']}" if f.get("note") else text


def _read(f: Mapping[str, Any]) -> str:
    text = f"{_words(f['what'])} read"
    return f"{text}, as it stood at {f['as_of']}" if f.get("as_of") else text


_SUMMARIES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    SUPPORT_GIVEN: _support,
    STAFF_INFORMED: _staff,
    PARENTS_SPOKEN_TO: _parents,
    EDUCATION_SESSION: _education,
    REMOVAL_HELP: _removal_help,
    SITE_REMOVAL: _site_removal,
    REVIEW_RECORDED: _review,
    CASE_CLOSED: _closed,
    CASE_REOPENED: _reopened,
    FILE_SENT: _file_sent,
    FILE_RECEIVED: _file_received,
    CASE_READ: _read,
}


def _words(code: str) -> str:
    return code.replace("_", " ")
