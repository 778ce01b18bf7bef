"""Servers start with an allow-listed environment: the harness's settings and secrets stay home."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import pytest

from harness.errors import ProvisionError
from harness.launchers.base import TaskSpec
from harness.launchers.dask import DaskLauncher
from harness.process_env import process_env
from tests import launching

if TYPE_CHECKING:
    from pathlib import Path

CANARY = "canary-@:/#%?&+-env"
LEAKY = {"HARNESS_CANARY_SETTING": CANARY, "TF_VAR_db_password": CANARY,
         "HARNESS_EXTERNAL_POSTGRES_DSN": f"postgresql://admin:{CANARY}@127.0.0.1:1/postgres"}


def test_only_allow_listed_variables_pass() -> None:
    harness_env = {"PATH": "/bin", "LC_ALL": "C.UTF-8", "AWS_SECRET_ACCESS_KEY": "x", **LEAKY}
    assert process_env({"OWN": "1"}, harness_env) == {"PATH": "/bin", "LC_ALL": "C.UTF-8",
                                                      "OWN": "1"}


def test_a_spec_cannot_pass_harness_variables() -> None:
    with pytest.raises(ProvisionError, match="HARNESS_STACK: a server's environment"):
        process_env({"HARNESS_STACK": "x"}, {})


def test_a_task_sees_only_the_allow_list_and_its_own(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in LEAKY.items():
        monkeypatch.setenv(name, value)
    supervisor = launching.supervisor(tmp_path)
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    supervisor.run_task(TaskSpec(name="env", argv=[sys.executable, "-c", code],
                                 env={"OWN": "1"}))
    log = (tmp_path / "logs" / "env.log").read_text(encoding="utf-8")
    assert '"OWN": "1"' in log
    assert CANARY not in log
    assert "HARNESS_" not in log
    assert "TF_VAR_" not in log


@pytest.mark.integration
def test_a_dask_worker_shows_no_harness_variable(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Any Dask client can ask a worker for its environment: it holds the scenario's worker
    variables and the allow-list, never a HARNESS_* or TF_VAR_* variable or an admin DSN.
    """
    for name, value in LEAKY.items():
        monkeypatch.setenv(name, value)
    launcher = DaskLauncher(launching.context(tmp_path, "dask", worker_replicas=1))
    supervisor = launching.supervisor(tmp_path)
    try:
        launching.start(supervisor, launcher)
        from distributed import Client

        with Client(launcher.scheduler_address, timeout=30) as client:
            environments = client.run(lambda: dict(os.environ))
    finally:
        supervisor.stop_all()
    assert len(environments) == 1
    worker_env = next(iter(environments.values()))
    leaked = sorted(k for k in worker_env if k.startswith(("HARNESS_", "TF_VAR_")))
    assert leaked == []
    assert CANARY not in repr(worker_env)
    expected = {"PLATFORM_TEAM": "mlops-conformance", "OMP_NUM_THREADS": "1"}
    assert {k: worker_env.get(k) for k in expected} == expected
    assert worker_env["PATH"] == os.environ["PATH"]
