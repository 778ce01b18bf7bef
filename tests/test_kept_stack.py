"""A stack kept with `--keep` outlives the harness: it offers no endpoint that died with it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.run import _forget_restarts
from harness.stack import SecretRef, Stack, ToolEntry

if TYPE_CHECKING:
    from pathlib import Path


def test_kept_stack_lists_no_restart_endpoints(tmp_path: Path) -> None:
    stack = Stack(target="local://", scenario="defaults", tools={
        "mlflow": ToolEntry(
            endpoints={"tracking": "http://127.0.0.1:5000",
                       "restart": "http://127.0.0.1:6000/restart/mlflow"},
            credentials={"restart": SecretRef(file="secrets/control_token"),
                         "database": SecretRef(file="secrets/db")})})
    stack.save(tmp_path / "stack.json")
    _forget_restarts(tmp_path / "stack.json")
    kept = Stack.load(tmp_path / "stack.json")
    assert kept.tools["mlflow"].endpoints == {"tracking": "http://127.0.0.1:5000"}
    assert set(kept.tools["mlflow"].credentials) == {"database"}
