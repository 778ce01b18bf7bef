"""Report rendering: report.json to JUnit, Markdown and HTML, with failures, errors and skips."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import pytest

from harness.errors import BadInputError
from harness.report.model import CheckResult, Report, ScenarioRun, exit_code_for
from harness.report.render import to_html, to_junit, to_markdown, write_all

if TYPE_CHECKING:
    from pathlib import Path


def sample() -> Report:
    checks = [
        CheckResult(id="mlflow.log-run", tool="mlflow", status="pass", duration_s=1.5),
        CheckResult(id="mlflow.model-registry", tool="mlflow", status="fail", duration_s=2.0,
                    message="AssertionError: mlflow: predictions: expected [1], got [0]",
                    diagnostics="logs/"),
        CheckResult(id="dask.connect", tool="dask", status="error",
                    message="ConnectionRefusedError: dask scheduler", diagnostics="logs/"),
        CheckResult(id="dask.array", tool="dask", status="flaky", attempts=2,
                    message="passed on attempt 2; first failure: ConnectionResetError: reset"),
        CheckResult(id="prefect.deployment", tool="prefect", status="skip",
                    message="agent_enabled is false: no worker runs"),
    ]
    run = ScenarioRun(scenario="defaults", target="local://", checks=checks,
                      versions={"mlflow": {"server": "3.17.2"}, "dask": {"scheduler": "2026.8.0"}},
                      phases_s={"provision": 20.0, "checks": 10.0}, exit_code=3,
                      findings=["JupyterHub: the documented shared password is in effect"])
    other = ScenarioRun(scenario="oauth", target="local://", checks=[
        CheckResult(id="mlflow.log-run", tool="mlflow", status="pass")])
    return Report(run_id="r1", harness_version="0.1.0", runs=[run, other])


def test_junit_one_suite_per_scenario_with_stable_names() -> None:
    root = ET.fromstring(to_junit(sample()))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["defaults", "oauth"]
    first = suites[0]
    assert (first.get("tests"), first.get("failures"), first.get("errors"), first.get("skipped")) \
        == ("5", "1", "1", "1")
    cases = {c.get("name"): c for c in first.findall("testcase")}
    assert cases["mlflow.model-registry"].get("classname") == "defaults.mlflow"
    failure = cases["mlflow.model-registry"].find("failure")
    assert failure is not None
    assert "expected [1], got [0]" in (failure.get("message") or "")
    assert "diagnostics: logs/" in (failure.text or "")
    assert cases["dask.connect"].find("error") is not None
    skipped = cases["prefect.deployment"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "agent_enabled is false: no worker runs"
    assert cases["dask.array"].find("failure") is None
    versions = {p.get("name"): p.get("value") for p in first.iter("property")}
    assert versions["version.mlflow.server"] == "3.17.2"


def test_markdown_matrix_has_versions_rows_and_columns() -> None:
    text = to_markdown(sample())
    assert "| | defaults | oauth |" in text
    assert "| mlflow server | `3.17.2` | `–` |" in text
    assert "| `mlflow.log-run` | ✅ pass | ✅ pass |" in text
    assert "| `dask.connect` | 💥 error | – |" in text
    assert "| `prefect.deployment` | ⏭️ skip | – |" in text
    assert "agent_enabled is false: no worker runs" in text
    assert "finding: JupyterHub: the documented shared password is in effect" in text
    assert "- flaky: `dask.array`: passed on attempt 2; first failure: ConnectionResetError" in text
    assert "passed on attempt 2; first failure: ConnectionResetError" in to_html(sample())


def test_html_is_self_contained_and_escaped() -> None:
    report = sample()
    report.runs[0].checks[1].message = "<script>alert(1)</script>"
    page = to_html(report)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "http://" not in page and "https://" not in page  # no external assets
    assert 'class="fail"' in page and "dask.connect" in page


def test_write_all_and_reload(tmp_path: Path) -> None:
    paths = write_all(sample(), tmp_path)
    assert sorted(p.name for p in paths) == ["junit.xml", "report.html", "report.json", "report.md"]
    again = Report.load(tmp_path / "report.json")
    assert again == sample().model_copy(update={"created_at": again.created_at})
    assert again.exit_code == 3


def test_load_rejects_other_files(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"schema_version": 9}', encoding="utf-8")
    with pytest.raises(BadInputError, match="not a readable report.json"):
        Report.load(tmp_path / "x.json")


@pytest.mark.parametrize(("statuses", "errors", "code"), [
    (["pass", "skip", "flaky"], [], 0),
    (["pass", "fail"], [], 1),
    (["fail", "error"], [], 3),
    (["pass"], ["postgres did not start"], 3),
])
def test_exit_codes(statuses: list[str], errors: list[str], code: int) -> None:
    checks = [CheckResult(id=f"t.c{i}", tool="t", status=s) for i, s in enumerate(statuses)]  # type: ignore[arg-type]
    assert exit_code_for(checks, errors) == code


def test_fail_on_flaky_makes_a_flaky_check_fail_the_run() -> None:
    checks = [CheckResult(id="t.a", tool="t", status="pass"),
              CheckResult(id="t.b", tool="t", status="flaky")]
    assert exit_code_for(checks, []) == 0
    assert exit_code_for(checks, [], fail_on_flaky=True) == 1
    assert exit_code_for(checks[:1], [], fail_on_flaky=True) == 0


def test_compare_lists_regressions() -> None:
    from harness.report.compare import compare

    before, after = sample(), sample()
    after.runs[0].checks[0].status = "fail"       # mlflow.log-run: pass -> fail
    after.runs[0].checks[1].status = "pass"       # mlflow.model-registry: fail -> pass
    after.runs[0].checks.pop(3)                   # dask.array (flaky) disappears
    changes = {(c.check, c.before, c.after): c.kind for c in compare(before, after)}
    assert changes == {
        ("mlflow.log-run", "pass", "fail"): "regression",
        ("mlflow.model-registry", "fail", "pass"): "changed",
        ("dask.array", "flaky", "missing"): "lost coverage",
    }


@pytest.mark.parametrize(("before", "after", "kind"), [
    ("pass", "skip", "lost coverage"),
    ("flaky", "skip", "lost coverage"),
    ("pass", "missing", "lost coverage"),
    ("skip", "pass", "changed"),
    ("missing", "fail", "changed"),
    ("fail", "skip", "changed"),
    ("pass", "flaky", "regression"),
    ("flaky", "error", "regression"),
])
def test_compare_tells_lost_coverage_from_regressions(before: str, after: str, kind: str) -> None:
    from harness.report.compare import Change

    assert Change("defaults", "mlflow.log-run", before, after).kind == kind
