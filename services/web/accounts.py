"""The web pages' local accounts: who may sign in, with what role, for which schools.

Event-sourced like everything else (``eventsourcing``), in a store of its own (``accounts``),
encrypted at rest with AES-GCM (eventsourcing's cipher; the key is ``SAFEGUARD_WEB_ACCOUNTS_KEY``
or ``var/accounts-key``): every account's history (added, password changed, second factor set
up, each failed and each good sign-in, locked, disabled, reset) stays, for whoever audits access.

* Passwords are hashed with Argon2id (``argon2-cffi``'s defaults, RFC 9106's second choice).
* The second factor is TOTP (RFC 6238, ``pyotp``), required for every role but staff, with ten
  single-use recovery codes (hashed like passwords). A code is accepted once: the time step it
  belongs to is recorded, and an older or equal step is refused.
* After ``web_lockout_failures`` failures in a row an account is locked for
  ``web_lockout_minutes``; a locked account is refused with the same answer as a wrong password.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate, event

from shared.identity import ALL_SCHOOLS, TRUST_WIDE_ROLES, Role
from shared.settings import Settings
from shared.store import application_env, private_store

SECOND_FACTOR_ROLES = frozenset({Role.DSL, Role.HEAD, Role.TRUST_LEAD, Role.AUDITOR, Role.ADMIN})
"""Roles that must give a TOTP code (or a recovery code) after their password."""
RECOVERY_CODES = 10
MIN_PASSWORD = 12
_hasher = PasswordHasher()
# Verified when the user is unknown, so that a wrong user takes as long as a wrong password.
_NOBODY = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """An account cannot be added or changed as asked; the message says why."""


class SignInRefusedError(Exception):
    """The one answer to a failed sign-in, whatever failed: no such user, a wrong password, a
    disabled or locked account. ``failures`` is how many failed in a row, to slow the answer."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__("the username or password is not right")
        self.failures = failures


def account_id(username: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"safeguard:account:{username.lower()}")


def one_time_password() -> str:
    """A password to give once, by hand: four groups of letters and digits, no look-alikes."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


def _hash_codes(codes: list[str]) -> list[str]:
    return [_hasher.hash(code) for code in codes]


class Account(Aggregate):
    """One person's way in: their role and schools, password hash and second factor."""

    @staticmethod
    def create_id(username: str, *_: Any, **__: Any) -> UUID:
        return account_id(username)

    @event("Added")
    def __init__(
        self, username: str, role: str, schools: list[str], password_hash: str, by: str
    ) -> None:
        self.username = username
        self.role = Role(role)
        self.schools = schools
        self.password_hash = password_hash
        self.must_change_password = True
        self.totp_secret: str | None = None
        self.last_totp_step = -1
        self.recovery_hashes: list[str] = []
        self.failures = 0
        self.locked_until: datetime | None = None
        self.disabled = False

    @event("PasswordChanged")
    def change_password(self, password_hash: str) -> None:
        self.password_hash = password_hash
        self.must_change_password = False

    @event("SecondFactorSetUp")
    def set_up_second_factor(
        self, totp_secret: str, recovery_hashes: list[str], step: int, by: str = ""
    ) -> None:
        """``by``: the operator who set it up for the person (the demo); empty: the person."""
        self.totp_secret = totp_secret
        self.recovery_hashes = recovery_hashes
        self.last_totp_step = step

    @event("CodeUsed")
    def use_code(self, step: int) -> None:
        self.last_totp_step = step

    @event("RecoveryCodeUsed")
    def use_recovery_code(self, index: int) -> None:
        self.recovery_hashes = ["" if i == index else h for i, h in enumerate(self.recovery_hashes)]

    @event("SignInFailed")
    def fail(self, at: datetime, locked_until: datetime | None) -> None:
        self.failures += 1
        if locked_until is not None:
            self.locked_until = locked_until

    @event("SignedIn")
    def signed_in(self, at: datetime) -> None:
        self.failures = 0
        self.locked_until = None

    @event("SignedInWithProvider")
    def signed_in_with_provider(self, at: datetime, issuer: str, mfa: bool) -> None:
        """Signed in through the trust's OpenID Connect provider; ``mfa``: the provider said a
        second factor was used there."""
        self.failures = 0
        self.locked_until = None

    @event("Disabled")
    def disable(self, by: str, reason: str) -> None:
        self.disabled = True

    @event("Reset")
    def reset(self, password_hash: str, by: str) -> None:
        """A new one-time password; the second factor (a lost phone) is set up again."""
        self.password_hash = password_hash
        self.must_change_password = True
        self.totp_secret = None
        self.recovery_hashes = []
        self.failures = 0
        self.locked_until = None
        self.disabled = False

    @property
    def needs_second_factor(self) -> bool:
        return self.role in SECOND_FACTOR_ROLES

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True)
class NewSecondFactor:
    """A TOTP secret and recovery codes offered to a user, not yet confirmed by a code."""

    secret: str
    recovery_codes: list[str]

    def uri(self, username: str) -> str:
        return pyotp.TOTP(self.secret).provisioning_uri(name=username, issuer_name="safeguard")


class Accounts(Application[UUID]):
    """The accounts, event-sourced in their own encrypted store."""

    name = "accounts"

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        base = {
            **application_env(settings, "accounts"),
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": settings.accounts_key(),
        }
        base.update(env or {})
        private_store(base)
        super().__init__(env=base)

    # Operators (safeguard user ...) ---------------------------------------------------------

    def add(self, username: str, role: Role, schools: list[str], *, by: str) -> str:
        """A new account; returns its one-time password, to be changed at first sign-in."""
        username = username.strip().lower()
        if not username or len(username) > 200 or any(c.isspace() for c in username):
            msg = "a username is 1 to 200 characters without spaces"
            raise AccountError(msg)
        if self._find(username) is not None:
            msg = f"there is an account {username} already (reset it instead)"
            raise AccountError(msg)
        if ALL_SCHOOLS in schools and role not in TRUST_WIDE_ROLES:
            msg = f"the {role} role acts for named schools, not every school"
            raise AccountError(msg)
        if not schools:
            msg = f"name the schools the {role} acts for (or {ALL_SCHOOLS} for a trust-wide role)"
            raise AccountError(msg)
        password = one_time_password()
        account = Account(username, str(role), sorted(set(schools)), _hasher.hash(password), by)
        self.save(account)
        return password

    def reset(self, username: str, *, by: str) -> str:
        """A new one-time password; the second factor must be set up again."""
        account = self.get(username)
        password = one_time_password()
        account.reset(_hasher.hash(password), by)
        self.save(account)
        return password

    def disable(self, username: str, *, by: str, reason: str) -> None:
        account = self.get(username)
        if not account.disabled:
            account.disable(by, reason)
            self.save(account)

    def get(self, username: str) -> Account:
        account = self._find(username)
        if account is None:
            msg = f"no account {username}"
            raise AccountError(msg)
        return account

    # Sign-in ----------------------------------------------------------------------------

    def check_password(self, username: str, password: str, now: datetime | None = None) -> Account:
        """The account, if the password is right and the account may sign in; else
        :class:`SignInRefusedError`, the same for every reason."""
        now = now or datetime.now(UTC)
        account = self._find(username.strip().lower())
        if account is None:
            self._verify(_NOBODY, password)
            raise SignInRefusedError
        good = self._verify(account.password_hash, password)
        if account.disabled or account.locked(now) or not good:
            self._failed(account, now)
            raise SignInRefusedError(account.failures)
        return account

    def check_code(self, username: str, code: str, now: datetime | None = None) -> Account:
        """After the password: a TOTP code, or one of the recovery codes, each good once."""
        now = now or datetime.now(UTC)
        account = self.get(username)
        code = code.strip().replace(" ", "").replace("-", "").lower()
        if account.disabled or account.locked(now) or account.totp_secret is None:
            raise SignInRefusedError(account.failures)
        step = self._step_of(account.totp_secret, code, now)
        if step is not None and step > account.last_totp_step:
            account.use_code(step)
            account.signed_in(now)
            self.save(account)
            return account
        for index, hashed in enumerate(account.recovery_hashes):
            if hashed and self._verify(hashed, code):
                account.use_recovery_code(index)
                account.signed_in(now)
                self.save(account)
                return account
        self._failed(account, now)
        raise SignInRefusedError(account.failures)

    def check_vouched(self, username: str, now: datetime | None = None) -> Account:
        """The account of a person the trust's OpenID Connect provider proved to be
        ``username``, if it may sign in; else :class:`SignInRefusedError`, as for a wrong
        password, and recorded in the account's history where there is an account."""
        now = now or datetime.now(UTC)
        account = self._find(username.strip().lower())
        if account is None:
            raise SignInRefusedError
        if account.disabled or account.locked(now):
            self._failed(account, now)
            raise SignInRefusedError(account.failures)
        return account

    def signed_in_with_provider(
        self, account: Account, *, issuer: str, mfa: bool, now: datetime | None = None
    ) -> None:
        """A sign-in completed through the trust's provider, with no code asked for here."""
        account.signed_in_with_provider(now or datetime.now(UTC), issuer, mfa)
        self.save(account)

    def signed_in(self, account: Account, now: datetime | None = None) -> None:
        """A sign-in completed without a second factor (staff)."""
        account.signed_in(now or datetime.now(UTC))
        self.save(account)

    def change_password(self, username: str, new: str) -> None:
        if len(new) < MIN_PASSWORD:
            msg = f"a password needs {MIN_PASSWORD} characters or more"
            raise AccountError(msg)
        account = self.get(username)
        if self._verify(account.password_hash, new):
            msg = "choose a password other than the one you were given"
            raise AccountError(msg)
        account.change_password(_hasher.hash(new))
        self.save(account)

    @staticmethod
    def offer_second_factor() -> NewSecondFactor:
        codes = [secrets.token_hex(5) for _ in range(RECOVERY_CODES)]
        return NewSecondFactor(pyotp.random_base32(), codes)

    def set_up_second_factor(
        self, username: str, offer: NewSecondFactor, code: str, now: datetime | None = None
    ) -> Account:
        """Keeps the offered secret once the user shows a code made from it."""
        now = now or datetime.now(UTC)
        account = self.get(username)
        step = self._step_of(offer.secret, code.strip().replace(" ", ""), now)
        if step is None:
            msg = "that code is not right: enter the 6 digits your app shows now"
            raise AccountError(msg)
        account.set_up_second_factor(offer.secret, _hash_codes(offer.recovery_codes), step)
        account.signed_in(now)
        self.save(account)
        return account

    def give_second_factor(self, username: str, *, by: str) -> NewSecondFactor:
        """An operator sets up the second factor (the demo, which prints the key for the
        person's authenticator app); otherwise a person sets it up at their first sign-in."""
        account = self.get(username)
        offer = self.offer_second_factor()
        account.set_up_second_factor(offer.secret, _hash_codes(offer.recovery_codes), -1, by)
        self.save(account)
        return offer

    # --------------------------------------------------------------------------------------

    def _find(self, username: str) -> Account | None:
        try:
            account: Account = self.repository.get(account_id(username))
        except AggregateNotFoundError:
            return None
        return account

    def _failed(self, account: Account, now: datetime) -> None:
        until = None
        if account.failures + 1 >= self.settings.web_lockout_failures:
            until = now + timedelta(minutes=self.settings.web_lockout_minutes)
        account.fail(now, until)
        self.save(account)

    @staticmethod
    def _verify(hashed: str, password: str) -> bool:
        try:
            return _hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    @staticmethod
    def _step_of(secret: str, code: str, now: datetime) -> int | None:
        """The time step ``code`` belongs to (this one or one either side, for clock drift)."""
        if not (code.isdigit() and len(code) == 6):
            return None
        totp = pyotp.TOTP(secret)
        for drift in (0, -1, 1):
            at = now + timedelta(seconds=30 * drift)
            if secrets.compare_digest(totp.at(at), code):
                return int(totp.timecode(at))
        return None


def describe(account: Account) -> dict[str, Any]:
    """What an operator sees of an account (never a hash or a secret)."""
    return {
        "username": account.username,
        "role": str(account.role),
        "schools": account.schools,
        "second factor": "set up" if account.totp_secret else "not set up",
        "disabled": account.disabled,
    }
