"""Concurrent disclosures at one school: every one recorded, references unique and gap-free."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from services.intake.application import Intake
from tests.conftest import StoreChoice


def record(app: Intake, i: int) -> str:
    incident, created = app.report_incident(
        school="OAK",
        disclosure_route="peer",
        summary=f"Invented {i}",
        recorded_by="staff.a",
        recorded_by_role="staff",
    )
    assert created
    return incident.reference


def test_threads_of_one_process_queue_for_references(store: StoreChoice) -> None:
    app = Intake(store.env("intake"))
    with ThreadPoolExecutor(8) as pool:
        references = list(pool.map(lambda i: record(app, i), range(80)))
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in references)
    assert numbers == list(range(1, 81))


def test_two_processes_on_one_store_never_share_a_reference(store: StoreChoice) -> None:
    # Two application instances stand for two intake processes: only the store arbitrates.
    apps = [Intake(store.env("intake")), Intake(store.env("intake"))]
    with ThreadPoolExecutor(4) as pool:
        references = list(pool.map(lambda i: record(apps[i % 2], i), range(60)))
    numbers = sorted(int(r.rsplit("-", 1)[1]) for r in references)
    assert numbers == list(range(1, 61))
