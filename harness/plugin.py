"""The pytest plugin that runs conformance checks: options, the `stack` fixture, results file.

Every check carries `@pytest.mark.check("tool.name")`; the tool part becomes a marker of its
own (`-m mlflow`). Results go to `--results` as JSON for the report to read.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from harness import ceilings, liveness
from harness.errors import ProvisionError
from harness.stack import Stack

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

TOOL_MARKERS = ("jupyterhub", "prefect", "dask", "feast", "mlflow", "seldon", "journey")
ENV_STACK = "HARNESS_STACK"
ENV_RESULTS = "HARNESS_RESULTS"
# Exceptions that mean "the infrastructure is not there", reported as `error`, not `fail`.
INFRA_ERRORS = (ProvisionError, ConnectionError, TimeoutError, requests.ConnectionError)
_RESULTS = pytest.StashKey[dict[str, dict[str, Any]]]()
_VERSIONS = pytest.StashKey[dict[str, dict[str, str]]]()
_STACK = pytest.StashKey[Stack]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the option group `mlops-conformance`."""
    group = parser.getgroup("mlops-conformance")
    group.addoption("--stack", default=os.environ.get(ENV_STACK),
                    help=f"stack.json of the deployment under test (env {ENV_STACK})")
    group.addoption("--results", default=os.environ.get(ENV_RESULTS),
                    help=f"write per-check results as JSON here (env {ENV_RESULTS})")


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers and the results store."""
    config.addinivalue_line(
        "markers", "check(id, requires=()): a conformance check's stable id; `requires` names "
        "the tools it needs when they are not just the one its id starts with")
    for tool in TOOL_MARKERS:
        config.addinivalue_line("markers", f"{tool}: checks of {tool}")
    config.stash[_RESULTS] = {}
    config.stash[_VERSIONS] = {}


def check_id(item: pytest.Item) -> str | None:
    """The stable id of a check item, or None for an ordinary test."""
    marker = item.get_closest_marker("check")
    return str(marker.args[0]) if marker else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each check the marker of its tool, so `-m mlflow` selects it."""
    for item in items:
        ident = check_id(item)
        if ident:
            item.add_marker(getattr(pytest.mark, ident.split(".", 1)[0]))
            item.add_marker(pytest.mark.timeout(ceilings.ceiling_s(ident)))


def _load_stack(config: pytest.Config) -> Stack:
    if _STACK not in config.stash:
        path = config.getoption("stack")
        if not path:
            pytest.exit(f"no stack: pass --stack FILE or set {ENV_STACK}", returncode=2)
        config.stash[_STACK] = Stack.load(Path(path))
    return config.stash[_STACK]


@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config) -> Stack:
    """The deployment under test, from `--stack`."""
    return _load_stack(pytestconfig)


@pytest.fixture(scope="session")
def record_version(pytestconfig: pytest.Config) -> Callable[[str, str, str], None]:
    """Record a version a check learned: `record_version("dask", "client", "2026.8.0")`."""
    versions = pytestconfig.stash[_VERSIONS]

    def record(tool: str, component: str, version: str) -> None:
        versions.setdefault(tool, {})[component] = version

    return record


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip, with its reason, a check whose tool is not in the stack or that the scenario skips.

    A hook rather than a fixture: it must act before any module-scoped fixture of the check
    reaches for a tool that is not there.
    """
    ident = check_id(item)
    if not ident:
        return
    current = _load_stack(item.config)
    tool = ident.split(".", 1)[0]
    for key in (ident, tool):
        if key in current.skip:
            pytest.skip(current.skip[key])
    marker = item.get_closest_marker("check")
    needed = tuple(marker.kwargs.get("requires", ())) if marker else ()
    for name in needed or (tool,):
        if name in current.skip:
            pytest.skip(current.skip[name])
        if name not in current.tools:
            pytest.skip(f"{name} is not part of this stack")
    liveness.gate(item, current, needed or (tool,))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Classify each outcome as the report needs it, and keep a one-line message."""
    report = yield
    ident = check_id(item)
    # pytest-rerunfailures marks a failed attempt that it will retry as outcome "rerun".
    failed = report.failed or str(report.outcome) == "rerun"
    if not ident or (report.when != "call" and not failed and not report.skipped):
        return report
    entry = item.config.stash[_RESULTS].setdefault(
        ident, {"id": ident, "nodeid": item.nodeid, "tool": ident.split(".", 1)[0],
                "attempts": 0, "duration_s": 0.0, "status": "pass", "message": ""})
    entry["duration_s"] = round(entry["duration_s"] + report.duration, 3)
    entry["attempts"] += report.when == "call"
    if report.skipped:
        entry["status"] = "skip"
        entry["message"] = _skip_reason(report)
    elif failed:
        liveness.suspect(item)
        infra = call.excinfo is not None and (
            call.when != "call" or isinstance(call.excinfo.value, INFRA_ERRORS)) \
            and not isinstance(call.excinfo.value, liveness.NotTheToolError)
        entry["status"] = "error" if infra else "fail"
        entry["message"] = call.excinfo.exconly()[:2000] if call.excinfo else str(report.longrepr)
    elif report.when == "call":
        entry["status"] = "flaky" if entry["status"] in {"fail", "error"} else "pass"
        entry["passed_at"] = time.time()
    return report


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the results file, if one was asked for."""
    path = session.config.getoption("results")
    if path:
        document = {"checks": list(session.config.stash[_RESULTS].values()),
                    "versions": session.config.stash[_VERSIONS]}
        Path(path).write_text(json.dumps(document, indent=2), encoding="utf-8")
