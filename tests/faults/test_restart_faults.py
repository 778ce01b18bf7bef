"""A restart that restarts nothing: the target's control endpoint answers, but the processes
(or pods) before and after are the same ones. `mlflow.restart-persistence` must not pass on
data that merely stayed in a server that never went away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.control import serve_restarts
from tests.faults.conftest import started
from tests.faults.framework import assert_caught, broken_copy, run_check, write_stack

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.faults, pytest.mark.integration]


def test_a_restart_that_replaces_nothing(tmp_path: Path) -> None:
    with started(tmp_path / "stack", {"mlflow"}, "external-postgres") as mlflow:
        target = mlflow.target
        assert target.secrets is not None
        broken = broken_copy(mlflow.stack)
        # The same pid before and after: what a control endpoint that skipped the restart
        # would answer.
        same = serve_restarts(broken, target.secrets, "fault_control_token",
                              lambda tool: {tool: {"before": 4242, "after": 4242}})
        target.secrets.write_files()
        try:
            verdict = run_check(write_stack(broken, mlflow.directory, "no-restart"),
                                keyword="survives_a_restart")
        finally:
            same.stop()
    assert_caught(verdict, "mlflow.restart-persistence:nothing-restarted",
                  "mlflow.restart-persistence",
                  says=("every component replaced by the restart", "'before': 4242"))
