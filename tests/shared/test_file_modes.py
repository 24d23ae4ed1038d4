"""What the product keeps on disk is its own account's alone: each directory it makes is 0700 and
each file 0600 (the SQLite stores with their -wal and -shm files, the signing key, the intake
client's queue, nats-server's data and log), under the umask most machines have."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ops.intake_client import DisclosureQueue
from ops.rebuild.store import discard_rebuild
from services.intake.application import Intake
from services.intake.entrypoint import DisclosureIn
from shared.embedded_nats import EmbeddedNats
from shared.settings import Settings
from shared.store import store_env
from tests.helpers import report


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """022, as on most machines: what it lets through (0644, 0755) is what must not be."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes_under(top: Path) -> dict[str, int]:
    """The mode of ``top`` and of everything under it, by path relative to ``top``'s parent."""
    found = {top.name: mode(top)}
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            path = Path(root) / name
            found[str(path.relative_to(top.parent))] = mode(path)
    return found


def assert_private(top: Path) -> None:
    for name, bits in modes_under(top).items():
        is_dir = (top.parent / name).is_dir()
        assert bits == (0o700 if is_dir else 0o600), f"{name}: {oct(bits)}"


def test_a_store_and_its_wal_and_shm_files_are_private(tmp_path: Path) -> None:
    var = tmp_path / "made" / "var"  # neither exists yet
    intake = Intake(store_env(Settings(var_dir=var, jwt_secret="x" * 40), "intake"))
    try:
        report(intake, 2)
        names = {p.name for p in var.iterdir()}
        assert {"intake.sqlite", "intake.sqlite-wal", "intake.sqlite-shm"} <= names
        assert_private(tmp_path / "made")
    finally:
        intake.close()


def test_a_rebuild_store_is_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    discard_rebuild(Settings(var_dir=var, jwt_secret="x" * 40))
    assert (var / "rebuild" / "review.sqlite").exists()
    assert_private(var)


def test_the_signing_key_is_private(tmp_path: Path) -> None:
    var = tmp_path / "made" / "var"
    assert Settings(var_dir=var, jwt_secret="").signing_secret()
    assert (var / "jwt-secret").exists()
    assert_private(tmp_path / "made")


def test_the_intake_queue_is_private(tmp_path: Path) -> None:
    queue = DisclosureQueue(tmp_path / "var" / "intake-queue")
    entry = queue.add(DisclosureIn(school="OAK", disclosure_route="peer", summary="Invented"))
    queue.reject(entry.path, 422, "invented refusal")
    queue.add(DisclosureIn(school="OAK", disclosure_route="peer", summary="Invented again"))
    assert len(list((tmp_path / "var" / "intake-queue" / "rejected").iterdir())) == 2
    assert_private(tmp_path / "var")


@pytest.mark.nats
def test_the_embedded_nats_server_data_and_log_are_private(tmp_path: Path) -> None:
    var = tmp_path / "var"
    server = EmbeddedNats(var / "nats" / "jetstream", log_file=var / "nats" / "nats-server.log")
    server.start()
    server.stop()
    assert (var / "nats" / "nats-server.log").exists()
    assert (var / "nats" / "jetstream" / "jetstream").is_dir()  # made by nats-server itself
    assert_private(var)
