"""``safeguard status``: each service's ``/readyz`` as one table a person reads at a glance.

One row per background task of each service (its state, restarts, lag and last error), then
each problem that makes a service not ready, then each case that needs a person's attention
(a message about it set aside as a dead letter). Exit 0 when all three are ready, else 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from shared.settings import SERVICE_NAMES, Settings


@dataclass(frozen=True)
class ServiceStatus:
    """What one service's ``/readyz`` said, or why it could not be asked."""

    name: str
    url: str
    ready: bool
    report: dict[str, Any]
    unreachable: str = ""

    @property
    def problems(self) -> list[str]:
        if self.unreachable:
            return [self.unreachable]
        return [str(p) for p in self.report.get("problems", [])]


def read_status(settings: Settings, timeout: float = 5.0) -> list[ServiceStatus]:
    """Ask each service's ``/readyz``."""
    found = []
    with httpx.Client(timeout=timeout) as client:
        for name in SERVICE_NAMES:
            url = settings.url_of(name)
            try:
                response = client.get(f"{url}/readyz")
                report = response.json()
            except (httpx.HTTPError, ValueError) as e:
                why = f"not answering at {url} ({type(e).__name__}): is `safeguard up` running?"
                found.append(ServiceStatus(name, url, False, {}, why))
                continue
            found.append(ServiceStatus(name, url, response.status_code == 200, report))
    return found


def show_status(statuses: list[ServiceStatus], console: Console) -> None:
    table = Table(title="safeguard status", title_justify="left")
    for column in ("service", "ready", "task", "state", "restarts", "waiting", "stalled"):
        table.add_column(column, justify="right" if column in ("restarts", "waiting") else "left")
    table.add_column("last error", overflow="fold")
    for status in statuses:
        ready = "[green]ready[/]" if status.ready else "[bold red]NOT READY[/]"
        tasks: dict[str, dict[str, Any]] = status.report.get("tasks", {})
        if not tasks:
            table.add_row(status.name, ready, "-", "-", "", "", "", escape(status.problems[0]))
        for i, (task, t) in enumerate(tasks.items()):
            state = t.get("state", "?")
            waiting = t.get("lag_events")
            table.add_row(
                status.name if i == 0 else "",
                ready if i == 0 else "",
                escape(task),
                state if state == "running" else f"[red]{state}[/]",
                str(t.get("restarts", 0)),
                "?" if waiting is None else f"{waiting:,}",
                f"{t.get('lag_seconds', 0):.0f} s" if t.get("lag_seconds") else "",
                escape(str(t.get("last_error") or "")),
            )
        table.add_section()
    console.print(table)
    problems = [(s.name, p) for s in statuses for p in s.problems]
    if problems:
        console.print("[bold]Not ready because:[/]")
        for name, problem in problems:
            console.print(f"  {name}: {problem}", highlight=False, markup=False)
    attention = [(s.name, a) for s in statuses for a in s.report.get("attention", [])]
    if attention:
        console.print("[bold]Cases that need someone to look at them:[/]")
        for name, item in attention:
            case = item.get("case_id") or "(case not known)"
            console.print(
                f"  {name}: case {case}: {item.get('why', '')}", highlight=False, markup=False
            )
    if not problems:
        console.print("All three services are ready.")
