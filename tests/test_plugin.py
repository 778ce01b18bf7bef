"""The pytest plugin, run with pytester against a fake stack: ids, markers, statuses, results."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from harness.checks_runner import retry_policy

if TYPE_CHECKING:
    from pathlib import Path

pytest_plugins = ["pytester"]

CHECKS = '''
import pathlib
import pytest
import requests

CHECK_IDS = ("mlflow.passes", "mlflow.fails", "mlflow.unreachable", "mlflow.flaky",
             "mlflow.not-here", "dask.connect")

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
        raise ConnectionResetError("first attempt: reset while the server settles")

@pytest.mark.check("mlflow.not-here")
def test_skipped_by_scenario(stack):
    raise AssertionError("must not run")

@pytest.mark.check("dask.connect")
def test_tool_absent(stack):
    raise AssertionError("must not run")
'''


def _line(source: str, text: str) -> int:
    """The line of `source` (as pytester writes it: without its first, empty line) holding
    `text`.
    """
    return next(n for n, line in enumerate(source.splitlines()) if text in line)


def write_fake_stack(directory: Path) -> Path:
    """A stack file in `directory` (created): MLflow only, one credential, one check skipped."""
    (directory / "secrets").mkdir(parents=True)
    (directory / "secrets" / "password").write_text("s3cret-value\n", encoding="utf-8")
    stack = {"target": "local://", "scenario": "fake", "skip": {"mlflow.not-here": "not here"},
             # `other`, not `tracking`: the liveness gate would find the port closed
             "tools": {"mlflow": {"endpoints": {"other": "http://127.0.0.1:9"},
                                  "credentials": {"password": {"file": "secrets/password"}}}}}
    path = directory / "stack.json"
    path.write_text(json.dumps(stack), encoding="utf-8")
    return path


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    return write_fake_stack(tmp_path)


def test_statuses_and_results(pytester: pytest.Pytester, stack_file: Path) -> None:
    pytester.makepyfile(test_checks=CHECKS)
    results = pytester.path / "results.json"
    outcome = pytester.runpytest_subprocess(
        "--stack", str(stack_file), "--results", str(results), *retry_policy(1), "-p", "no:randomly")
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
    assert "first failure: mlflow: ConnectionResetError: first attempt" in by_id["mlflow.flaky"]["message"]
    assert by_id["mlflow.fails"]["attempts"] == 1, "an assertion about the tool is never retried"
    # Where it failed: the phase and the check's own line.
    assert by_id["mlflow.fails"]["step"] == \
        f"call at test_checks.py:{_line(CHECKS, 'assert stack.secret')} (test_fails)"
    assert by_id["mlflow.flaky"]["step"] == \
        f"call at test_checks.py:{_line(CHECKS, 'raise ConnectionResetError')} (test_flaky)"
    assert "credentials used: mlflow.password from file secrets/password" in \
        by_id["mlflow.fails"]["message"]
    assert {n["nodeid"].rsplit("/", 1)[-1] for n in document["nodes"]} == {
        f"test_checks.py::{name}" for name in ("test_passes", "test_fails", "test_unreachable",
                                               "test_flaky", "test_skipped_by_scenario",
                                               "test_tool_absent")}
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


def run_checks_module(pytester: pytest.Pytester, stack_file: Path, source: str,
                      *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    """Run one check module as the harness runs checks; return pytest's result and the
    results file (its verdicts by id, and `collection_errors`).
    """
    pytester.makepyfile(test_checks=source)
    results = pytester.path / "results.json"
    outcome = pytester.runpytest(  # in process: a few seconds less per case
        "--stack", str(stack_file), "--results", str(results), *retry_policy(1),
        "-p", "no:randomly", *args)
    document = json.loads(results.read_text(encoding="utf-8")) if results.exists() else {}
    verdicts: dict[str, Any] = {c["id"]: c for c in document.get("checks", [])}
    verdicts["collection_errors"] = document.get("collection_errors", [])
    return outcome, verdicts


ONCE = '''
import pathlib

def first_time(stack, name):
    marker = pathlib.Path(stack.base_dir) / name
    if marker.exists():
        return False
    marker.write_text("1")
    return True
'''


def test_an_assertion_is_never_retried(pytester: pytest.Pytester, stack_file: Path) -> None:
    outcome, checks = run_checks_module(pytester, stack_file, ONCE + '''
import pytest
CHECK_IDS = ("mlflow.assertion",)

@pytest.mark.check("mlflow.assertion")
def test_assertion(stack):
    assert not first_time(stack, "assertion"), "mlflow: expected the run, got none"
''')
    assert outcome.ret == 1
    assert checks["mlflow.assertion"]["status"] == "fail"
    assert checks["mlflow.assertion"]["attempts"] == 1


def test_a_skip_on_a_retry_never_hides_the_failure(
    pytester: pytest.Pytester, stack_file: Path
) -> None:
    outcome, checks = run_checks_module(pytester, stack_file, ONCE + '''
import pytest
CHECK_IDS = ("mlflow.skips-later",)

@pytest.mark.check("mlflow.skips-later")
def test_skips_later(stack):
    if first_time(stack, "skip"):
        raise ConnectionRefusedError("mlflow: refused")
    pytest.skip("not applicable after all")
''')
    verdict = checks["mlflow.skips-later"]
    assert (verdict["status"], verdict["attempts"]) == ("error", 2)
    assert "ConnectionRefusedError: mlflow: refused" in verdict["message"]


def test_a_product_failure_in_a_shared_fixture_is_a_failed_check(
    pytester: pytest.Pytester, stack_file: Path
) -> None:
    outcome, checks = run_checks_module(pytester, stack_file, '''
import pytest
from harness.checks import expect
CHECK_IDS = ("mlflow.login", "mlflow.after-login", "mlflow.connect")

@pytest.fixture(scope="module")
def session(stack):
    expect("mlflow", False, "the login to be accepted", "HTTP 403")

@pytest.fixture(scope="module")
def connection(stack):
    raise ConnectionRefusedError("mlflow: connection refused")

@pytest.mark.check("mlflow.login")
def test_login(session):
    pass

@pytest.mark.check("mlflow.after-login")
def test_after_login(session):
    pass

@pytest.mark.check("mlflow.connect")
def test_connect(connection):
    pass
''')
    statuses = {ident: checks[ident]["status"]
                for ident in ("mlflow.login", "mlflow.after-login", "mlflow.connect")}
    assert statuses == {"mlflow.login": "fail", "mlflow.after-login": "fail",
                        "mlflow.connect": "error"}
    assert "expected the login to be accepted, got 'HTTP 403'" in checks["mlflow.login"]["message"]
    assert checks["mlflow.login"]["step"].startswith("setup at test_checks.py:")  # a fixture
    assert checks["mlflow.login"]["step"].endswith(" (session)")
    assert outcome.ret == 1


def test_a_failure_in_a_client_library_s_words_names_the_tool(
    pytester: pytest.Pytester, stack_file: Path
) -> None:
    _outcome, checks = run_checks_module(pytester, stack_file, '''
import pytest
CHECK_IDS = ("mlflow.client", "mlflow.own")

@pytest.mark.check("mlflow.client")
def test_client(stack):
    raise RuntimeError("Failed to reach API at http://127.0.0.1:9/api/")

@pytest.mark.check("mlflow.own")
def test_own(stack):
    raise AssertionError("mlflow: expected 1, got 2")
''')
    assert checks["mlflow.client"]["message"].startswith(
        "mlflow: RuntimeError: Failed to reach API")
    assert checks["mlflow.own"]["message"] == "AssertionError: mlflow: expected 1, got 2"


def test_a_selected_check_without_a_result_is_an_error(
    pytester: pytest.Pytester, stack_file: Path
) -> None:
    outcome, checks = run_checks_module(pytester, stack_file, '''
import pytest
CHECK_IDS = ("mlflow.first", "mlflow.never")

@pytest.mark.check("mlflow.first")
def test_first(stack):
    raise AssertionError("mlflow: stop here")

@pytest.mark.check("mlflow.never")
def test_never(stack):
    pass
''', "-x")
    assert checks["mlflow.first"]["status"] == "fail"
    assert checks["mlflow.never"]["status"] == "error"
    assert checks["mlflow.never"]["message"].startswith("no result recorded")
    assert outcome.ret == 1


BAD_MODULES = [
    ('''
import pytest
CHECK_IDS = ("mlflow.same",)

@pytest.mark.check("mlflow.same")
def test_one(stack):
    pass

@pytest.mark.check("mlflow.same")
def test_two(stack):
    pass
''', "check id 'mlflow.same' is carried by more than one check"),
    ('''
import pytest
CHECK_IDS = ("mlflow.declared", "mlflow.forgotten")

@pytest.mark.check("mlflow.declared")
def test_one(stack):
    pass

@pytest.mark.check("mlflow.undeclared")
def test_two(stack):
    pass
''', "declared but carried by no check ['mlflow.forgotten'], carried but not declared "
     "['mlflow.undeclared']"),
    ('''
import pytest

@pytest.mark.check("mlflow.anonymous")
def test_one(stack):
    pass
''', "declares no CHECK_IDS"),
    ("import no_such_module_anywhere\n", "ModuleNotFoundError: No module named"),
]


@pytest.mark.parametrize(("source", "problem"), BAD_MODULES,
                         ids=["duplicate-id", "declaration-differs", "no-declaration",
                              "import-error"])
def test_a_bad_check_module_is_a_collection_error_naming_it(
    pytester: pytest.Pytester, stack_file: Path, source: str, problem: str
) -> None:
    outcome, checks = run_checks_module(pytester, stack_file, source)
    assert outcome.ret == 2  # pytest: interrupted by errors during collection
    errors = checks["collection_errors"]
    assert [e["nodeid"].rsplit("/", 1)[-1] for e in errors] == ["test_checks.py"]
    assert problem in errors[0]["message"]


def test_an_id_in_two_modules_is_a_collection_error(
    pytester: pytest.Pytester, stack_file: Path
) -> None:
    module = '''
import pytest
CHECK_IDS = ("dask.connect",)

@pytest.mark.check("dask.connect")
def test_connect(stack):
    pass
'''
    pytester.makepyfile(test_a=module, test_b=module)
    results = pytester.path / "results.json"
    outcome = pytester.runpytest("--stack", str(stack_file), "--results", str(results))
    assert outcome.ret == 2
    errors = json.loads(results.read_text(encoding="utf-8"))["collection_errors"]
    assert [e["nodeid"].rsplit("/", 1)[-1] for e in errors] == ["test_b.py"]
    assert errors[0]["message"].startswith("check id 'dask.connect' is also carried by ")
    assert errors[0]["message"].endswith("test_a.py")
