"""A deployment for fault tests: the three services as real processes, a client that records
work the way a school would (retrying with the same Idempotency-Key until it is recorded), a
watch on every /readyz, and the checks every fault test ends with: each case reached referral
and review exactly once, in order."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from ops.demo import DEMO_RISK as RISK
from ops.demo import DEMO_TRIAGE as TRIAGE
from shared.embedded_nats import free_port
from shared.identity import Role
from shared.settings import SERVICE_NAMES, Settings
from tests.conftest import StoreChoice
from tests.e2e.conftest import Services

RETRYABLE = {404, 502, 503, 504}
"""Answers a client waits out: a service not up yet (or, for referral, a case it has not yet
heard of), a store or the server's own write in the way."""


@dataclass
class Readiness:
    """Every /readyz answer seen while watching: (seconds since start, status or 0 if down)."""

    seen: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))

    def statuses(self, name: str) -> set[int]:
        return {status for _, status in self.seen[name]}


class Deployment(Services):
    """The three services on one store and one NATS, and a school's client of them."""

    def __init__(
        self, settings: Settings, log_dir: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        env = {"SAFEGUARD_STALL_SECONDS": "2", "SAFEGUARD_CONSUMER_BACKOFF_SECONDS": "0.1"}
        super().__init__(settings, log_dir, {**env, **(extra_env or {})})
        self.http = httpx.Client(timeout=10)
        self.staff = self.bearer(Role.STAFF, ["OAK"], "staff.fault")
        self.dsl = self.bearer(Role.DSL, ["OAK"], "dsl.fault")
        self.decided: set[str] = set()
        self._watching = threading.Event()
        self._watches: list[threading.Thread] = []
        self.readiness = Readiness()

    def close(self) -> None:
        self.unwatch()
        self.http.close()

    # --- the processes --------------------------------------------------------------------

    def stop_cleanly(self, *names: str) -> dict[str, int]:
        """SIGTERM, as Docker sends; each service's exit code."""
        codes = {}
        for name in names or list(self.processes):
            process = self.processes.pop(name)
            process.terminate()
            codes[name] = process.wait(timeout=30)
        return codes

    def status(self) -> subprocess.CompletedProcess[str]:
        """``safeguard status`` against this deployment, as an operator runs it."""
        return subprocess.run(
            [sys.executable, "-m", "ops.cli", "status"],
            env={**self.env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def ready(self, name: str) -> int:
        """The status of ``name``'s /readyz, or 0 if it does not answer."""
        try:
            return self.http.get(f"{self.url(name)}/readyz", timeout=2).status_code
        except httpx.TransportError:
            return 0

    def readyz(self, name: str) -> dict[str, Any]:
        report: dict[str, Any] = self.http.get(f"{self.url(name)}/readyz", timeout=5).json()
        return report

    def wait_ready(self, *names: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(names or SERVICE_NAMES)
        while waiting and time.monotonic() < deadline:
            waiting = [n for n in waiting if self.ready(n) != 200]
            time.sleep(0.1)
        if waiting:
            reports = {n: self._report_or_log(n) for n in waiting}
            raise AssertionError(f"not ready within {timeout}s: {reports}")

    def not_ready(self, name: str, naming: str = "", timeout: float = 20.0) -> dict[str, Any]:
        """The first /readyz report of ``name`` that says 503 with a problem that contains
        ``naming``, within ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                r = self.http.get(f"{self.url(name)}/readyz", timeout=2)
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code == 503:
                report: dict[str, Any] = r.json()
                if any(naming in problem for problem in report["problems"]):
                    return report
            time.sleep(0.05)
        raise AssertionError(f"{name} did not say 503 ({naming!r}) within {timeout}s")

    def _report_or_log(self, name: str) -> object:
        if name not in self.processes:
            return "not started"
        try:
            return self.readyz(name).get("problems")
        except (httpx.HTTPError, ValueError):
            return self.log(name)[-1500:]

    def watch(self, interval: float = 0.1) -> Readiness:
        """Record every service's /readyz from now until :meth:`unwatch`."""
        self.readiness = Readiness()
        self._watching.set()
        start = time.monotonic()

        def run(name: str) -> None:
            # One thread a service, so that one slow answer does not hide the others'.
            with httpx.Client(timeout=5) as client:
                while self._watching.is_set():
                    try:
                        status = client.get(f"{self.url(name)}/readyz").status_code
                    except httpx.TransportError:
                        status = 0
                    self.readiness.seen[name].append((time.monotonic() - start, status))
                    time.sleep(interval)

        self._watches = [
            threading.Thread(target=run, args=(n,), daemon=True) for n in SERVICE_NAMES
        ]
        for thread in self._watches:
            thread.start()
        return self.readiness

    def unwatch(self) -> None:
        self._watching.clear()
        for thread in self._watches:
            thread.join(timeout=10)
        self._watches = []

    # --- the work -------------------------------------------------------------------------

    def post(
        self,
        service: str,
        path: str,
        body: dict[str, Any],
        key: str,
        headers: dict[str, str],
        *,
        within: float = 90.0,
    ) -> dict[str, Any]:
        """POST until it is recorded, as a school's client does: the same Idempotency-Key
        each time, through refusals to connect, 5xx and (for a case not yet known) 404."""
        deadline = time.monotonic() + within
        last = ""
        while time.monotonic() < deadline:
            try:
                r = self.http.post(
                    f"{self.url(service)}{path}",
                    json=body,
                    headers={**headers, "Idempotency-Key": key},
                )
            except httpx.TransportError as e:
                last = f"{type(e).__name__}"
            else:
                if r.status_code in (200, 201):
                    answer: dict[str, Any] = r.json()
                    return answer
                if r.status_code not in RETRYABLE:
                    raise AssertionError(f"POST {service}{path}: {r.status_code} {r.text}")
                last = f"{r.status_code} {r.text[:200]}"
            time.sleep(0.1)
        raise AssertionError(f"POST {service}{path} not recorded within {within}s: {last}")

    def disclose(self, n: int, label: str) -> list[str]:
        """``n`` invented disclosures, each recorded once; their case ids, in order."""
        return [self.disclose_one(i, label) for i in range(n)]

    def disclose_concurrently(
        self, n: int, label: str, *, clients: int = 4, on_progress: Any = None
    ) -> list[str]:
        """``n`` disclosures sent by ``clients`` schools' clients at once, each retried until
        it is recorded; ``on_progress(recorded)`` is called after each (from the clients'
        threads). The case ids, in the order of their labels."""
        found: dict[int, str] = {}
        lock = threading.Lock()
        failures: list[BaseException] = []

        def client(first: int) -> None:
            try:
                with httpx.Client(timeout=10) as http:
                    for i in range(first, n, clients):
                        case_id = self.disclose_one(i, label, http)
                        with lock:
                            found[i] = case_id
                            done = len(found)
                        if on_progress is not None:
                            on_progress(done)
            except BaseException as e:  # reported by the test's thread below
                failures.append(e)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        return [found[i] for i in range(n)]

    def disclose_one(self, i: int, label: str, http: httpx.Client | None = None) -> str:
        """Disclosure ``i`` of ``label``, sent until it is recorded (through ``http``, so
        that several schools' clients can send at once, each on its own connection)."""
        http = http or self.http
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                r = http.post(
                    f"{self.url('intake')}/cases",
                    json={
                        "school": "OAK",
                        "disclosure_route": "peer",
                        "summary": f"Invented disclosure {label} number {i}",
                    },
                    headers={**self.staff, "Idempotency-Key": f"{label}-{i}"},
                )
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if r.status_code in (200, 201):
                return str(r.json()["case_id"])
            if r.status_code not in RETRYABLE:
                raise AssertionError(f"POST /cases: {r.status_code} {r.text}")
            time.sleep(0.1)
        raise AssertionError(f"disclosure {label}-{i} not recorded within 120 s")

    def decide(self, case_ids: list[str], label: str) -> None:
        """The DSL's decisions on each case: the step 1 triage at intake, the step 5 risk
        assessment at referral (once referral has the case)."""
        for case_id in case_ids:
            self.post(
                "intake", f"/cases/{case_id}/triage", TRIAGE, f"{label}-t-{case_id}", self.dsl
            )
            self.post(
                "referral",
                f"/cases/{case_id}/risk-assessments",
                RISK,
                f"{label}-r-{case_id}",
                self.dsl,
            )
            self.decided.add(case_id)

    def new_work(self, label: str, n: int = 3) -> list[str]:
        """New disclosures with the DSL's decisions on each: the work after a fault."""
        case_ids = self.disclose(n, label)
        self.decide(case_ids, label)
        return case_ids

    # --- the checks -----------------------------------------------------------------------

    def chronology(self, case_id: str) -> list[dict[str, Any]]:
        r = self.http.get(f"{self.url('review')}/cases/{case_id}/chronology", headers=self.dsl)
        if r.status_code != 200:
            return []
        entries: list[dict[str, Any]] = r.json()["entries"]
        return entries

    def flowed(self, case_id: str) -> str:
        """Why ``case_id`` has not (yet) reached referral and review as it should; "" if it has.

        In review, every entry from upstream is there exactly once (its source, the upstream
        message, is unique) and in upstream order; the disclosure, and for a decided case the
        triage and the risk assessment, each once; the assessment referral made of each.
        In referral, one assessment for each intake message about the case, numbered 1, 2, ...
        """
        entries = [e for e in self.chronology(case_id) if e["kind"] != "case_read"]
        kinds = [e["kind"] for e in entries]
        expected = {"disclosure_recorded": 1}
        if case_id in self.decided:
            expected |= {"triage_recorded": 1, "risk_assessed": 1}
        for kind, count in expected.items():
            if kinds.count(kind) != count:
                return f"review has {kinds.count(kind)} {kind}, not {count}: {kinds}"
        sources = [e["source"] for e in entries if ":" in e["source"]]
        if len(sources) != len(set(sources)):
            return f"review applied a message twice: {sources}"
        by_producer: dict[str, list[int]] = defaultdict(list)
        for source in sources:
            producer, position = source.split(":")
            by_producer[producer].append(int(position))
        if any(positions != sorted(positions) for positions in by_producer.values()):
            return f"review's entries are out of upstream order: {sources}"
        r = self.http.get(f"{self.url('referral')}/cases/{case_id}/assessments", headers=self.dsl)
        if r.status_code != 200:
            return f"referral answers {r.status_code}"
        assessments = r.json()["assessments"]
        numbers = [a["number"] for a in assessments]
        if numbers != list(range(1, len(numbers) + 1)):
            return f"referral's assessments are numbered {numbers}"
        from_intake = [a["caused_by"] for a in assessments if a["caused_by"].startswith("intake:")]
        intake_messages = 1 + (case_id in self.decided)
        if len(from_intake) != intake_messages or len(set(from_intake)) != len(from_intake):
            return f"referral assessed intake's messages {from_intake}, not {intake_messages}"
        if kinds.count("assessment_recorded") != len(assessments):
            return (
                f"review has {kinds.count('assessment_recorded')} assessments of {len(assessments)}"
            )
        return ""

    def wait_flowed(self, case_ids: list[str], timeout: float = 60.0) -> None:
        """Wait until every case has reached referral and review exactly once, in order."""
        deadline = time.monotonic() + timeout
        waiting = list(case_ids)
        why = ""
        while waiting and time.monotonic() < deadline:
            why = self.flowed(waiting[0])
            if not why:
                waiting.pop(0)
            else:
                time.sleep(0.2)
        if waiting:
            raise AssertionError(
                f"{len(waiting)} of {len(case_ids)} cases did not flow within {timeout}s; "
                f"the first: {why}; readiness: "
                f"{ {n: self._report_or_log(n) for n in SERVICE_NAMES} }"
            )

    def check_stores(self, case_ids: list[str]) -> None:
        """After the services have stopped: from referral's and review's own stores, each of
        ``case_ids`` (disclosures without decisions) was applied exactly once, in order."""
        from services.referral.application import Referrals
        from services.review.application import Reviews
        from shared.store import application_env

        referrals = Referrals(application_env(self.settings, "referral"))
        reviews = Reviews(application_env(self.settings, "review"))
        try:
            problems = []
            for case_id in map(UUID, case_ids):
                caused = [a.caused_by for a in referrals.get_referral(case_id).assessments]
                if caused[:1] != [c for c in caused if c.startswith("intake:")]:
                    problems.append(f"{case_id}: referral assessed {caused}")
                entries = reviews.get_case(case_id).entries
                sources = [e.source for e in entries if ":" in e.source]
                kinds = [e.kind for e in entries]
                if (
                    kinds.count("disclosure_recorded") != 1
                    or len(set(sources)) != len(sources)
                    or kinds.count("assessment_recorded") != len(caused)
                ):
                    problems.append(
                        f"{case_id}: review has {[(e.kind, e.source) for e in entries]}"
                    )
            assert not problems, f"{len(problems)} cases wrong; the first: {problems[:3]}"
        finally:
            referrals.close()
            reviews.close()


def fault_settings(store: StoreChoice, nats_url: str, **overrides: object) -> Settings:
    """The settings every fault test's services run with: their own ports, quick redelivery."""
    return store.settings(
        nats_url=nats_url,
        intake_port=free_port(),
        referral_port=free_port(),
        review_port=free_port(),
        consumer_ack_wait_seconds=2.0,
        **overrides,
    )


@contextmanager
def running(
    settings: Settings, log_dir: Path, extra_env: dict[str, str] | None = None, *names: str
) -> Iterator[Deployment]:
    """A deployment of ``names`` (default: all three) started, and stopped afterwards."""
    deployment = Deployment(settings, log_dir, extra_env)
    deployment.start(*names)
    try:
        yield deployment
    finally:
        deployment.close()
        deployment.stop()
