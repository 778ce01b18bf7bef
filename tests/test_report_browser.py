"""report.html as people read it: loaded in a real headless browser (Debian's Chromium,
driven by Playwright), and read from the rendered page: what is visible, in which order,
what opens on a click, what a cell says on hover, how long the phase bars are drawn.
"""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import pytest

from harness.report.model import CheckResult, Report, ScenarioRun, VersionDrift
from harness.report.render import write_all

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As a root process on a machine without a display or outside network (Chromium's own
# background fetches would only be refused).
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
FAILURE = "AssertionError: mlflow: predictions: expected [1], got [0]"


def _report(*, failing: bool) -> Report:
    checks = [
        CheckResult(id="mlflow.log-run", tool="mlflow", status="pass", duration_s=1.5),
        CheckResult(id="mlflow.model-registry", tool="mlflow",
                    status="fail" if failing else "pass", duration_s=2.0,
                    message=FAILURE if failing else "",
                    step="call at test_mlflow.py:88 (test_model_registry)" if failing else "",
                    diagnostics="logs/mlflow.log, logs/checks.log" if failing else None),
        CheckResult(id="dask.array", tool="dask", status="flaky" if failing else "pass",
                    attempts=2, message="passed on attempt 2; first failure: reset"
                    if failing else ""),
        CheckResult(id="prefect.deployment-run", tool="prefect", status="skip",
                    message="agent_enabled = false: no worker runs"),
    ]
    run = ScenarioRun(
        scenario="defaults", target="local://", checks=checks,
        versions={"mlflow": {"server": "3.17.2"}},
        version_drift=[VersionDrift(tool="mlflow", component="server", ran="3.17.2",
                                    chart="3.6.0", source="chart appVersion")],
        phases_s={"provision": 40.0, "checks": 20.0, "teardown": 4.0},
        log_tails={"mlflow": "==> logs/mlflow.log <==\nERROR predictions drifted"}
        if failing else {},
        exit_code=1 if failing else 0)
    other = ScenarioRun(scenario="oauth", target="local://", exit_code=0, checks=[
        CheckResult(id="mlflow.log-run", tool="mlflow", status="pass")])
    return Report(run_id="r-browser", harness_version="0.1.0", runs=[run, other])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH: `apt-get install chromium` (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def _open(browser: Any, report: Report, directory: Path) -> tuple[Any, list[str]]:
    """The report's page, loaded; and every URL it asked for."""
    write_all(report, directory)
    page = browser.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto((directory / "report.html").as_uri())
    return page, requested


def test_a_failing_report_opens_with_the_verdict_and_its_failures(browser: Any,
                                                                  tmp_path: Path) -> None:
    page, requested = _open(browser, _report(failing=True), tmp_path)
    assert requested == [(tmp_path / "report.html").as_uri()]  # one self-contained file
    assert page.inner_text("#verdict-word") == "FAILED"
    assert page.eval_on_selector("#verdict", "e => getComputedStyle(e).backgroundColor") == \
        "rgb(253, 226, 225)"
    assert page.inner_text("#counts") == "2 pass, 1 flaky, 1 fail, 1 skip"
    assert page.inner_text("#drift").startswith("1 component")
    # Failures come first, before the matrix, failed before flaky.
    headings = [h.inner_text() for h in page.query_selector_all("h2")]
    assert headings[:2] == ["Failures first", "Matrix"]
    first, second = page.query_selector_all("article.failure")
    assert "mlflow.model-registry · fail" in first.inner_text()
    assert "step: call at test_mlflow.py:88 (test_model_registry)" in first.inner_text()
    assert FAILURE in first.inner_text()
    assert "dask.array · flaky" in second.inner_text()
    # The tool's log tail is folded until asked for.
    tail = first.query_selector("details.log pre")
    assert not tail.is_visible()
    first.query_selector("details.log summary").click()
    assert tail.is_visible() and "ERROR predictions drifted" in tail.inner_text()


def test_the_matrix_groups_by_tool_and_says_why_on_hover(browser: Any, tmp_path: Path) -> None:
    page, _ = _open(browser, _report(failing=True), tmp_path)
    groups = [g.get_attribute("data-tool") for g in page.query_selector_all("tbody.tool")]
    assert groups == ["dask", "mlflow", "prefect"]
    cell = page.query_selector("tbody.tool[data-tool=mlflow] tr:nth-child(3) td.cell")
    assert cell.inner_text() == "fail"
    assert cell.get_attribute("title") == FAILURE
    assert page.eval_on_selector("tbody.tool[data-tool=mlflow] tr:nth-child(3) td.cell",
                                 "e => getComputedStyle(e).backgroundColor") == \
        "rgb(253, 226, 225)"
    versions = page.inner_text("#matrix thead")
    assert "mlflow server" in versions and "3.17.2" in versions  # on top of the columns


def test_tools_fold_and_phases_draw_to_scale(browser: Any, tmp_path: Path) -> None:
    page, _ = _open(browser, _report(failing=True), tmp_path)
    run = page.query_selector("#run-1")
    failing = run.query_selector("details.tool[data-tool=mlflow] table")
    quiet = run.query_selector("details.tool[data-tool=prefect] table")
    assert failing.is_visible() and not quiet.is_visible()  # a tool with failures is open
    run.query_selector("details.tool[data-tool=prefect] summary").click()
    assert quiet.is_visible() and "agent_enabled = false" in quiet.inner_text()
    widths = [bar.bounding_box()["width"] for bar in run.query_selector_all(".bar > span")]
    assert len(widths) == 3 and widths[0] > 0
    assert widths[1] == pytest.approx(widths[0] / 2, rel=0.02)  # 20 s against 40 s
    assert widths[2] == pytest.approx(widths[0] / 10, rel=0.05)


def test_a_passing_report_says_so_and_has_no_failures(browser: Any, tmp_path: Path) -> None:
    page, _ = _open(browser, _report(failing=False), tmp_path)
    assert page.inner_text("#verdict-word") == "PASSED"
    assert page.eval_on_selector("#verdict", "e => getComputedStyle(e).backgroundColor") == \
        "rgb(227, 246, 232)"
    assert page.query_selector("#failures") is None
    assert not page.query_selector("#run-1 details.tool[data-tool=mlflow] table").is_visible()
