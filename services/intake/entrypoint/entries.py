"""Every kind of entry of steps 1 to 4 that is sent as it is kept: one ``POST`` each, made
from the kind's declaration in the domain (:func:`shared.entry_routes.add_entry_routes`), with
``Idempotency-Key`` and ``If-Match``; the domain refuses (422) what the policy does not allow,
naming the rule. Triage and the young people have routes of their own (:mod:`.triage`,
:mod:`.young_people`): what is sent there is shaped otherwise than what is kept."""

from __future__ import annotations

from operator import attrgetter

from services.intake.domain import ENTRY_KINDS, LeadershipInformed, TriageRecorded
from services.intake.domain import YoungPersonRecorded as YoungPersonRecorded
from services.intake.entrypoint.common import RECORDERS, record, router, visible_incident
from shared.entry_routes import add_entry_routes, entry_out
from shared.http import add_list_route

add_entry_routes(
    router,
    [kind for kind in ENTRY_KINDS if kind not in (TriageRecorded, YoungPersonRecorded)],
    record=record,
)

InformedOut = entry_out(LeadershipInformed)


add_list_route(
    router,
    "/cases/{case_id}/informed",
    InformedOut,
    who=RECORDERS,
    case=visible_incident,
    entries=attrgetter("informed"),
    name="get_informed",
    description="Everyone recorded as told of the incident, oldest first.",
)
