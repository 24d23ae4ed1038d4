"""Signing in through the trust's OpenID Connect provider ([sign_in.oidc] in the trust file),
against a small provider the tests start (tests/web/oidc_provider.py) on a real port: the web
app runs under TestClient, and its calls to the provider (discovery, token, keys) are real HTTP.
The browser's part, going to the provider and coming back, is done here with httpx."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from services.web.accounts import Accounts
from services.web.app import create_app
from services.web.oidc import OidcConfigError
from services.web.sessions import SESSION_COOKIE
from shared.identity import Role
from shared.settings import Settings
from shared.trust import DEMO_TRUST_FILE, OidcSignIn, TrustFileError, load_trust
from tests.web.oidc_provider import Fault, TestProvider
from tests.web.people import add_person, post_form

BASE = "https://testserver"
REFUSED = "The username or password is not right"


@pytest.fixture
def provider() -> Iterator[TestProvider]:
    with TestProvider().serving() as serving:
        yield serving


@dataclass
class Web:
    """The web pages, set up to sign in through ``provider``."""

    client: TestClient
    provider: TestProvider

    @property
    def accounts(self) -> Accounts:
        return self.client.app.state.accounts  # type: ignore[attr-defined,no-any-return]

    def history(self, username: str) -> list[str]:
        """The names of the events in an account's history, oldest first."""
        account = self.accounts.get(username)
        events = self.accounts.repository.event_store.get(account.id)
        return [type(e).__name__ for e in events]

    def go_to_provider(self, then: str = "") -> str:
        """Presses "Sign in with ...": returns where the browser is sent back (the callback)."""
        start = self.client.get(
            "/sign-in/oidc" + (f"?then={then}" if then else ""), follow_redirects=False
        )
        assert start.status_code == 303, start.text
        to_provider = start.headers["location"]
        assert to_provider.startswith(f"{self.provider.issuer}/authorize?")
        at_provider = httpx.get(to_provider, follow_redirects=False)
        assert at_provider.status_code == 302, at_provider.text
        back = at_provider.headers["location"]
        assert back.startswith(f"{BASE}/sign-in/oidc/callback?")
        return back

    def sign_in(self, then: str = "") -> httpx.Response:
        """The round trip; returns the callback's answer."""
        return self.client.get(self.go_to_provider(then), follow_redirects=False)

    def signed_in_as(self) -> str | None:
        found = re.search(
            r'govuk-service-navigation__text">([^<]+)<', self.client.get("/sign-in").text
        )
        return found.group(1) if found else None


def trust_file(tmp_path: Path, issuer: str, **oidc: Any) -> Path:
    """The demo trust with a [sign_in.oidc] table (``secret`` is the setting, not the file's)."""
    oidc.pop("secret", None)
    table = {
        "issuer": issuer,
        "client_id": "safeguard-web",
        "name": "Microsoft",
        "require_mfa": True,
        **oidc,
    }
    lines = "\n".join(f"{k} = {toml_value(v)}" for k, v in table.items())
    path = tmp_path / "trust.toml"
    path.write_text(f"{DEMO_TRUST_FILE.read_text()}\n[sign_in.oidc]\n{lines}\n")
    return path


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"'


@contextmanager
def open_web(tmp_path: Path, provider: TestProvider, **oidc: Any) -> Iterator[Web]:
    settings = Settings(
        var_dir=tmp_path / "var",
        trust_file=trust_file(tmp_path, provider.issuer, **oidc),
        web_oidc_client_secret=oidc.pop("secret", provider.client_secret),
        web_failure_delay_seconds=0,
    )
    with TestClient(create_app(settings), base_url=BASE) as client:
        yield Web(client, provider)


@pytest.fixture
def web(tmp_path: Path, provider: TestProvider) -> Iterator[Web]:
    """Signing in with Microsoft, its second factor relied on (require_mfa = true)."""
    with open_web(tmp_path, provider) as opened:
        yield opened


# Signing in ---------------------------------------------------------------------------------


def test_a_dsl_with_an_account_signs_in_through_the_provider_and_lands_on_cases(
    web: Web, provider: TestProvider
) -> None:
    dsl = add_person(web.accounts, "dsl@oak.example", Role.DSL, ["OAK"])
    assert "Sign in with Microsoft" in web.client.get("/sign-in").text
    provider.sign_in_as("DSL@oak.example")  # the provider's spelling; accounts are lower case

    answer = web.sign_in()

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/cases"
    assert web.signed_in_as() == dsl.username
    # Neither the one-time password nor a code from the app was asked for: the provider's
    # second factor (amr "mfa") stood for it, and the history says so.
    assert web.history(dsl.username) == ["Added", "SignedInWithProvider"]
    # What the provider was sent: a PKCE S256 challenge, the nonce, and this site's callback.
    (asked,) = provider.authorize_requests
    assert asked["code_challenge_method"] == "S256"
    assert asked["redirect_uri"] == f"{BASE}/sign-in/oidc/callback"
    assert asked["scope"].split() == ["openid", "email", "profile"]
    (exchanged,) = provider.token_requests
    assert len(exchanged["code_verifier"]) >= 43
    assert "client_secret" not in exchanged  # sent in the Authorization header (basic)


def test_the_session_id_changes_at_sign_in(web: Web, provider: TestProvider) -> None:
    add_person(web.accounts, "staff@oak.example", Role.STAFF, ["OAK"])
    provider.sign_in_as("staff@oak.example", mfa=False)
    back = web.go_to_provider()
    before = web.client.cookies[SESSION_COOKIE]

    answer = web.client.get(back, follow_redirects=False)

    assert answer.headers["location"] == "/disclosures/new"
    after = web.client.cookies[SESSION_COOKIE]
    assert after != before
    assert web.client.app.state.sessions.find(before) is None  # type: ignore[attr-defined]
    with TestClient(web.client.app, base_url=BASE) as other:
        other.cookies.set(SESSION_COOKIE, before)
        assert "staff@oak.example" not in other.get("/sign-in").text


def test_the_page_asked_for_is_where_the_sign_in_ends(web: Web, provider: TestProvider) -> None:
    add_person(web.accounts, "head@elm.example", Role.HEAD, ["ELM"])
    provider.sign_in_as("head@elm.example")
    assert 'href="/sign-in/oidc?then=/cases%3Fstatus%3Dopen"' in web.client.get(
        "/sign-in?then=/cases?status=open"
    ).text.replace("&amp;", "&")
    assert web.sign_in("/cases%3Fstatus%3Dopen").headers["location"] == "/cases?status=open"


def test_a_person_without_an_account_gets_the_words_of_a_wrong_password(
    web: Web, provider: TestProvider
) -> None:
    provider.sign_in_as("visitor@oak.example")
    answer = web.sign_in()
    assert answer.status_code == 400
    assert REFUSED in answer.text
    assert 'href="#username"' in answer.text  # the error summary, as for a wrong password
    assert web.signed_in_as() is None
    wrong_password = post_form(
        web.client, "/sign-in", {"username": "visitor@oak.example", "password": "p" * 12}
    )
    assert REFUSED in wrong_password.text


def test_a_disabled_account_is_refused_alike_and_its_history_says_so(
    web: Web, provider: TestProvider
) -> None:
    teacher = add_person(web.accounts, "left@ash.example", Role.STAFF, ["ASH"])
    web.accounts.disable(teacher.username, by="test", reason="left the school")
    provider.sign_in_as(teacher.username)

    answer = web.sign_in()

    assert answer.status_code == 400
    assert REFUSED in answer.text
    assert web.signed_in_as() is None
    assert web.history(teacher.username)[-1] == "SignInFailed"


def test_the_username_comes_from_the_claim_the_trust_names(
    tmp_path: Path, provider: TestProvider
) -> None:
    with open_web(tmp_path, provider, username_claim="upn") as web:
        add_person(web.accounts, "dsl@oak.example", Role.DSL, ["OAK"])
        provider.sign_in_as("d.smith@personal.example", upn="dsl@oak.example")
        assert web.sign_in().headers["location"] == "/cases"
        assert web.signed_in_as() == "dsl@oak.example"


def test_google_s_hosted_domain_and_an_unverified_email_are_checked(
    tmp_path: Path, provider: TestProvider
) -> None:
    with open_web(tmp_path, provider, name="Google", hosted_domain="oak.example") as web:
        add_person(web.accounts, "dsl@oak.example", Role.DSL, ["OAK"])
        for claims in (
            {},
            {"hd": "elsewhere.example"},
            {"hd": "oak.example", "email_verified": False},
        ):
            provider.sign_in_as("dsl@oak.example", **claims)
            answer = web.sign_in()
            assert answer.status_code == 400, claims
            assert "Signing in with Google did not work" in answer.text
        provider.sign_in_as("dsl@oak.example", hd="oak.example", email_verified=True)
        assert web.sign_in().headers["location"] == "/cases"


# What a provider must not send --------------------------------------------------------------


@pytest.mark.parametrize(
    "fault", [Fault.BAD_NONCE, Fault.WRONG_AUDIENCE, Fault.EXPIRED, Fault.OTHER_KEY]
)
def test_an_id_token_not_to_be_believed_is_refused(
    web: Web, provider: TestProvider, fault: Fault, caplog: pytest.LogCaptureFixture
) -> None:
    add_person(web.accounts, "dsl@oak.example", Role.DSL, ["OAK"])
    provider.sign_in_as("dsl@oak.example")
    provider.fault = fault

    answer = web.sign_in()

    assert answer.status_code == 400
    assert "Signing in with Microsoft did not work" in answer.text
    assert 'href="#oidc"' in answer.text  # the error summary links to the button
    assert web.signed_in_as() is None
    assert web.history("dsl@oak.example") == ["Added"]
    reason = {
        Fault.BAD_NONCE: "InvalidClaimError: .*nonce",
        Fault.WRONG_AUDIENCE: "InvalidClaimError: .*aud",
        Fault.EXPIRED: "ExpiredTokenError",
        Fault.OTHER_KEY: "BadSignatureError",
    }[fault]
    assert re.search(reason, caplog.text), caplog.text


def test_a_forged_state_is_refused_and_its_code_never_redeemed(
    web: Web, provider: TestProvider
) -> None:
    add_person(web.accounts, "dsl@oak.example", Role.DSL, ["OAK"])
    provider.sign_in_as("dsl@oak.example")
    back = web.go_to_provider()
    query = parse_qs(urlsplit(back).query)
    forged = urlencode({"code": query["code"][0], "state": "forged-" + query["state"][0]})

    answer = web.client.get(f"/sign-in/oidc/callback?{forged}", follow_redirects=False)

    assert answer.status_code == 400
    assert "did not start in this browser" in answer.text
    assert provider.token_requests == []
    # The attempt is spent: the true state, coming after, is refused too.
    assert web.client.get(back, follow_redirects=False).status_code == 400
    assert web.signed_in_as() is None


def test_a_code_brought_to_another_browser_is_refused(web: Web, provider: TestProvider) -> None:
    """Someone's own code and state, sent to another person to sign them in as someone else
    (login CSRF): the state belongs to the session that started, not to the link."""
    add_person(web.accounts, "dsl@oak.example", Role.DSL, ["OAK"])
    provider.sign_in_as("dsl@oak.example")
    back = web.go_to_provider()
    with TestClient(web.client.app, base_url=BASE) as victim:
        victim.get("/sign-in")
        answer = victim.get(back, follow_redirects=False)
        assert answer.status_code == 400
        assert "did not start in this browser" in answer.text
    assert provider.token_requests == []


def test_a_discovery_document_naming_another_issuer_is_not_followed(
    web: Web, provider: TestProvider
) -> None:
    provider.fault = Fault.OTHER_ISSUER
    answer = web.client.get("/sign-in/oidc", follow_redirects=False)
    assert answer.status_code == 503
    assert "Signing in with Microsoft is not working" in answer.text
    assert provider.authorize_requests == []


def test_a_wrong_client_secret_is_refused_by_the_provider(
    tmp_path: Path, provider: TestProvider
) -> None:
    with open_web(tmp_path, provider, secret="not-the-secret") as web:
        add_person(web.accounts, "dsl@oak.example", Role.DSL, ["OAK"])
        provider.sign_in_as("dsl@oak.example")
        assert web.sign_in().status_code == 400
        assert provider.refused == ["invalid_client"]
        assert web.signed_in_as() is None


def test_the_provider_checks_the_pkce_verifier(web: Web, provider: TestProvider) -> None:
    """The test provider itself: a code redeemed without its verifier is refused."""
    provider.sign_in_as("dsl@oak.example")
    back = web.go_to_provider()
    code = parse_qs(urlsplit(back).query)["code"][0]
    answer = httpx.post(
        f"{provider.issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": f"{BASE}/sign-in/oidc/callback",
            "code_verifier": "x" * 64,
        },
        auth=(provider.client_id, provider.client_secret),
    )
    assert answer.status_code == 400
    assert provider.refused == ["invalid_grant: code_verifier"]


# A second factor ----------------------------------------------------------------------------


def test_without_the_providers_mfa_a_dsl_is_refused_but_staff_are_not(
    web: Web, provider: TestProvider
) -> None:
    dsl = add_person(web.accounts, "dsl@oak.example", Role.DSL, ["OAK"])
    teacher = add_person(web.accounts, "t@oak.example", Role.STAFF, ["OAK"])
    provider.fault = Fault.NO_AMR

    provider.sign_in_as(dsl.username)
    refused = web.sign_in()
    assert refused.status_code == 403
    assert "Your account needs a second factor, and Microsoft did not use one" in refused.text
    assert web.signed_in_as() is None
    # Not a step to the authenticator app either: nothing is pending.
    assert web.client.get("/sign-in/code", follow_redirects=False).headers["location"] == (
        "/sign-in"
    )

    provider.sign_in_as(teacher.username)
    answer = web.sign_in()
    assert answer.headers["location"] == "/disclosures/new"
    assert web.signed_in_as() == teacher.username


def test_where_the_providers_mfa_is_not_relied_on_a_dsl_gives_a_code_here(
    tmp_path: Path, provider: TestProvider
) -> None:
    with open_web(tmp_path, provider, require_mfa=False) as web:
        dsl = add_person(web.accounts, "dsl@oak.example", Role.DSL, ["OAK"])
        provider.sign_in_as(dsl.username)  # with "mfa": not enough here
        answer = web.sign_in()
        # No one-time password to change: straight to setting up the authenticator app.
        assert answer.headers["location"] == "/sign-in/set-up-code"
        assert web.signed_in_as() is None
        page = web.client.get("/sign-in/set-up-code")
        assert page.status_code == 200
        assert 'id="secret"' in page.text


# Configuration ------------------------------------------------------------------------------


def test_with_local_false_the_password_form_is_gone_and_its_post_refused(
    tmp_path: Path, provider: TestProvider
) -> None:
    with open_web(tmp_path, provider, local=False) as web:
        teacher = add_person(web.accounts, "t@oak.example", Role.STAFF, ["OAK"])
        page = web.client.get("/sign-in").text
        assert "Sign in with Microsoft" in page
        assert 'name="password"' not in page
        # Posted as a script would, with this session's token (no page has the form to copy).
        session = web.client.app.state.sessions.find(web.client.cookies[SESSION_COOKIE])  # type: ignore[attr-defined]
        answer = web.client.post(
            "/sign-in",
            data={
                "username": teacher.username,
                "password": teacher.password,
                "csrf_token": session.csrf,
            },
        )
        assert answer.status_code == 403
        assert "signs in with Microsoft only" in answer.text
        assert web.history(teacher.username) == ["Added"]
        # Through the provider, the same person signs in.
        provider.sign_in_as(teacher.username, mfa=False)
        assert web.sign_in().headers["location"] == "/disclosures/new"


def test_without_a_provider_the_sign_in_page_is_as_before(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(var_dir=tmp_path / "var")), base_url=BASE) as client:
        page = client.get("/sign-in").text
        assert "Sign in with" not in page
        assert 'name="password"' in page
        assert client.get("/sign-in/oidc", follow_redirects=False).status_code == 404
        assert client.get("/sign-in/oidc/callback?code=x&state=y").status_code == 404


def test_coming_back_without_the_strict_cookie_moves_on_from_this_site_keeping_it(
    web: Web, provider: TestProvider
) -> None:
    """A browser holds a SameSite=Strict cookie back from a redirect another site made: the
    callback then answers with a page that moves on to itself, giving no cookie of its own
    (which would replace the one holding the sign-in); from there the cookie comes."""
    add_person(web.accounts, "dsl@oak.example", Role.DSL, ["OAK"])
    provider.sign_in_as("dsl@oak.example")
    back = web.go_to_provider()
    kept = web.client.cookies[SESSION_COOKIE]
    sessions = web.client.app.state.sessions  # type: ignore[attr-defined]
    count = len(sessions._by_id)

    web.client.cookies.clear()  # as the browser withholds it
    bounce = web.client.get(back, follow_redirects=False)
    assert bounce.status_code == 200
    assert "set-cookie" not in bounce.headers
    assert len(sessions._by_id) == count  # the empty session made for it is gone
    onward = re.search(r'http-equiv="refresh" content="0; url=([^"]+)"', bounce.text)
    assert onward, bounce.text
    url = onward.group(1).replace("&amp;", "&")
    assert url.startswith("/sign-in/oidc/callback?")
    assert "again=1" in url
    assert f'href="{onward.group(1)}"' in bounce.text  # and a Continue button

    web.client.cookies.set(SESSION_COOKIE, kept)  # a request from this site: it comes
    assert web.client.get(url, follow_redirects=False).headers["location"] == "/cases"
    # Without the cookie even then, it is refused rather than sent round again.
    web.client.cookies.clear()
    assert web.client.get(url, follow_redirects=False).status_code == 400


def test_the_trust_file_refuses_a_client_secret_and_plain_http(tmp_path: Path) -> None:
    path = trust_file(tmp_path, "https://login.example", client_secret="s3cr3t-value")
    with pytest.raises(TrustFileError, match="SAFEGUARD_WEB_OIDC_CLIENT_SECRET") as refused:
        load_trust(path)
    assert "s3cr3t-value" not in str(refused.value)
    with pytest.raises(TrustFileError, match="https"):
        load_trust(trust_file(tmp_path, "http://login.example"))
    config = load_trust(trust_file(tmp_path, "https://accounts.google.com")).sign_in.oidc
    assert config is not None
    assert config.issuer == "https://accounts.google.com"  # as written: no "/" added
    assert (config.username_claim, config.local) == ("email", True)


def test_the_readme_s_example_is_a_table_the_trust_file_takes() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    found = re.search(r"```toml\n(\[sign_in\.oidc\]\n.*?)```", readme, flags=re.DOTALL)
    assert found, "the README shows no [sign_in.oidc] table"
    example = tomllib.loads(found.group(1))["sign_in"]["oidc"]
    config = OidcSignIn.model_validate(example)
    assert config.name == "Microsoft"


def test_the_web_process_does_not_start_without_the_client_secret(
    tmp_path: Path, provider: TestProvider
) -> None:
    settings = Settings(var_dir=tmp_path / "var", trust_file=trust_file(tmp_path, provider.issuer))
    with (
        pytest.raises(OidcConfigError, match="SAFEGUARD_WEB_OIDC_CLIENT_SECRET"),
        TestClient(create_app(settings), base_url=BASE),
    ):
        pass
