"""Every kind of entry of steps 5 and 6: one ``POST`` each, made from the kind's declaration
in the domain (:func:`shared.entry_routes.add_entry_routes`), with ``Idempotency-Key`` and
``If-Match``; the domain refuses (422) what the policy does not allow, naming the rule."""

from __future__ import annotations

from services.referral.domain import ENTRY_KINDS
from services.referral.entrypoint.common import record, router
from shared.entry_routes import add_entry_routes

add_entry_routes(router, ENTRY_KINDS, record=record)
