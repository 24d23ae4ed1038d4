"""The words every service uses for the same things, each defined once: a young person's
pseudonym, words a person writes, the sexes the protocols compare, where copies are deleted
from.

Each is an ``Annotated`` type: to the domain it is a plain ``str`` (or ``list``, or a
``Literal``), and the metadata (lengths, the pattern, the refusal of an image) is read only where
a request is checked, by pydantic. So a kind of entry declared in a domain module with these
types (see :class:`shared.entries.CaseEntry`) gives its HTTP model with nothing written again.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from annotated_types import MaxLen, MinLen
from pydantic import AfterValidator, Field
from typing_extensions import Doc

from shared.imagery import FreeText

__all__ = [
    "PSEUDONYM",
    "Audience",
    "ContainmentAction",
    "CustodyAction",
    "Doc",
    "HowTold",
    "LongNote",
    "LongWords",
    "Name",
    "Note",
    "Place",
    "Pseudonym",
    "PseudonymOrNone",
    "SearchOutcome",
    "Sex",
    "ViewerSex",
    "Vulnerability",
    "Words",
    "YoungPersonRole",
    "is_pseudonym",
]


def _not_blank(text: str) -> str:
    if not text.strip():
        msg = "must say something, in words"
        raise ValueError(msg)
    return text


PSEUDONYM = r"^[A-Za-z0-9][A-Za-z0-9-]{1,39}$"
Pseudonym = Annotated[str, Field(pattern=PSEUDONYM, examples=["YP-2"])]
"""A young person's pseudonymous reference on the case (``YP-2``), never a name."""


def is_pseudonym(text: str) -> bool:
    """Whether ``text`` is a pseudonymous reference (2 to 40 letters, digits or hyphens)."""
    return re.match(PSEUDONYM, text) is not None


PseudonymOrNone = Literal[""] | Pseudonym
"""A young person's pseudonym, or empty where the entry is no young person's."""

Name = Annotated[FreeText, MinLen(1), MaxLen(200)]
"""Who or what, in a few words: a member of staff, a device, a site, a seal number."""

_Written = Annotated[FreeText, MinLen(1), AfterValidator(_not_blank)]
Words = Annotated[_Written, MaxLen(2000)]
"""Words that must be there (a fact, a reason), never blank, never an image."""
LongWords = Annotated[_Written, MaxLen(4000)]
"""Words that must be there, at more length: an account of support, a review."""

Note = Annotated[FreeText, MaxLen(2000)]
"""Words that may be left out; never an image."""
LongNote = Annotated[FreeText, MaxLen(4000)]

# Step 1: the young people involved.
Sex = Literal["female", "male", "not_recorded"]
"""A young person's sex as recorded, for the protocols that compare it."""
Vulnerability = Literal[
    "special_educational_needs",
    "looked_after",
    "child_protection_plan",
    "child_in_need",
    "young_carer",
    "other",
]
YoungPersonRole = Literal["pictured", "sender", "recipient", "forwarder", "discloser"]
"""What a young person did, or had done to them, in the incident."""

# Step 2: a device search.
ViewerSex = Literal["female", "male"]
"""The sex of a member of staff who searches a device or views an image."""
SearchOutcome = Literal[
    "nothing_found", "inappropriate_content", "potentially_illegal_imagery_suspected"
]

# Step 3: the image.
CustodyAction = Literal["confiscated", "transferred", "handed_to_police"]
ContainmentAction = Literal["network_blocked", "image_isolated"]
Place = Literal["devices", "cloud_storage", "social_media_accounts"]
"""Where a young person is asked to delete every copy from."""

# Steps 5 and 6: the actions the referral policy requires, recommends or leaves to the DSL.
Action = Literal[
    "police",
    "ceop",
    "childrens_social_care",
    "parents_or_carers",
    "hosting_site",
    "senior_management",
    "dsl_record",
]

# Step 4: who deals with it.
Audience = Literal["dsl", "senior_management"]
HowTold = Literal["in_person", "phone", "written"]
