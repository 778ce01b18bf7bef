"""The tail of a failing tool's logs in the report (`harness.run.log_tail`): each of its
server logs' last lines under their names, read from the end of large files, secrets masked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.run import LOG_TAIL_LINES, log_tail

if TYPE_CHECKING:
    from pathlib import Path


def test_the_last_lines_of_each_server_log_with_secrets_masked(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "mlflow.log").write_text("".join(f"line {n}\n" for n in range(100_000))
                                     + "ERROR login as admin:hunter2 refused\n")
    (logs / "mlflow-postgres.log").write_text("ready\n")
    (logs / "dask-scheduler.log").write_text("not mlflow's\n")
    tail = log_tail(tmp_path, "mlflow", lambda text: text.replace("hunter2", "***"))
    assert tail.splitlines() == [
        "==> logs/mlflow-postgres.log <==", "ready",
        "==> logs/mlflow.log <==",
        *(f"line {n}" for n in range(100_000 - LOG_TAIL_LINES + 1, 100_000)),
        "ERROR login as admin:*** refused"]
    assert log_tail(tmp_path, "feast", str) == ""
