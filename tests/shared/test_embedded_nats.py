"""The embedded nats-server: a free port of its own, a clear error, reuse by `serve`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.runner import nats_for
from shared.embedded_nats import EmbeddedNats, NatsServerError
from shared.settings import Settings

pytestmark = pytest.mark.nats


def test_a_port_already_taken_is_a_clear_error(nats_server: EmbeddedNats, tmp_path: Path) -> None:
    with pytest.raises(NatsServerError, match=f"port {nats_server.port} taken"):
        EmbeddedNats(tmp_path / "second", nats_server.port).start()


def test_serve_reuses_the_embedded_server_up_started_and_stops_only_its_own(
    tmp_path: Path,
) -> None:
    settings = Settings(var_dir=tmp_path / "var", nats_url="")
    with nats_for(settings) as first:
        assert not first.endswith(":4222")
        with nats_for(settings) as second:
            assert second == first  # a second process finds it through var/nats/url
        assert (tmp_path / "var" / "nats" / "url").read_text() == first
    assert not (tmp_path / "var" / "nats" / "url").exists()


def test_nats_url_wins_over_the_embedded_server(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", nats_url="nats://nats.example.invalid:4222")
    with nats_for(settings) as url:
        assert url == "nats://nats.example.invalid:4222"
    assert not (tmp_path / "var" / "nats").exists()
