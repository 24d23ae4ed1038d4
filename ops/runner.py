"""``safeguard up``: NATS when needed, and the three services as separate processes."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from shared.embedded_nats import EmbeddedNats
from shared.files import private_file
from shared.settings import SERVICE_NAMES, Settings

log = logging.getLogger("safeguard.up")


def _reachable(url: str) -> bool:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), 0.5):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def nats_for(settings: Settings) -> Iterator[str]:
    """NATS_URL if set; else the embedded server already running under var/; else a new one
    (stopped on exit). A new one listens on SAFEGUARD_NATS_PORT or a free port."""
    if settings.nats_url:
        yield settings.nats_url
        return
    url_file = settings.var_dir / "nats" / "url"
    if url_file.exists():
        url = url_file.read_text().strip()
        if _reachable(url):
            log.info("using the embedded nats-server already running at %s", url)
            yield url
            return
    server = EmbeddedNats(
        settings.var_dir / "nats" / "jetstream",
        settings.nats_port,
        log_file=settings.var_dir / "nats" / "nats-server.log",
    )
    url = server.start()
    private_file(url_file).write_text(url)
    log.info("started nats-server at %s (data in %s)", url, server.store_dir)
    try:
        yield url
    finally:
        url_file.unlink(missing_ok=True)
        server.stop()


STOP_SECONDS = 20.0
"""How long each service has to stop cleanly before it is killed."""


class _Stop(Exception):
    """Ctrl-C or SIGTERM reached ``safeguard up``."""


def run_all(settings: Settings) -> int:
    """Run until Ctrl-C (or SIGTERM) or until a service dies; 0 on a clean stop.

    The services and nats-server run in process groups of their own, so that a Ctrl-C in the
    terminal reaches only this process, which then stops them in order: the services first
    (each finishes its work in hand and closes its store), nats-server last. A second Ctrl-C
    kills the services at once.
    """
    settings.signing_secret()  # made once here, before three services race to make it
    stops = 0

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stops
        stops += 1
        if stops == 1:
            raise _Stop

    # Both, explicitly: a process started in the background may inherit SIGINT ignored.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    code = 0
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        with nats_for(settings) as url:
            try:
                env = {**os.environ, "NATS_URL": url}
                for name, command in (
                    ("web", ["web"]),
                    *((n, ["serve", n]) for n in SERVICE_NAMES),
                ):
                    children[name] = subprocess.Popen(
                        [sys.executable, "-m", "ops.cli", *command], env=env, process_group=0
                    )
                _banner(settings, url)
                while True:
                    for name, child in children.items():
                        if child.poll() is not None:
                            log.error(
                                "%s exited with %s; stopping everything", name, child.returncode
                            )
                            code = 1
                            raise _Stop
                    time.sleep(0.5)
            except _Stop:
                log.info("stopping the services (Ctrl-C again to kill them)")
            finally:
                code = max(code, _stop_services(children, lambda: stops > 1))
                log.info("stopping nats-server")
    except _Stop:
        pass  # stopped while nats-server was starting: there was nothing else to stop
    log.info("stopped")
    return code


def _stop_services(children: dict[str, subprocess.Popen[bytes]], forced: Callable[[], bool]) -> int:
    """SIGTERM to each service, then wait; kill any that outlives ``STOP_SECONDS`` or a second
    Ctrl-C. 0 if every service stopped by itself with exit code 0."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    code = 0
    for name, child in children.items():
        while child.poll() is None and time.monotonic() < deadline and not forced():
            with contextlib.suppress(subprocess.TimeoutExpired, _Stop):
                child.wait(timeout=0.1)
        if child.poll() is None:
            log.warning("%s did not stop%s; killing it", name, "" if forced() else " in time")
            child.kill()
            child.wait()
        if child.returncode != 0:
            code = 1
    return code


def _banner(settings: Settings, nats_url: str) -> None:
    where = Path(settings.var_dir).resolve()
    store = "PostgreSQL" if settings.database_url else f"SQLite under {where}"
    lines = [
        f"web      http://{settings.host}:{settings.web_port}/    (the pages: start here)",
        f"NATS: {nats_url}    store: {store}",
        *(
            f"{name:<8} http://{settings.host}:{settings.port_of(name)}/docs"
            for name in SERVICE_NAMES
        ),
        "try: safeguard demo    (in another terminal; Ctrl-C here stops everything)",
    ]
    for line in lines:
        log.info(line)
