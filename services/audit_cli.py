"""``safeguard audit``: an auditor's checks of the stored record.

``verify`` walks every case's hash chain in review's store and names each break (case, entry).
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import Progress

from shared.settings import Settings
from shared.store import StoreConfigError, store_env

audit_app = typer.Typer(help="Check the stored record.", no_args_is_help=True)


@audit_app.command()
def verify() -> None:
    """Check every case's hash chain, from the stored events; exit 1 naming each break."""
    from services.review.application import Reviews

    console = Console(stderr=True)
    try:
        reviews = Reviews(store_env(Settings(), "review"))
    except StoreConfigError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    breaks = 0
    checked = 0
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("verifying case chains", total=None)
            for case_id in reviews.case_ids():
                found = reviews.verify(case_id)
                checked += 1
                progress.advance(task)
                if found is not None:
                    breaks += 1
                    reference = reviews.get_case(case_id).reference
                    typer.echo(
                        f"BROKEN {reference} ({case_id}) entry {found.number}: {found.problem}"
                    )
    finally:
        reviews.close()
    typer.echo(f"{checked} cases checked, {breaks} broken")
    raise typer.Exit(1 if breaks else 0)
