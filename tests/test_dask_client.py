"""The checks' Dask client process: how it answers what it cannot do, and how it ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.dask_client import DaskClient, DaskClientError, running_version
from harness.launchers.base import PythonEnv, free_port

if TYPE_CHECKING:
    from pathlib import Path


def test_an_unknown_request_is_an_error_and_the_client_goes_on(tmp_path: Path) -> None:
    # No scheduler listens there: a request that needs none is answered all the same.
    with DaskClient(PythonEnv(), f"tcp://127.0.0.1:{free_port()}", tmp_path / "c.log") as client:
        with pytest.raises(DaskClientError, match=r"no operation 'close'"):
            client.ask("close")
        with pytest.raises(DaskClientError, match=r"no operation 'nope'"):
            client.ask("nope")
        process = client._process  # that it ends with its input is the point
    assert process is not None
    assert process.poll() == 0


def test_a_client_that_cannot_start_names_its_log(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'no Dask here' >&2\nexit 3\n", encoding="utf-8")
    broken.chmod(0o755)
    with DaskClient(PythonEnv(broken), "tcp://127.0.0.1:9", tmp_path / "c.log") as client, \
            pytest.raises(DaskClientError, match=r"exited \(3\): no Dask here"):
        client.ask("identity")


def test_no_version_is_read_where_no_scheduler_answers() -> None:
    assert running_version(f"tcp://127.0.0.1:{free_port()}") is None
