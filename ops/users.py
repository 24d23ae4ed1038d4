"""``safeguard user``: the web pages' local accounts, for the embedded default.

``add`` and ``reset`` print a one-time password, to be given to the person by hand and changed
at their first sign-in; the DSL, head, trust lead, auditor and admin then set up their second
factor. ``disable`` stops an account signing in; its history stays.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from services.web.accounts import AccountError, Accounts, describe
from shared.identity import ALL_SCHOOLS, Role
from shared.settings import Settings
from shared.trust import TrustFileError, load_trust

user_app = typer.Typer(help="Accounts for the web pages.", no_args_is_help=True)


def _operator() -> str:
    try:
        return f"operator:{getpass.getuser()}"
    except OSError:
        return "operator"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="How they sign in, e.g. their work email.")],
    role: Annotated[Role, typer.Option(help="Their role.")],
    school: Annotated[
        list[str] | None,
        typer.Option(help="A school code they act for (repeat; * for a trust-wide role)."),
    ] = None,
) -> None:
    """Add an account and print its one-time password."""
    settings = Settings()
    try:
        trust = load_trust(settings.trust_file)
    except TrustFileError as e:
        raise _fail(str(e)) from None
    codes = [s.code for s in trust.schools]
    if unknown := [s for s in school or [] if s != ALL_SCHOOLS and s not in codes]:
        raise _fail(
            f"no school {', '.join(unknown)} in {trust.name}; its schools: {', '.join(codes)}"
        )
    try:
        password = Accounts(settings).add(username, role, list(school or []), by=_operator())
    except AccountError as e:
        raise _fail(str(e)) from None
    typer.echo(f"{username.lower()}: one-time password {password}")


@user_app.command("reset")
def reset(username: Annotated[str, typer.Argument()]) -> None:
    """A new one-time password; the second factor is set up again at the next sign-in."""
    try:
        password = Accounts(Settings()).reset(username, by=_operator())
    except AccountError as e:
        raise _fail(str(e)) from None
    typer.echo(f"{username.lower()}: one-time password {password}")


@user_app.command("disable")
def disable(
    username: Annotated[str, typer.Argument()],
    reason: Annotated[str, typer.Option(help="Why, for the account's history.")],
) -> None:
    """Stop the account signing in (its history stays; ``reset`` enables it again)."""
    try:
        Accounts(Settings()).disable(username, by=_operator(), reason=reason)
    except AccountError as e:
        raise _fail(str(e)) from None
    typer.echo(f"{username.lower()}: disabled")


@user_app.command("show")
def show(username: Annotated[str, typer.Argument()]) -> None:
    """An account's role, schools and state (never its password or secrets)."""
    try:
        account = Accounts(Settings()).get(username)
    except AccountError as e:
        raise _fail(str(e)) from None
    for key, value in describe(account).items():
        typer.echo(f"{key}: {value}")
