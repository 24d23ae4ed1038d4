"""Referral's domain, by the policy's steps: :mod:`.response` (step 5: the risk assessment,
the DSL's classification, safeguards) and :mod:`.agencies` (step 6: each action done or
declined, the police's outcome); :mod:`.referral` holds the case they are recorded on, with its
assessments (:mod:`services.referral.policy`), its actions (:mod:`.actions`) and their
deadlines (:mod:`.deadlines`); :mod:`.notices` the notices sent about them.

The events a store holds from before issue 13 name the classes where this module held them
all (``services.referral.domain:Referral.RiskAssessed``): below, each of those topics is
registered to the class that holds the kind now, and those events load unchanged.
"""

from __future__ import annotations

from services.referral.domain.actions import Action, ActionError
from services.referral.domain.agencies import (
    STEP_6,
    ActionCompleted,
    ActionDeclined,
    PoliceOutcomeRecorded,
)
from services.referral.domain.referral import Referral, outcome_of
from services.referral.domain.response import (
    STEP_5,
    ClassificationOverridden,
    RiskAssessed,
    SafeguardRecorded,
)
from shared.entries import CaseEntry
from shared.topics import moved

__all__ = [
    "ENTRY_KINDS",
    "Action",
    "ActionCompleted",
    "ActionDeclined",
    "ActionError",
    "ClassificationOverridden",
    "PoliceOutcomeRecorded",
    "Referral",
    "RiskAssessed",
    "SafeguardRecorded",
    "outcome_of",
]

ENTRY_KINDS: tuple[type[CaseEntry], ...] = (*STEP_5, *STEP_6)
"""Every kind of entry referral records, in the policy's order."""

_BEFORE_ISSUE_13 = "services.referral.domain:"
for _moved in (Referral, Referral.Opened, Referral.AssessmentRecorded, Referral.ActionEscalated):
    moved(_BEFORE_ISSUE_13 + _moved.__qualname__, _moved)
_KINDS_BEFORE_ISSUE_13 = (
    RiskAssessed,
    ClassificationOverridden,
    SafeguardRecorded,
    ActionCompleted,
    ActionDeclined,
    PoliceOutcomeRecorded,
)
for _kind in _KINDS_BEFORE_ISSUE_13:
    moved(f"{_BEFORE_ISSUE_13}Referral.{_kind.__name__}", _kind)
