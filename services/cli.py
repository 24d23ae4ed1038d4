"""The ``safeguard`` command: run the services, issue tokens, drive the demo.

``safeguard up`` runs everything on the embedded defaults; ``safeguard serve NAME`` runs one
service; ``safeguard token issue`` makes a bearer token; ``safeguard demo`` walks an invented
case through the running services; ``safeguard audit verify`` checks every case's hash chain.
"""

from __future__ import annotations

import importlib
import logging
from datetime import timedelta
from enum import StrEnum
from typing import Annotated

import typer

from services.audit_cli import audit_app
from services.intake.client_cli import intake_app
from shared.identity import Role, TokenError, TokenService
from shared.settings import Settings
from shared.store import StoreConfigError, store_env
from shared.trust import TrustFileError, load_trust

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
token_app = typer.Typer(help="Bearer tokens for the embedded default.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(intake_app, name="intake")
app.add_typer(audit_app, name="audit")


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
    # faststream and nats log every reconnect attempt at INFO; our own lines say what matters.
    logging.getLogger("nats").setLevel(logging.WARNING)


@app.command()
def up() -> None:
    """Start NATS (unless NATS_URL is set) and the three services; Ctrl-C stops them all."""
    from services.runner import run_all

    settings = Settings()
    configure_logging("up", settings.log_level)
    raise typer.Exit(run_all(settings))


@app.command()
def serve(name: ServiceName) -> None:
    """Run one service alone, with its HTTP API on its own port."""
    import uvicorn

    from services.runner import nats_for

    settings = Settings()
    configure_logging(name.value, settings.log_level)
    try:  # a mistake in the settings is one line, not a traceback from inside the server
        store_env(settings, name.value)
        load_trust(settings.trust_file)
    except (StoreConfigError, TrustFileError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
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
    """Print a bearer token signed with this deployment's key."""
    try:
        token = TokenService(Settings()).issue(
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
    from services.demo import run_demo

    raise typer.Exit(run_demo(Settings(), timeout=timeout))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
