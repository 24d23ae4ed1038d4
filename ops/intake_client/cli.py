"""``safeguard intake``: record a disclosure from a school, even while intake is unreachable.

``record`` queues the disclosure on this machine and sends it; if intake cannot be reached it
stays queued, and ``flush`` sends everything queued, in the order it was recorded. ``queue``
lists what waits (never the summaries).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from ops.intake_client import (
    DisclosureQueue,
    IntakeClient,
    InvalidDisclosureError,
    Outcome,
    RecordResult,
)
from shared.contracts.intake import DisclosureRoute
from shared.settings import Settings

QUEUED_MESSAGE = "queued: will be sent when intake is reachable"

intake_app = typer.Typer(
    help="Record disclosures from a school, even while intake is unreachable (an offline queue).",
    no_args_is_help=True,
    add_completion=False,
)

UrlOption = Annotated[
    str | None,
    typer.Option("--url", help="Intake's base URL; default: http://SAFEGUARD_HOST:INTAKE_PORT."),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="SAFEGUARD_TOKEN",
        show_envvar=True,
        help="Bearer token (safeguard token issue).",
    ),
]
QueueDirOption = Annotated[
    Path | None,
    typer.Option(
        "--queue-dir", help="Where disclosures wait; default: SAFEGUARD_VAR_DIR/intake-queue."
    ),
]


def default_queue_dir() -> Path:
    return Settings().var_dir / "intake-queue"


def make_client(url: str | None, token: str | None, queue_dir: Path | None) -> IntakeClient:
    """The client the commands use (a test replaces this to talk to an in-process intake)."""
    if not token:
        typer.echo("error: no token: pass --token or set SAFEGUARD_TOKEN", err=True)
        raise typer.Exit(2)
    settings = Settings()
    base_url = url or settings.url_of("intake")
    try:
        return IntakeClient(base_url, token, queue_dir or default_queue_dir())
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None


def _describe(result: RecordResult) -> str:
    if result.delivered and result.case is not None:
        again = " (already recorded)" if result.outcome == Outcome.ALREADY_RECORDED else ""
        # The reference is what people say; the id is what a machine or a URL may need.
        return f"{result.case.reference} (case id {result.case.case_id}){again}"
    if result.outcome == Outcome.REJECTED:
        return f"rejected by intake ({result.status_code}): {result.reason}; kept in rejected/"
    return QUEUED_MESSAGE


@intake_app.command()
def record(
    school: Annotated[str, typer.Option(help="The school's code, e.g. OAK.")],
    route: Annotated[DisclosureRoute, typer.Option(help="How the school came to know.")],
    summary: Annotated[str, typer.Option(help="What was disclosed, in words. Never an image.")],
    occurred_at: Annotated[
        str | None,
        typer.Option(help="When it was disclosed, ISO 8601 with a zone; default: now."),
    ] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    queue_dir: QueueDirOption = None,
) -> None:
    """Record a disclosure; prints its reference and case id, or that it is queued."""
    when = None
    if occurred_at is not None:
        try:
            when = datetime.fromisoformat(occurred_at)
        except ValueError:
            typer.echo("error: --occurred-at must be an ISO 8601 date and time", err=True)
            raise typer.Exit(2) from None
    with make_client(url, token, queue_dir) as client:
        try:
            result = client.record_disclosure(school, route.value, summary, when)
        except InvalidDisclosureError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None
    typer.echo(_describe(result))
    if not result.delivered:
        # The key finds the entry in `safeguard intake queue` or rejected/.
        why = f": {result.reason}" if result.reason and result.outcome == Outcome.QUEUED else ""
        typer.echo(f"key {result.key}{why}", err=True)
    if result.outcome == Outcome.REJECTED:
        raise typer.Exit(1)


@intake_app.command()
def flush(
    url: UrlOption = None,
    token: TokenOption = None,
    queue_dir: QueueDirOption = None,
) -> None:
    """Send every queued disclosure, oldest first. Exit 1 if any is still queued or refused."""
    with make_client(url, token, queue_dir) as client:
        results = client.flush()
        left = len(client.queued())
    for result in results:
        why = f" ({result.reason})" if result.outcome == Outcome.QUEUED and result.reason else ""
        typer.echo(f"{result.key}: {_describe(result)}{why}")
    typer.echo(f"{sum(r.delivered for r in results)} sent, {left} still queued")
    if left or any(r.outcome == Outcome.REJECTED for r in results):
        raise typer.Exit(1)


@intake_app.command("queue")
def list_queue(queue_dir: QueueDirOption = None) -> None:
    """List the queued disclosures (key, school, when), oldest first; never their summaries."""
    queue = DisclosureQueue(queue_dir or default_queue_dir())
    entries = queue.entries()
    for entry in entries:
        d = entry.item.disclosure
        occurred = d.occurred_at.isoformat() if d.occurred_at else "-"
        typer.echo(f"{entry.key}  {d.school}  {occurred}")
    typer.echo(f"{len(entries)} queued")
    rejected = queue.rejected()
    if rejected:
        typer.echo(f"{len(rejected)} refused by intake, kept in {queue.rejected_dir}")
