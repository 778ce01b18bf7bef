"""A check that hangs is stopped at its tool's ceiling, with pytest-timeout's message."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from harness import ceilings

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

pytest_plugins = ["pytester"]

CHECKS = '''
import time
import pytest

CHECK_IDS = ("dask.hangs",)

@pytest.mark.check("dask.hangs")
def test_hangs(stack):
    time.sleep(120)
'''


def test_a_hanging_check_stops_at_its_ceiling(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ceilings.CEILING_S, "dask", 2.0)
    stack = tmp_path / "stack.json"
    # An endpoint the liveness gate does not probe: this test is about the ceiling alone.
    stack.write_text(json.dumps({"target": "external", "scenario": "s", "tools": {
        "dask": {"endpoints": {"other": "tcp://127.0.0.1:9"}}}}), encoding="utf-8")
    pytester.makepyfile(test_checks=CHECKS)
    results = tmp_path / "results.json"
    outcome = pytester.runpytest_inprocess("--stack", str(stack), "--results", str(results),
                                           "-p", "no:randomly")
    assert outcome.ret == 1
    [check] = json.loads(results.read_text(encoding="utf-8"))["checks"]
    assert check["status"] == "fail"
    assert "Timeout (>2.0s) from pytest-timeout" in check["message"]


def test_slow_tools_get_more_time_than_quick_ones() -> None:
    assert ceilings.ceiling_s("seldon.deploy") > ceilings.ceiling_s("dask.connect")
    assert ceilings.ceiling_s("journey.train-and-serve") >= ceilings.ceiling_s("seldon.deploy")
    assert ceilings.ceiling_s("newtool.x") == ceilings.DEFAULT_CEILING_S
