"""The pytest plugin that runs conformance checks: options, the `stack` fixture, results file.

Every check carries `@pytest.mark.check("tool.name")`; the tool part becomes a marker of its
own (`-m mlflow`). Each check module declares the ids it runs, `CHECK_IDS = ("tool.name", ...)`,
and collection fails for a module whose checks differ from its declaration or reuse an id.
Results go to `--results` as JSON, rewritten after every check so that a run stopped half way
still says which selected checks never reported: per test node and attempt (`nodes`), the ids
selected at collection (`selected`), failed collections (`collection_errors`) and one folded
verdict per id (`checks`). Run by pytest-xdist, each worker writes its own part and the
controller merges them (`harness/worker_results.py`): the file reads the same either way.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from harness import ceilings, liveness
from harness.check_ids import DECLARATION
from harness.errors import ProvisionError
from harness.stack import Stack
from harness.verdicts import fold
from harness.worker_results import merge, part_path, write_atomically

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

TOOL_MARKERS = ("jupyterhub", "prefect", "dask", "feast", "mlflow", "seldon", "journey")
ENV_STACK = "HARNESS_STACK"
ENV_RESULTS = "HARNESS_RESULTS"
# Exceptions that mean "the infrastructure is not there", reported as `error`, not `fail`.
INFRA_ERRORS = (ProvisionError, ConnectionError, TimeoutError, requests.ConnectionError)
_NODES = pytest.StashKey[dict[str, dict[str, Any]]]()
_SELECTED = pytest.StashKey[list[dict[str, Any]]]()
_COLLECTION_ERRORS = pytest.StashKey[list[dict[str, str]]]()
_CLAIMED = pytest.StashKey[dict[str, str]]()  # check id -> the module that carries it
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
    config.stash[_NODES] = {}
    config.stash[_SELECTED] = []
    config.stash[_COLLECTION_ERRORS] = []
    config.stash[_CLAIMED] = {}
    config.stash[_VERSIONS] = {}
    if _distributing(config) and config.getoption("results", None):
        config.pluginmanager.register(_Controller(config), "mlops-conformance-controller")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Checks go to workers a tool at a time (`harness/check_scheduling.py`); any other
    pytest run under xdist keeps its own scheduling.
    """
    if not config.getoption("stack", None):
        return None
    from harness.check_scheduling import ToolScheduling  # noqa: PLC0415 - xdist runs only

    return ToolScheduling(config, log)


def _worker(config: pytest.Config) -> str | None:
    """The pytest-xdist worker this process is (`gw0`, ...), or None."""
    workerinput: dict[str, Any] = getattr(config, "workerinput", {})
    return workerinput.get("workerid")


def _distributing(config: pytest.Config) -> bool:
    """Whether this process hands the checks to pytest-xdist workers (and runs none itself)."""
    return (_worker(config) is None and config.pluginmanager.hasplugin("xdist")
            and bool(config.getoption("numprocesses", None))
            and config.getoption("dist", "no") != "no")


class _Controller:
    """The xdist controller's part: merge the workers' results after every check (registered
    only when a results file is asked for).
    """

    def __init__(self, config: pytest.Config) -> None:
        self.results = str(config.getoption("results"))

    def pytest_xdist_node_collection_finished(self, node: object, ids: list[str]) -> None:
        # What was selected, on disk before any check runs (a worker writes it first).
        del node, ids
        merge(self.results)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # A worker writes its part before it sends the teardown report: the part is current.
        if report.when == "teardown":
            merge(self.results)


def check_id(item: pytest.Item) -> str | None:
    """The stable id of a check item, or None for an ordinary test."""
    marker = item.get_closest_marker("check")
    return str(marker.args[0]) if marker else None


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Fail the collection of a module whose checks differ from its `CHECK_IDS`; remember
    every failed collection (an import error, a bad declaration) with its module.
    """
    report = yield
    config = collector.config
    if isinstance(collector, pytest.Module) and report.passed:
        problem = _declaration_problem(collector, report.result, config.stash[_CLAIMED])
        if problem:
            report.outcome = "failed"
            report.longrepr = problem
            report.result = []
    if report.failed:
        config.stash[_COLLECTION_ERRORS].append(
            {"nodeid": report.nodeid or ".", "message": _collection_message(report)})
    return report


def _declaration_problem(
    module: pytest.Module, nodes: list[pytest.Item | pytest.Collector], claimed: dict[str, str]
) -> str | None:
    """What is wrong with the module's checks against its declaration, or None."""
    ids = [ident for node in nodes if isinstance(node, pytest.Item)
           for ident in [check_id(node)] if ident]
    declared = getattr(module.obj, DECLARATION, None)
    if declared is None:
        return f"declares no {DECLARATION}, but carries checks {sorted(ids)}" if ids else None
    duplicated = sorted(ident for ident, count in Counter(ids).items() if count > 1)
    if duplicated:
        return f"check id {duplicated[0]!r} is carried by more than one check"
    for ident in ids:
        if claimed.get(ident, module.nodeid) != module.nodeid:
            return f"check id {ident!r} is also carried by {claimed[ident]}"
    missing, undeclared = sorted(set(declared) - set(ids)), sorted(set(ids) - set(declared))
    if missing or undeclared:
        return (f"{DECLARATION} does not match its checks: declared but carried by no check "
                f"{missing}, carried but not declared {undeclared}")
    claimed.update(dict.fromkeys(ids, module.nodeid))
    return None


def _collection_message(report: pytest.CollectReport) -> str:
    text = str(report.longrepr).strip()
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    return (errors[-1] if errors else text.splitlines()[-1] if text else "collection failed")[:500]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give each check the marker of its tool, so `-m mlflow` selects it."""
    for item in items:
        ident = check_id(item)
        if ident:
            item.add_marker(getattr(pytest.mark, ident.split(".", 1)[0]))
            item.add_marker(pytest.mark.timeout(ceilings.ceiling_s(ident)))


@pytest.hookimpl(tryfirst=True)  # before xdist's worker reports its collection
def pytest_collection_finish(session: pytest.Session) -> None:
    """Record which checks the selection kept: each of them must report a result."""
    session.config.stash[_SELECTED] = [
        {"id": ident, "nodeid": item.nodeid, "tool": ident.split(".", 1)[0],
         "needs": _needs(item, ident)}
        for item in session.items for ident in [check_id(item)] if ident]
    _write_results(session.config)


def _needs(item: pytest.Item, ident: str) -> list[str]:
    """The tools a check needs: its `requires`, else the tool its id starts with."""
    marker = item.get_closest_marker("check")
    return list(marker.kwargs.get("requires", ()) if marker else ()) or [ident.split(".", 1)[0]]


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
    """Record each phase of each attempt per test node; the verdict is folded at writing."""
    report = yield
    ident = check_id(item)
    if not ident:
        return report
    if report.failed:
        liveness.suspect(item)  # a tool that died mid-run fails its next checks at once
    node = item.config.stash[_NODES].setdefault(item.nodeid, {
        "id": ident, "nodeid": item.nodeid, "tool": ident.split(".", 1)[0],
        "duration_s": 0.0, "attempts": []})
    node["duration_s"] += report.duration
    if report.when == "setup":  # every attempt, the first and each retry, starts here
        node["attempts"].append({"status": None, "message": ""})
    _record(node["attempts"][-1], report, call, item)
    if report.when == "teardown":  # a run stopped half way keeps what it found
        _write_results(item.config)
    return report


def _record(attempt: dict[str, Any], report: pytest.TestReport, call: pytest.CallInfo[None],
            item: pytest.Item) -> None:
    """Fold one phase's report into its attempt; the attempt's first failure counts."""
    if attempt["status"] in {"fail", "error"}:
        return
    if report.failed:
        attempt["status"] = _failure_status(call)
        message = call.excinfo.exconly() if call.excinfo else str(report.longrepr)
        attempt["message"] = (_naming_tool(message, item)[:2000] + _credentials_note(item)).strip()
        attempt["step"] = _step(report, call, item)
    elif report.skipped and attempt["status"] is None:
        attempt["status"], attempt["message"] = "skip", _skip_reason(report)
    elif report.when == "call" and attempt["status"] is None:
        attempt["status"] = "pass"


def _step(report: pytest.TestReport, call: pytest.CallInfo[None], item: pytest.Item) -> str:
    """Where the check failed: its phase (a fixture's `setup`, the check's `call`) and the
    deepest line of the check's own module on the way, e.g. `call at test_mlflow.py:88`.
    """
    module = str(getattr(item, "path", ""))
    lines = [entry for entry in (call.excinfo.traceback if call.excinfo else [])
             if str(entry.path) == module]
    if not lines:
        return report.when
    deepest = lines[-1]
    return f"{report.when} at {item.path.name}:{deepest.lineno + 1} ({deepest.name})"


def _tools_of(item: pytest.Item) -> list[str]:
    """The tool a check's id names, then the others it requires, each once."""
    ident = str(check_id(item))
    return list(dict.fromkeys([ident.split(".", 1)[0], *_needs(item, ident)]))


def _naming_tool(message: str, item: pytest.Item) -> str:
    """A client library's own error ("RuntimeError: Failed to reach API") names no tool: put
    the check's tools in front, so every failure says whose it is.
    """
    tools = _tools_of(item)
    if any(f"{tool}:" in message or f"{tool} " in message for tool in tools):
        return message
    return f"{'/'.join(tools)}: {message}"


def _failure_status(call: pytest.CallInfo[None]) -> str:
    """`fail` for what the tool did (an assertion, also in a shared fixture); `error` only
    when the infrastructure was not there (connection refused, a dead component).
    """
    if call.excinfo is None or isinstance(call.excinfo.value, AssertionError):
        return "fail"
    seen: BaseException | None = call.excinfo.value
    while seen is not None:
        if isinstance(seen, INFRA_ERRORS):
            return "error"
        seen = seen.__cause__ or seen.__context__
    return "fail"


def _credentials_note(item: pytest.Item) -> str:
    """Which credentials of the check's tools the checks used: by name and reference, so a
    wrong one in the stack file is found without ever showing a value.
    """
    current = item.config.stash.get(_STACK, None)
    if current is None:
        return ""
    used = [line for tool in _tools_of(item) for line in current.credentials_used(tool)]
    return f" (credentials used: {'; '.join(used)})" if used else ""


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _write_results(config: pytest.Config) -> None:
    """Write the results file, if one was asked for (atomically: the runner may read it)."""
    path = config.getoption("results", None)
    if not path:
        return
    if _distributing(config):  # the workers ran the checks: theirs are the results
        merge(path, final=True)
        return
    worker = _worker(config)
    nodes = list(config.stash[_NODES].values())
    document = {"checks": fold(nodes, config.stash[_SELECTED]),
                "selected": config.stash[_SELECTED], "nodes": nodes,
                "collection_errors": config.stash[_COLLECTION_ERRORS],
                "versions": config.stash[_VERSIONS]}
    write_atomically(part_path(path, worker) if worker else Path(path), document)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the final results file (a worker: its part)."""
    _write_results(session.config)
