"""The ``safeguard`` command: run the services, issue tokens, drive the demo.

``safeguard up`` runs everything on the embedded defaults; ``safeguard serve NAME`` runs one
service; ``safeguard user add|reset|disable|show`` keeps the web pages' accounts;
``safeguard token issue`` makes a bearer token; ``safeguard demo`` walks an invented
case through the running services; ``safeguard audit verify`` checks every case's hash chain,
``safeguard audit replay`` every recorded assessment against its policy version;
``safeguard review rebuild`` rebuilds review's store from the streams and compares it with the
live one; ``safeguard status`` shows whether each service is ready, task by task.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ops.audit import audit_app
from ops.intake_client.cli import intake_app
from ops.users import user_app
from shared.identity import Role, TokenError, TokenService
from shared.settings import Settings
from shared.store import StoreConfigError, store_env
from shared.trust import TrustFileError, load_trust

if TYPE_CHECKING:
    from rich.progress import Progress

    from ops.rebuild import RebuildOutcome

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
token_app = typer.Typer(help="Bearer tokens for the embedded default.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(intake_app, name="intake")
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")
review_app = typer.Typer(help="Review's store, rebuilt from the streams.", no_args_is_help=True)
app.add_typer(review_app, name="review")


class ServiceName(StrEnum):
    INTAKE = "intake"
    REFERRAL = "referral"
    REVIEW = "review"


def configure_logging(process: str, level: str) -> None:
    """One readable stream: every line names the process it came from."""
    logging.basicConfig(
        level=level.upper(),
        format=f"%(asctime)s %(levelname)-7s {process:<8} %(name)s: %(message)s",
    )
    # nats-py logs every reconnect attempt at INFO; our own lines say what matters.
    logging.getLogger("nats").setLevel(logging.WARNING)


@app.command()
def up() -> None:
    """Start NATS (unless NATS_URL is set), the three services and the web pages; Ctrl-C
    stops them all."""
    from ops.runner import run_all

    settings = Settings()
    configure_logging("up", settings.log_level)
    raise typer.Exit(run_all(settings))


@app.command()
def web() -> None:
    """Run the web pages alone, on SAFEGUARD_WEB_PORT."""
    import uvicorn

    from services.web.app import AssetsMissingError, create_app

    settings = Settings()
    configure_logging("web", settings.log_level)
    try:
        pages = create_app()
    except AssetsMissingError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    signal.signal(signal.SIGTERM, _stop_as_interrupt)
    uvicorn.run(pages, host=settings.host, port=settings.web_port, log_config=None)


def _stop_as_interrupt(signum: int, frame: object) -> None:
    # uvicorn stops cleanly on SIGINT or SIGTERM (as Docker sends), then raises the signal
    # again for the handler it found: this one makes SIGTERM end as SIGINT does, in the
    # KeyboardInterrupt that uvicorn.run takes as a clean stop (exit code 0).
    raise KeyboardInterrupt


@app.command()
def serve(name: ServiceName) -> None:
    """Run one service alone, with its HTTP API on its own port."""
    import uvicorn

    from ops.runner import nats_for

    settings = Settings()
    configure_logging(name.value, settings.log_level)
    try:  # a mistake in the settings is one line, not a traceback from inside the server
        store_env(settings, name.value)
        load_trust(settings.trust_file)
    except (StoreConfigError, TrustFileError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None

    signal.signal(signal.SIGTERM, _stop_as_interrupt)
    with nats_for(settings) as url:
        settings = settings.model_copy(update={"nats_url": url})
        entrypoint = importlib.import_module(f"services.{name.value}.entrypoint")
        uvicorn.run(
            entrypoint.create_app(settings),
            host=settings.host,
            port=settings.port_of(name.value),
            log_config=None,
        )


@token_app.command("issue")
def issue_token(
    user: Annotated[str, typer.Option(help="The user's id.")],
    role: Annotated[Role, typer.Option(help="The user's role.")],
    school: Annotated[
        list[str] | None,
        typer.Option(help="A school code the user acts for (repeat; * for a trust-wide role)."),
    ] = None,
    hours: Annotated[float, typer.Option(min=0.01, max=24 * 30)] = 8.0,
) -> None:
    """Print a bearer token signed with this deployment's key, for schools of the trust."""
    from shared.identity import ALL_SCHOOLS

    settings = Settings()
    try:
        trust = load_trust(settings.trust_file)
    except TrustFileError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    # A mistyped code makes a token that opens nothing, found out only much later.
    codes = [s.code for s in trust.schools]
    if unknown := [s for s in school or [] if s != ALL_SCHOOLS and s not in codes]:
        typer.echo(
            f"error: no school {', '.join(unknown)} in {trust.name}; "
            f"its schools: {', '.join(codes)}",
            err=True,
        )
        raise typer.Exit(2)
    try:
        token = TokenService(settings).issue(
            user, role, list(school or []), ttl=timedelta(hours=hours)
        )
    except TokenError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    typer.echo(token)


@app.command()
def demo(
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each step.")] = 30.0,
) -> None:
    """Drive an invented case through the running services and print what each recorded."""
    from ops.demo import run_demo

    raise typer.Exit(run_demo(Settings(), timeout=timeout))


@app.command()
def status() -> None:
    """Each service's readiness, task by task: exit 0 when all three are ready, else 1."""
    from rich.console import Console

    from ops.status import read_status, show_status

    statuses = read_status(Settings())
    show_status(statuses, Console())
    raise typer.Exit(0 if all(s.ready for s in statuses) else 1)


@review_app.command("rebuild")
def review_rebuild(
    resume: Annotated[
        bool, typer.Option("--resume", help="Carry on an interrupted rebuild, not afresh.")
    ] = False,
    shares: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=32,
            help="Processes the cases are dealt to, the streams read once here and one more "
            "process writing (default: one per core, up to 4, from 20,000 messages).",
        ),
    ] = None,
) -> None:
    """Rebuild every review view from the streams into a fresh store beside the live one, then
    compare each case with the live store: exit 0 if all are the same, 1 naming each that
    differs."""
    from ops.rebuild import RebuildError, compare, live_env, rebuilt_store
    from ops.rebuild import review_head as head_of_review
    from services.review.application import Reviews

    settings = Settings()
    try:
        env = live_env(settings)
    except StoreConfigError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    live_file = env.get("SQLITE_DBNAME")
    if live_file and not Path(live_file).exists():
        typer.echo(f"error: no live review store at {live_file}", err=True)
        raise typer.Exit(2)
    try:
        outcome = _rebuild_with_progress(settings, resume=resume, shares=shares)
    except RebuildError as e:
        typer.echo(f"error: {e}; what was written stays: run again with --resume", err=True)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        typer.echo("interrupted; what was written stays: run again with --resume", err=True)
        raise typer.Exit(130) from None
    live, rebuilt = Reviews(env), rebuilt_store(settings)
    try:
        with _progress(transient=True) as bar:
            task = bar.add_task("comparing with the live store", total=None)
            comparison = compare(
                live, rebuilt, head_of_review(outcome.heads), lambda: bar.advance(task)
            )
    finally:
        live.close()
        rebuilt.close()
    for upstream, (live_at, rebuilt_at) in comparison.positions.items():
        if live_at != rebuilt_at:
            typer.echo(
                f"note: the live store has applied {upstream} to position {live_at}, "
                f"the rebuild to {rebuilt_at}: entries past the lower are left out"
            )
    if comparison.left_out_live or comparison.left_out_rebuilt:
        typer.echo(
            f"left out: {comparison.left_out_live} live entries and "
            f"{comparison.left_out_rebuilt} rebuilt entries that the other store cannot have yet"
        )
    for difference in comparison.differences:
        typer.echo(f"DIFFERS {difference.reference} ({difference.case_id}): {difference.problem}")
    if comparison.differences:
        typer.echo(f"{comparison.cases} cases compared, {len(comparison.differences)} differ")
        raise typer.Exit(1)
    typer.echo(f"{comparison.cases} cases compared: the same")


def _progress(*, transient: bool = False) -> Progress:
    """A progress bar on stderr: what is being done, how far, and how long is left."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress

    return RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=transient,
    )


def _rebuild_with_progress(
    settings: Settings, *, resume: bool, shares: int | None
) -> RebuildOutcome:
    """Run the rebuild with a progress bar, and say what it read, wrote and how fast."""
    from ops.rebuild import rebuild, rebuild_settings
    from ops.runner import nats_for

    with nats_for(settings) as url, _progress() as bar:
        task = bar.add_task("rebuilding review from the streams", total=None)
        outcome = asyncio.run(
            rebuild(
                settings,
                url,
                resume=resume,
                shares=shares,
                progress=lambda n: bar.advance(task, n),
                total=lambda n: bar.update(task, total=n),
            )
        )
    target = rebuild_settings(settings)
    where = target.database_schema_prefix + "review" if settings.database_url else target.var_dir
    typer.echo(
        f"rebuilt {outcome.messages:,} stream messages ({outcome.stored:,} events stored) into "
        f"{where} in {outcome.seconds:.1f} s: {outcome.messages_per_second:,.0f} events/s "
        f"({outcome.shares} {'share' if outcome.shares == 1 else 'shares'})"
    )
    for unreadable in outcome.unreadable:
        typer.echo(f"UNREADABLE {unreadable}: not applied (the live service dead-letters it)")
    return outcome


def main() -> None:
    app()


if __name__ == "__main__":
    main()
