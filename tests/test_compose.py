"""docker-compose.yml and the Dockerfile agree with the code: service names, ports, settings.

Docker need not run: the files are read and checked against ``shared.settings``, the
``safeguard`` command, the web process and ``pyproject.toml``.
"""

from __future__ import annotations

import glob
import ipaddress
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

import ops.cli
from services.web import app as web_app
from services.web.clients import ServiceClients
from shared.identity import Principal, Role
from shared.settings import SERVICE_NAMES, Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
REQUIRED = (
    "SAFEGUARD_DATABASE_URL",
    "NATS_URL",
    "SAFEGUARD_STREAM_REPLICAS",
    "SAFEGUARD_HOST",
    "SAFEGUARD_JWT_SECRET",
)
WEB = "web"
"""The web pages: a process of the same image (``safeguard web``), a client of the services."""
PROCESSES = (*SERVICE_NAMES, WEB)
WEB_REQUIRED = (
    "SAFEGUARD_DATABASE_URL",  # the accounts store, schema "accounts"
    "SAFEGUARD_HOST",
    "SAFEGUARD_JWT_SECRET",  # it signs each call it makes for a signed-in person
    "SAFEGUARD_WEB_ACCOUNTS_KEY",
    *(f"SAFEGUARD_{name.upper()}_URL" for name in SERVICE_NAMES),
)
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolate(value: str) -> str:
    """The value as compose would pass it, with a stand-in for variables without a default."""

    def one(m: re.Match[str]) -> str:
        return m[3] if m[2] == "-" else f"from-env-{m[1].lower()}"

    return INTERPOLATION.sub(one, value)


def is_interpolation(value: object) -> bool:
    return isinstance(value, str) and INTERPOLATION.fullmatch(value) is not None


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def args(service: str) -> list[str]:
    command = SERVICES[service].get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(a) for a in command]


def flag(argv: list[str], *names: str) -> str | None:
    """The value after the first of ``names`` in ``argv``."""
    for i, arg in enumerate(argv[:-1]):
        if arg in names:
            return argv[i + 1]
    return None


def settings_from(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> Settings:
    """Settings built from ``env`` alone, whatever the test runner's environment holds."""
    for name in Settings.model_fields:
        monkeypatch.delenv(f"SAFEGUARD_{name.upper()}", raising=False)
    monkeypatch.delenv("NATS_URL", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, interpolate(value))
    return Settings()


def settings_of(service: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings the service's process would build from its compose environment."""
    return settings_from(monkeypatch, environment(service))


def published_container_ports(service: str) -> set[int]:
    ports = set()
    for port in SERVICES[service].get("ports", []):
        if isinstance(port, dict):
            ports.add(int(port["target"]))
        else:
            ports.add(int(str(port).split("/")[0].rsplit(":", 1)[-1]))
    return ports


def healthcheck_text(service: str) -> str:
    test = SERVICES[service]["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


def nats_nodes() -> list[str]:
    url = environment(SERVICE_NAMES[0])["NATS_URL"]
    return [urlsplit(interpolate(u.strip())).hostname or "" for u in url.split(",")]


def postgres_service() -> str:
    url = interpolate(environment(SERVICE_NAMES[0])["SAFEGUARD_DATABASE_URL"])
    return urlsplit(url).hostname or ""


# --- the three services -----------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_runs_serve_with_its_own_name(name: str) -> None:
    assert name in SERVICES
    assert args(name) == ["serve", name]


@pytest.mark.parametrize("name", PROCESSES)
def test_service_is_built_from_the_repository_dockerfile(name: str) -> None:
    build = SERVICES[name]["build"]
    if isinstance(build, str):
        build = {"context": build}
    context = ROOT / build["context"]
    assert context.resolve() == ROOT
    assert (context / build.get("dockerfile", "Dockerfile")).resolve() == ROOT / "Dockerfile"


@pytest.mark.parametrize("name", PROCESSES)
def test_service_publishes_the_port_it_listens_on(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = settings_of(name, monkeypatch).port_of(name)
    assert port in published_container_ports(name)


@pytest.mark.parametrize("name", PROCESSES)
def test_service_environment_names_are_real_settings(name: str) -> None:
    for key in environment(name):
        if key == "NATS_URL":
            continue
        assert key.startswith("SAFEGUARD_"), key
        assert key.removeprefix("SAFEGUARD_").lower() in Settings.model_fields, key


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_is_given_the_required_settings(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment(name)
    assert [key for key in REQUIRED if not env.get(key)] == []
    settings = settings_of(name, monkeypatch)
    assert settings.nats_url == interpolate(env["NATS_URL"])
    assert ipaddress.ip_address(settings.host).is_unspecified, "reachable from outside"


@pytest.mark.parametrize("name", PROCESSES)
def test_trust_file_if_set_is_mounted(name: str) -> None:
    trust_file = environment(name).get("SAFEGUARD_TRUST_FILE")
    if trust_file is None:
        return
    service = SERVICES[name]
    targets = {c["target"] for c in service.get("configs", []) if isinstance(c, dict)}
    targets |= {str(v).split(":")[1] for v in service.get("volumes", []) if ":" in str(v)}
    assert any(trust_file == t or trust_file.startswith(f"{t}/") for t in targets)


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_healthcheck_requests_its_own_readyz(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = settings_of(name, monkeypatch).port_of(name)
    check = healthcheck_text(name)
    assert "urllib" in check
    assert f"127.0.0.1:{port}/readyz" in check or f"localhost:{port}/readyz" in check


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_service_waits_for_healthy_postgres_and_nats(name: str) -> None:
    depends_on = SERVICES[name]["depends_on"]
    assert isinstance(depends_on, dict), "conditions need the long depends_on form"
    for dependency in [postgres_service(), *nats_nodes()]:
        assert depends_on.get(dependency, {}).get("condition") == "service_healthy", dependency


# --- the web pages ----------------------------------------------------------------------


def test_web_runs_the_web_command() -> None:
    assert WEB in SERVICES
    assert args(WEB) == [WEB]
    assert WEB in {
        c.name or c.callback.__name__ for c in ops.cli.app.registered_commands if c.callback
    }


def test_web_is_given_the_required_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = environment(WEB)
    assert [key for key in WEB_REQUIRED if not env.get(key)] == []
    settings = settings_of(WEB, monkeypatch)
    assert ipaddress.ip_address(settings.host).is_unspecified, "reachable from outside"


@pytest.mark.parametrize("name", SERVICE_NAMES)
async def test_web_calls_each_service_at_its_container_and_port(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call of the web process's clients, built from the web container's settings."""
    port = settings_of(name, monkeypatch).port_of(name)
    called: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        called.append(request.url)
        return httpx.Response(200, json={})

    # An invented key as long as a real one: the stand-in for ${SAFEGUARD_JWT_SECRET} is short.
    settings = settings_of(WEB, monkeypatch).model_copy(update={"jwt_secret": "k" * 48})
    clients = ServiceClients(settings, {name: httpx.MockTransport(answer)})
    dsl = Principal(user="dsl.oak", role=Role.DSL, schools=frozenset({"OAK"}))
    try:
        await clients.get(dsl, name, "/cases")
    finally:
        await clients.close()
    assert [(url.scheme, url.host, url.port, url.path) for url in called] == [
        ("http", name, port, "/cases")
    ]


def test_web_listens_on_the_published_port_on_every_interface(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``safeguard web`` with the web container's environment: where uvicorn is told to bind."""
    import uvicorn

    settings_of(WEB, monkeypatch)
    served: dict[str, Any] = {}
    monkeypatch.setattr(web_app, "create_app", lambda *a, **kw: "the pages")
    monkeypatch.setattr(ops.cli.signal, "signal", lambda *a: None)
    monkeypatch.setattr(ops.cli, "configure_logging", lambda *a: None)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(kw, app=app))
    ops.cli.web()
    assert served["app"] == "the pages"
    assert ipaddress.ip_address(served["host"]).is_unspecified
    assert served["port"] in published_container_ports(WEB)


def test_web_healthcheck_requests_its_own_healthz(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = settings_of(WEB, monkeypatch).port_of(WEB)
    check = healthcheck_text(WEB)
    assert "urllib" in check
    assert f"127.0.0.1:{port}/healthz" in check or f"localhost:{port}/healthz" in check
    # The web process on the embedded defaults, in a temporary directory.
    pages = web_app.create_app(settings_from(monkeypatch, {"SAFEGUARD_VAR_DIR": str(tmp_path)}))
    assert "/healthz" in {getattr(route, "path", None) for route in pages.routes}


def test_web_waits_for_healthy_postgres_and_services() -> None:
    depends_on = SERVICES[WEB]["depends_on"]
    assert isinstance(depends_on, dict), "conditions need the long depends_on form"
    for dependency in [postgres_service(), *SERVICE_NAMES]:
        assert depends_on.get(dependency, {}).get("condition") == "service_healthy", dependency


# --- NATS cluster -----------------------------------------------------------------------


def test_every_service_gets_the_same_nats_url() -> None:
    assert len({environment(name)["NATS_URL"] for name in SERVICE_NAMES}) == 1


def test_nats_url_names_three_compose_nodes() -> None:
    nodes = nats_nodes()
    assert len(set(nodes)) == 3
    assert all(node in SERVICES for node in nodes)


@pytest.mark.parametrize("node", nats_nodes())
def test_nats_node_runs_jetstream_with_routes_to_the_others(node: str) -> None:
    argv = args(node)
    assert "-js" in argv or "--jetstream" in argv
    routes = flag(argv, "--routes", "-r") or ""
    others = {n for n in nats_nodes() if n != node}
    assert {urlsplit(r.strip()).hostname for r in routes.split(",") if r.strip()} == others
    for route in routes.split(","):
        target = urlsplit(route.strip())
        listen = urlsplit(flag(args(target.hostname or ""), "--cluster") or "")
        assert target.port == listen.port, f"{node} routes to a port {target.hostname} ignores"


def test_nats_nodes_form_one_cluster() -> None:
    names = {flag(args(node), "--cluster_name") for node in nats_nodes()}
    assert len(names) == 1
    assert None not in names


def test_nats_nodes_have_unique_server_names() -> None:
    names = [flag(args(node), "--name", "-n", "--server_name") for node in nats_nodes()]
    assert None not in names
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("node", nats_nodes())
def test_nats_node_keeps_jetstream_data_in_its_own_named_volume(node: str) -> None:
    store_dir = flag(args(node), "-sd", "--store_dir")
    assert store_dir is not None
    mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in SERVICES[node]["volumes"]}
    volume = mounts[store_dir]
    assert volume in COMPOSE["volumes"]
    for other in nats_nodes():
        if other != node:
            assert volume not in {str(v).split(":")[0] for v in SERVICES[other]["volumes"]}


@pytest.mark.parametrize("node", nats_nodes())
def test_nats_node_healthcheck_asks_monitoring_for_jetstream(node: str) -> None:
    monitor_port = flag(args(node), "-m", "--http_port")
    check = healthcheck_text(node)
    assert f":{monitor_port}/healthz?js-enabled-only=true" in check
    if "wget" in check:
        assert "alpine" in SERVICES[node]["image"], "the scratch nats image has no wget"


@pytest.mark.parametrize("name", SERVICE_NAMES)
def test_stream_replicas_equal_the_number_of_nats_nodes(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings_of(name, monkeypatch).stream_replicas == len(nats_nodes())


# --- PostgreSQL -------------------------------------------------------------------------


def test_every_service_uses_the_same_database() -> None:
    assert len({environment(name)["SAFEGUARD_DATABASE_URL"] for name in PROCESSES}) == 1


def test_database_url_points_at_the_postgres_service() -> None:
    host = postgres_service()
    assert host in SERVICES
    assert SERVICES[host]["image"].startswith("postgres:")
    url = urlsplit(interpolate(environment(SERVICE_NAMES[0])["SAFEGUARD_DATABASE_URL"]))
    assert url.scheme in ("postgresql", "postgres")
    pg_env = environment(host)
    assert url.username == pg_env.get("POSTGRES_USER", "postgres")
    assert url.path.lstrip("/") == pg_env.get("POSTGRES_DB", url.username)


def test_postgres_keeps_data_in_a_named_volume() -> None:
    mounts = [str(v).split(":")[:2] for v in SERVICES[postgres_service()]["volumes"]]
    assert any(
        source in COMPOSE["volumes"] and target.startswith("/var/lib/postgresql")
        for source, target in mounts
    )


def test_postgres_healthcheck_uses_pg_isready() -> None:
    assert "pg_isready" in healthcheck_text(postgres_service())


# --- across the file --------------------------------------------------------------------


def test_every_container_has_a_healthcheck() -> None:
    for name in [*PROCESSES, postgres_service(), *nats_nodes()]:
        assert SERVICES[name].get("healthcheck", {}).get("test"), name


def test_secrets_come_from_the_deployers_environment() -> None:
    for name in PROCESSES:
        assert is_interpolation(environment(name)["SAFEGUARD_JWT_SECRET"]), name
        password = urlsplit(environment(name)["SAFEGUARD_DATABASE_URL"]).password
        assert is_interpolation(password), name
    assert is_interpolation(environment(postgres_service())["POSTGRES_PASSWORD"])
    # ${NAME:?...}: compose refuses to start without the accounts key, rather than the web
    # process making one inside its container, lost with the container and every account.
    accounts_key = INTERPOLATION.fullmatch(environment(WEB)["SAFEGUARD_WEB_ACCOUNTS_KEY"])
    assert accounts_key is not None
    assert accounts_key[2] == "?"


def test_no_obsolete_version_key() -> None:
    assert "version" not in COMPOSE


# --- Dockerfile -------------------------------------------------------------------------


def dockerfile_instruction(keyword: str) -> str:
    """The arguments of the Dockerfile's last ``keyword`` instruction."""
    lines = [line for line in DOCKERFILE.splitlines() if line.startswith(f"{keyword} ")]
    assert lines, f"no {keyword} in Dockerfile"
    return lines[-1].removeprefix(keyword).strip()


def test_dockerfile_entrypoint_is_the_console_command() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    entrypoint = json.loads(dockerfile_instruction("ENTRYPOINT"))
    assert entrypoint == ["safeguard"]
    assert entrypoint[0] in scripts


def test_dockerfile_default_command_serves_a_service() -> None:
    command = json.loads(dockerfile_instruction("CMD"))
    assert command[0] == "serve"
    assert command[1] in SERVICE_NAMES


def test_dockerfile_installs_the_package_with_pip() -> None:
    assert re.search(r"^RUN .*pip install (--no-cache-dir )?\.$", DOCKERFILE, re.MULTILINE)


def test_dockerfile_runs_as_a_non_root_user() -> None:
    user = dockerfile_instruction("USER")
    assert user.split(":")[0] not in ("root", "0")


def test_dockerfile_exposes_every_service_port(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = settings_from(monkeypatch, {})
    exposed = {int(p) for p in dockerfile_instruction("EXPOSE").split()}
    assert {defaults.port_of(name) for name in PROCESSES} <= exposed


def test_dockerfile_puts_gov_uk_frontend_from_npm_ci_in_place_before_pip_install() -> None:
    """A node stage runs ``npm ci`` from the lock file; its dist/govuk is copied to where the
    web process looks for it (``services.web.app.GOVUK``) before the package is installed."""
    text = re.sub(r"\s*\\\n\s*", " ", DOCKERFILE)  # continuation lines joined
    stage = re.search(r"^FROM node:\S+ AS (\S+)$", text, re.MULTILINE | re.IGNORECASE)
    assert stage is not None, "no node build stage"
    node_stage = text[stage.end() : text.index("\nFROM ", stage.end())]
    assert "package-lock.json" in node_stage
    assert re.search(r"^RUN npm ci .*--prefix services/web\b", node_stage, re.MULTILINE)
    target = web_app.GOVUK.relative_to(ROOT).as_posix()
    copy = re.search(rf"^COPY --from={re.escape(stage[1])} (\S+) (\S+)$", text, re.MULTILINE)
    assert copy is not None, "dist/govuk is not copied from the node stage"
    assert copy[1].endswith(f"/{target}")
    assert copy[2].rstrip("/") == target
    pip_install = re.search(r"^RUN .*pip install (--no-cache-dir )?\.$", text, re.MULTILINE)
    assert pip_install is not None
    assert copy.start() < pip_install.start()


def test_the_package_holds_what_the_web_serves_of_gov_uk_frontend_and_no_more() -> None:
    """pyproject.toml's package-data, globbed as setuptools does, against the files the web
    process serves: the CSS, the JavaScript and the assets (fonts, images, manifest.json)."""
    govuk = web_app.GOVUK
    assert govuk.is_dir(), "run `npm ci --prefix services/web` (the README's set-up does)"
    web = web_app.HERE
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["services.web"]
    shipped = {
        web / found
        for pattern in patterns
        for found in glob.glob(pattern, root_dir=web, recursive=True)
        if (web / found).is_file() and "node_modules" in Path(found).parts
    }
    served = {govuk / "govuk-frontend.min.css", govuk / "govuk-frontend.min.js"}
    served |= {path for path in (govuk / "assets").rglob("*") if path.is_file()}
    assert shipped == served
