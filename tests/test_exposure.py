"""`local.loopback-only`: a server of the stack that listens on 0.0.0.0 fails, named with its port."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

from harness.exposure import LoopbackWatch, _loopback
from harness.launchers.base import ProcessSpec, free_port
from tests import launching

if TYPE_CHECKING:
    from pathlib import Path


def http_server(name: str, bind: str, directory: Path) -> tuple[ProcessSpec, int]:
    port = free_port()
    argv = [sys.executable, "-m", "http.server", "--bind", bind, "--directory", str(directory),
            str(port)]
    return ProcessSpec(name=name, argv=argv, health_url=f"http://127.0.0.1:{port}/",
                       timeout_s=60), port


def test_a_server_on_all_interfaces_fails_naming_it_and_its_port(tmp_path: Path) -> None:
    supervisor = launching.supervisor(tmp_path)
    try:
        inside, inside_port = http_server("inside", "127.0.0.1", tmp_path)
        supervisor.start(inside)
        alone = LoopbackWatch(tmp_path / "pids.json")
        alone.sample()
        verdict = alone.result()
        assert verdict.status == "pass", verdict.message
        assert "inside" in verdict.message

        wide, wide_port = http_server("wide", "0.0.0.0", tmp_path)
        supervisor.start(wide)
        verdict = LoopbackWatch(tmp_path / "pids.json", interval_s=0.2).start().stop()
    finally:
        supervisor.stop_all()
    assert verdict.id == "local.loopback-only"
    assert verdict.status == "fail"
    assert f"wide listens on 0.0.0.0:{wide_port}" in verdict.message
    assert str(inside_port) not in verdict.message


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True), ("0.0.0.0", False),
    ("::", False), ("*", False), ("10.1.2.3", False), ("::ffff:10.1.2.3", False)])
def test_which_addresses_are_loopback(address: str, loopback: bool) -> None:
    assert _loopback(address) is loopback


def test_without_recorded_servers_it_is_skipped(tmp_path: Path) -> None:
    verdict = LoopbackWatch(tmp_path / "pids.json").stop()
    assert verdict.status == "skip"
