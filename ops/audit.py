"""``safeguard audit``: an auditor's checks of the stored record.

``verify`` walks every case's hash chain in review's store and names each break (case, entry).
``replay`` re-runs every assessment in referral's store under the policy version it was made
under, over the facts it read, and names each decision that does not come out the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import Progress

from shared.settings import Settings
from shared.store import StoreConfigError, store_env

if TYPE_CHECKING:
    from ops.replay import Replay

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


@audit_app.command()
def replay() -> None:
    """Re-run each assessment's policy version over the facts it read; exit 1 naming each
    decision that differs, and each policy version this build no longer has."""
    from ops.replay import Tally, case_ids, replay_case
    from services.referral.application import Referrals
    from services.referral.policy import UnknownPolicyVersionError

    console = Console(stderr=True)
    try:
        referrals = Referrals(store_env(Settings(), "referral"))
    except (StoreConfigError, UnknownPolicyVersionError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    tally = Tally()
    try:
        cases = list(case_ids(referrals))
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("replaying assessments", total=len(cases))
            for case_id in cases:
                for result in replay_case(referrals, case_id):
                    tally.add(result)
                    for line in _report(result):
                        typer.echo(line)
                progress.advance(task)
    finally:
        referrals.close()
    typer.echo(tally.line())
    raise typer.Exit(1 if tally.failed else 0)


def _report(result: Replay) -> list[str]:
    """The lines one replayed assessment is reported with: none when it reproduced, or when
    the first build kept no facts to replay (counted in the final line)."""
    from ops.replay import Verdict
    from services.referral.policy import POLICIES

    where = f"{result.reference} ({result.case_id}) assessment {result.number}"
    if result.verdict is Verdict.NO_SUCH_VERSION:
        return [
            f"MISSING POLICY VERSION {result.policy_version}: {where} cannot be replayed; "
            f"this build has only {', '.join(POLICIES)}, and a released version must stay"
        ]
    if result.verdict is not Verdict.DIFFERS:
        return []
    lines = [f"DIFFERS {where} under {result.policy_version}"]
    if result.problem:
        return [*lines, f"    the policy failed on the recorded facts: {result.problem}"]
    width = max(len(d.field) for d in result.differences)
    shown = min(max(len(d.recorded) for d in result.differences), 40)
    lines.extend(
        f"    {d.field:<{width}}  recorded {d.recorded:<{shown}}  replayed {d.replayed}"
        for d in result.differences
    )
    return lines
