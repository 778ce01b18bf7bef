"""The pytest plugin, run with pytester against a fake stack: ids, markers, statuses, results."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

pytest_plugins = ["pytester"]

CHECKS = '''
import pathlib
import pytest
import requests

@pytest.mark.check("mlflow.passes")
def test_passes(stack, record_version):
    record_version("mlflow", "client", "9.9.9")
    assert stack.tools["mlflow"].endpoints["other"] == "http://127.0.0.1:9"

@pytest.mark.check("mlflow.fails")
def test_fails(stack):
    assert stack.secret("mlflow", "password") == "other", "mlflow: password: expected 'other'"

@pytest.mark.check("mlflow.unreachable")
def test_unreachable(stack):
    requests.get(stack.tools["mlflow"].endpoints["other"], timeout=2)

@pytest.mark.check("mlflow.flaky")
def test_flaky(stack, tmp_path_factory):
    marker = pathlib.Path(stack.base_dir) / "attempted"
    if not marker.exists():
        marker.write_text("1")
        raise AssertionError("first attempt fails")

@pytest.mark.check("mlflow.not-here")
def test_skipped_by_scenario(stack):
    raise AssertionError("must not run")

@pytest.mark.check("dask.connect")
def test_tool_absent(stack):
    raise AssertionError("must not run")
'''


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "password").write_text("s3cret-value\n", encoding="utf-8")
    stack = {"target": "local://", "scenario": "fake", "skip": {"mlflow.not-here": "not here"},
             # `other`, not `tracking`: the liveness gate would find the port closed
             "tools": {"mlflow": {"endpoints": {"other": "http://127.0.0.1:9"},
                                  "credentials": {"password": {"file": "secrets/password"}}}}}
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(stack), encoding="utf-8")
    return path


def test_statuses_and_results(pytester: pytest.Pytester, stack_file: Path) -> None:
    pytester.makepyfile(test_checks=CHECKS)
    results = pytester.path / "results.json"
    outcome = pytester.runpytest_subprocess(
        "--stack", str(stack_file), "--results", str(results), "--reruns", "1", "-p", "no:randomly")
    assert outcome.ret == 1
    document = json.loads(results.read_text(encoding="utf-8"))
    statuses = {c["id"]: c["status"] for c in document["checks"]}
    assert statuses == {
        "mlflow.passes": "pass", "mlflow.fails": "fail", "mlflow.unreachable": "error",
        "mlflow.flaky": "flaky", "mlflow.not-here": "skip", "dask.connect": "skip",
    }
    by_id = {c["id"]: c for c in document["checks"]}
    assert "expected 'other'" in by_id["mlflow.fails"]["message"]
    assert by_id["mlflow.not-here"]["message"] == "not here"
    assert by_id["dask.connect"]["message"] == "dask is not part of this stack"
    assert by_id["mlflow.flaky"]["attempts"] == 2
    assert document["versions"] == {"mlflow": {"client": "9.9.9"}}


def test_tool_marker_selects(pytester: pytest.Pytester, stack_file: Path) -> None:
    pytester.makepyfile(test_checks=CHECKS)
    outcome = pytester.runpytest_subprocess("--stack", str(stack_file), "-m", "dask",
                                            "--collect-only", "-q")
    outcome.stdout.fnmatch_lines(["*test_tool_absent*", "1/6 tests collected*"])


def test_missing_stack_is_a_clear_exit(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_checks=CHECKS)
    outcome = pytester.runpytest_subprocess("-k", "passes")
    assert outcome.ret == 2
    outcome.stdout.fnmatch_lines(["*no stack: pass --stack FILE or set HARNESS_STACK*"])
