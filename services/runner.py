"""``safeguard up``: NATS when needed, and the three services as separate processes."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from shared.embedded_nats import EmbeddedNats
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
    url_file.write_text(url)
    log.info("started nats-server at %s (data in %s)", url, server.store_dir)
    try:
        yield url
    finally:
        url_file.unlink(missing_ok=True)
        server.stop()


def run_all(settings: Settings) -> int:
    """Run until Ctrl-C (or SIGTERM) or until a service dies; 0 on a clean stop."""
    settings.signing_secret()  # made once here, before three services race to make it
    with nats_for(settings) as url:
        env = {**os.environ, "NATS_URL": url}
        children = {
            name: subprocess.Popen([sys.executable, "-m", "services.cli", "serve", name], env=env)
            for name in SERVICE_NAMES
        }
        _banner(settings, url)
        stopping = False

        def on_term(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        # Both, explicitly: a process started in the background may inherit SIGINT ignored.
        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        code = 0
        try:
            while True:
                for name, child in children.items():
                    if child.poll() is not None:
                        log.error("%s exited with %s; stopping everything", name, child.returncode)
                        code = 1
                        raise KeyboardInterrupt
                time.sleep(0.5)
        except KeyboardInterrupt:
            stopping = True
        finally:
            if stopping:
                log.info("stopping the services")
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGINT)
            for name, child in children.items():
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    log.warning("%s did not stop in time; killing it", name)
                    child.kill()
                    child.wait()
        log.info("stopped")
        return code


def _banner(settings: Settings, nats_url: str) -> None:
    where = Path(settings.var_dir).resolve()
    store = "PostgreSQL" if settings.database_url else f"SQLite under {where}"
    lines = [
        f"NATS: {nats_url}    store: {store}",
        *(
            f"{name:<8} http://{settings.host}:{settings.port_of(name)}/docs"
            for name in SERVICE_NAMES
        ),
        "try: safeguard demo    (in another terminal; Ctrl-C here stops everything)",
    ]
    for line in lines:
        log.info(line)
