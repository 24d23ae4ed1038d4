"""The DSL's case page for a case of 200 entries: the web page's time beside the API's own.

Starts a private nats-server, the three services and the web pages as real processes
(``safeguard serve NAME``, ``safeguard web``; SQLite under a temp dir), records one invented
disclosure and 199 more entries on it (step 7's support given, through review's API), signs an
invented DSL in through the pages (password, then TOTP), then, alternately, times:

* ``web``: ``GET /cases/{id}`` on the web process, the whole page as the browser gets it
  (the web reads review, intake, referral and the triage at once, then renders);
* ``api``: ``GET /cases/{id}`` on review alone, the largest of the web's four reads.

Each read of a case is recorded in its access log (a write), for the page and the API alike.
Prints p50/p95/p99 in ms, and the ratio web/api. Target: the page's p95 under 150 ms.

    .venv/bin/python bench/bench_case_page.py [--entries 200] [--reads 200] [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pyotp
from _common import JWT_SECRET, print_header, private_nats, temp_dir

from services.web.accounts import Accounts
from shared.embedded_nats import free_port
from shared.identity import Role, TokenService
from shared.settings import SERVICE_NAMES, Settings

SAFEGUARD = Path(sys.executable).parent / "safeguard"
PASSWORD = "invented benchmark password"  # noqa: S105 - invented


def start(tmp: Path, nats_url: str) -> tuple[dict[str, subprocess.Popen[bytes]], Settings]:
    ports = {name: free_port() for name in (*SERVICE_NAMES, "web")}
    env = {
        **os.environ,
        "NATS_URL": nats_url,
        "SAFEGUARD_VAR_DIR": str(tmp / "var"),
        "SAFEGUARD_JWT_SECRET": JWT_SECRET,
        "SAFEGUARD_LOG_LEVEL": "WARNING",
        **{f"SAFEGUARD_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    }
    settings = Settings(
        var_dir=tmp / "var",
        jwt_secret=JWT_SECRET,
        **{f"{name}_port": port for name, port in ports.items()},  # type: ignore[arg-type]
    )
    processes = {}
    for name in (*SERVICE_NAMES, "web"):
        command = ["web"] if name == "web" else ["serve", name]
        log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 - the process's
        processes[name] = subprocess.Popen(
            [str(SAFEGUARD), *command], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    for name in (*SERVICE_NAMES, "web"):
        url = f"http://127.0.0.1:{ports[name]}/{'' if name == 'web' else 'readyz'}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or processes[name].poll() is not None:
                msg = f"{name} did not start: {(tmp / f'{name}.log').read_text()[-2000:]}"
                raise RuntimeError(msg)
            time.sleep(0.1)
    return processes, settings


def stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        process.terminate()
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(web: httpx.Client, settings: Settings) -> None:
    """An invented DSL, through the pages: one-time password, own password, then a code.

    The session cookie is ``Secure``, which httpx keeps off plain http (a browser sends it to
    127.0.0.1): it is sent by hand here."""
    accounts = Accounts(settings)
    password = accounts.add("dsl.bench", Role.DSL, ["OAK"], by="bench")
    secret = accounts.give_second_factor("dsl.bench", by="bench").secret
    for path, data in (
        ("/sign-in", {"username": "dsl.bench", "password": password}),
        ("/sign-in/new-password", {"password": PASSWORD, "confirm": PASSWORD}),
        ("/sign-in/code", {"code": pyotp.TOTP(secret).now()}),
    ):
        page = web.get(path)
        _keep_session(web, page)
        answer = web.post(path, data={**data, "csrf_token": csrf(page.text)})
        assert answer.status_code == 303, (path, answer.status_code, answer.text[-500:])
        _keep_session(web, answer)


def _keep_session(web: httpx.Client, answer: httpx.Response) -> None:
    found = re.search(r"safeguard_session=([^;]+)", answer.headers.get("set-cookie", ""))
    if found:
        web.headers["Cookie"] = f"safeguard_session={found.group(1)}"


def case_of(settings: Settings, entries: int) -> tuple[str, dict[str, str]]:
    tokens = TokenService(settings)
    staff = {"Authorization": f"Bearer {tokens.issue('staff.bench', Role.STAFF, ['OAK'])}"}
    dsl = {"Authorization": f"Bearer {tokens.issue('dsl.bench', Role.DSL, ['OAK'])}"}
    base = {n: f"http://127.0.0.1:{settings.port_of(n)}" for n in SERVICE_NAMES}
    created = httpx.post(
        f"{base['intake']}/cases",
        json={
            "school": "OAK",
            "disclosure_route": "peer",
            "summary": "Invented disclosure for the case page benchmark",
            "young_people": [{"pseudonym": "YP-BENCH-1", "year_group": 9, "roles": ["pictured"]}],
        },
        headers=staff,
    ).json()
    case_id = created["case_id"]
    view = f"{base['review']}/cases/{case_id}"
    while httpx.get(view, headers=dsl).status_code != 200:
        time.sleep(0.05)
    with httpx.Client(headers=dsl, timeout=10) as http:
        have = sum(e["kind"] != "case_read" for e in http.get(view).json()["entries"])
        for i in range(entries - have):
            http.post(
                f"{view}/support",
                json={
                    "pseudonym": "YP-BENCH-1",
                    "kind": "pastoral",
                    "given_by": "an invented pastoral lead",
                    "detail": f"Invented check-in number {i}",
                },
                headers={"Idempotency-Key": str(uuid.uuid4())},
            ).raise_for_status()
    return case_id, dsl


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="60 reads")
    args = parser.parse_args()
    reads = 60 if args.quick else args.reads
    print_header("bench_case_page")
    with temp_dir("safeguard-bench-page-") as tmp, private_nats(tmp) as nats:
        processes, settings = start(tmp, nats.url)
        try:
            case_id, dsl = case_of(settings, args.entries)
            web_base = f"http://127.0.0.1:{settings.port_of('web')}"
            api = f"http://127.0.0.1:{settings.port_of('review')}/cases/{case_id}"
            times: dict[str, list[float]] = {"web": [], "api": []}
            with (
                httpx.Client(base_url=web_base, timeout=10) as web,
                httpx.Client(headers=dsl, timeout=10) as http,
            ):
                sign_in(web, settings)
                page = web.get(f"/cases/{case_id}")
                assert page.status_code == 200, page.text[-1000:]
                shown = page.text.count('class="app-timeline__item"')
                for _ in range(10):  # warm-up, not measured
                    web.get(f"/cases/{case_id}")
                    http.get(api)
                for _ in range(reads):
                    for name, call in (
                        ("web", lambda: web.get(f"/cases/{case_id}")),
                        ("api", lambda: http.get(api)),
                    ):
                        began = time.perf_counter()
                        answer = call()
                        times[name].append((time.perf_counter() - began) * 1000)
                        assert answer.status_code == 200
        finally:
            stop(processes)
    print(f"case with {args.entries} entries ({shown} shown in the page's timeline), {reads} reads")
    print(f"{'':<5} {'p50':>8} {'p95':>8} {'p99':>8} {'mean':>8}  ms")
    for name, values in times.items():
        print(
            f"{name:<5} {percentile(values, 50):>8.1f} {percentile(values, 95):>8.1f} "
            f"{percentile(values, 99):>8.1f} {statistics.fmean(values):>8.1f}"
        )
    p95 = percentile(times["web"], 95)
    print(f"ratio web/api at p95: {p95 / percentile(times['api'], 95):.2f}")
    print(f"target: the page's p95 under 150 ms: {'met' if p95 < 150 else 'MISSED'} ({p95:.1f})")


if __name__ == "__main__":
    main()
