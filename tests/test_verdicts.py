"""Folding attempts per test node into one verdict per check id."""

from __future__ import annotations

from typing import Any

import pytest

from harness.verdicts import NO_RESULT, fold, fold_node


def node(*attempts: tuple[str, str], ident: str = "mlflow.x") -> dict[str, Any]:
    return {"id": ident, "nodeid": f"test_m.py::{ident}", "tool": ident.split(".", maxsplit=1)[0],
            "attempts": [{"status": status, "message": message} for status, message in attempts]}


@pytest.mark.parametrize(("attempts", "status", "message"), [
    ([("pass", "")], "pass", ""),
    ([("skip", "not here")], "skip", "not here"),
    ([("error", "refused"), ("pass", "")], "flaky", "passed on attempt 2; first failure: refused"),
    ([("error", "refused"), ("skip", "not here")], "error", "refused"),
    ([("error", "refused"), ("fail", "expected 1, got 2")], "fail", "expected 1, got 2"),
    ([("fail", "expected 1, got 2")], "fail", "expected 1, got 2"),
    ([], "error", NO_RESULT),
    ([(None, "")], "error", NO_RESULT),  # setup began, nothing was ever reported
])
def test_fold_node(attempts: list[tuple[str, str]], status: str, message: str) -> None:
    verdict = fold_node(node(*attempts))
    assert (verdict["status"], verdict["message"]) == (status, message)


def test_fold_keeps_the_worst_node_and_reports_selected_ids_without_result() -> None:
    nodes = [node(("pass", "")), node(("fail", "bad")), node(("skip", "n/a"), ident="dask.y")]
    selected = [{"id": i, "nodeid": f"test_m.py::{i}", "tool": i.split(".")[0]}
                for i in ("mlflow.x", "dask.y", "feast.z")]
    verdicts = {v["id"]: v["status"] for v in fold(nodes, selected)}
    assert verdicts == {"mlflow.x": "fail", "dask.y": "skip", "feast.z": "error"}
