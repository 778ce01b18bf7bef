"""The flow of one scenario run: validate, provision, check, tear down, report.

Only this module and `cli.py` wire targets, checks and reports together.
"""

from __future__ import annotations

import contextlib
import secrets as _random
import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from harness.checks_runner import pytest_argv, run_checks, selected_checks, worker_count
from harness.errors import BadInputError, HarnessError, InterruptedRunError
from harness.exposure import NOT_LOCAL, LoopbackWatch, skipped
from harness.report.model import ScenarioRun, checks_from_results, exit_code_for
from harness.secrets import SecretStore, run_secrets
from harness.stack import Stack
from harness.static.chart_versions import expected_versions, version_drift
from harness.static_stage import run_static_stage
from harness.targets import get_target
from harness.targets.base import NOT_SELECTED

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from harness.console import RunConsole
    from harness.scenario import Scenario
    from harness.static_stage import StaticResult
    from harness.targets.base import Target
    from harness.upgrade.perform import UpgradeRequest

RESTART = "restart"  # the endpoint and credential a target's control server offers checks


@dataclass
class RunOptions:
    """How to run: where, with which pytest selection, and whether to keep the stack."""

    target_url: str
    reports_dir: Path
    keep: bool = False
    reruns: int = 1
    pytest_args: list[str] = field(default_factory=list)
    tools: frozenset[str] | None = None
    unselected: str = NOT_SELECTED
    checks_timeout_s: float = 1800.0
    fail_on_flaky: bool = False
    # The checks `-m`/`-k` selected (None: no selection given), to refuse before provisioning
    # a selection that nothing provisioned can run.
    selected: list[dict[str, Any]] | None = None
    # Kubernetes versions the manifests are judged for (None: the charts' support range).
    kube_versions: tuple[str, ...] | None = None
    # Every check the selection keeps (None: collected when the checks start), and whether
    # they run one after another instead of one pytest-xdist worker per tool.
    collected: list[dict[str, Any]] | None = None
    serial: bool = False
    # Collect the target's own diagnostics (a cluster's state) even when nothing failed.
    diagnostics_always: bool = False
    # The version set whose chart versions the scenario's tfvars carry ("default": the pins).
    version_set: str = "default"
    # `upgrade`: after provisioning, upgrade the stack to these versions before the checks.
    upgrade: UpgradeRequest | None = None


def new_run_id(label: str) -> str:
    """A sortable, unique run id: `20261126-171500-defaults-1a2b`."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{label}-{_random.token_hex(2)}"


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt for the duration, like Ctrl-C."""

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Let teardown finish: a second Ctrl-C must not leave processes behind."""
    handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


class _PeakMemory(threading.Thread):
    def __init__(self, target: Target) -> None:
        super().__init__(daemon=True)
        self.target, self.peak, self.done = target, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(1.0):
            self.peak = max(self.peak, self.target.rss_bytes())


def run_scenario(
    scenario: Scenario, options: RunOptions, run_dir: Path, console: RunConsole
) -> ScenarioRun:
    """Run one scenario on one target and return its results; never leaves processes behind
    unless `options.keep` is set.

    Raises:
        HarnessError: bad input found during validation (nothing was started).
        InterruptedRunError: Ctrl-C or SIGTERM; everything started was stopped first.
    """
    phases: dict[str, float] = {}
    result = ScenarioRun(scenario=scenario.name, description=scenario.description,
                         target=options.target_url, version_set=options.version_set)
    started = time.monotonic()
    console.phase("validate", f"scenario {scenario.name} on {options.target_url}")
    target = get_target(options.target_url)
    secrets = SecretStore(run_dir / "secrets", console.redact)
    generated = run_secrets(scenario)
    for name, value in generated.items():
        secrets.put(name, value)
    phases["validate"] = time.monotonic() - started

    static = _static_stage(scenario, generated, console, result, phases, options, run_dir)
    if static is None:
        result.phases_s = {k: round(v, 2) for k, v in phases.items()}
        result.exit_code = exit_code_for(result.checks, [])
        return _masked(result, console)
    # The target runs what the modules rendered; so it is prepared after the static stage.
    mark = time.monotonic()
    target.prepare(scenario, run_dir, secrets, options.tools, options.unselected,
                   static.rendered)
    _refuse_unrunnable_selection(options, target)
    phases["validate"] += time.monotonic() - mark

    memory = _PeakMemory(target)
    interrupted = False
    with signals_as_interrupts():
        try:
            secrets.write_files()
            memory.start()
            _provision_and_check(scenario, options, run_dir, console, target, result, phases)
        except KeyboardInterrupt:
            interrupted = True
        except HarnessError as exc:
            result.infrastructure_errors.append(console.redact(str(exc)))
            console.component("stack", "failed", str(exc))
        finally:
            memory.done.set()
            with signals_ignored():
                mark = time.monotonic()
                _keep_or_tear_down(options.keep and not interrupted, run_dir, console, target,
                                   secrets, result)
                phases["teardown"] = time.monotonic() - mark
    if interrupted:
        msg = f"run {run_dir.name} interrupted; everything it started is stopped"
        raise InterruptedRunError(msg)
    result.peak_rss_mb = round(memory.peak / 2**20, 1) if memory.peak else None
    # What ran (read by the checks) against what the scenario's charts deploy: after an
    # upgrade, the charts it upgraded to.
    expected = options.upgrade.expected if options.upgrade is not None \
        else expected_versions(static.rendered.releases)
    result.version_drift = version_drift(expected, result.versions)
    for drift in result.version_drift:
        drift.reason = target.version_note(drift.tool, drift.component)
    result.phases_s = {k: round(v, 2) for k, v in phases.items()}
    result.exit_code = exit_code_for(result.checks, result.infrastructure_errors,
                                     options.fail_on_flaky)
    return _masked(result, console)


def _refuse_unrunnable_selection(options: RunOptions, target: Target) -> None:
    """A selection whose every check would be skipped checks nothing: bad input, not a pass.

    Raises:
        BadInputError: none of the selected checks can run on what this run provisions.
    """
    provisioned = target.provisioned_tools()
    if options.selected is None or provisioned is None:
        return
    if any(set(entry["needs"]) <= provisioned for entry in options.selected):
        return
    needed = sorted({tool for entry in options.selected for tool in entry["needs"]})
    msg = (f"-m/-k: none of the {len(options.selected)} selected checks can run on what this "
           f"run provisions: they need {', '.join(needed)}; it provisions "
           f"{', '.join(sorted(provisioned)) or 'nothing'} (widen --tools, or change -m/-k)")
    raise BadInputError(msg)


def _masked(result: ScenarioRun, console: RunConsole) -> ScenarioRun:
    """The result with the run's secrets masked in every message it carries."""
    for check in result.checks:
        check.message = console.redact(check.message)
    result.infrastructure_errors = [console.redact(e) for e in result.infrastructure_errors]
    return result


def _keep_or_tear_down(keep: bool, run_dir: Path, console: RunConsole, target: Target,
                       secrets: SecretStore, result: ScenarioRun) -> None:
    """Leave a healthy stack up when asked to (`--keep`); otherwise stop everything."""
    if keep and not result.infrastructure_errors:
        console.phase("keep", "the stack stays up")
        target.detach()
        _forget_restarts(run_dir / "stack.json")
        return
    console.phase("teardown")
    result.infrastructure_errors += target.down(console)
    secrets.remove_files()


def _forget_restarts(stack_path: Path) -> None:
    """A kept stack outlives the harness, and with it the control server that answered
    `restart` endpoints: the saved stack must not offer them any more.
    """
    if not stack_path.is_file():
        return
    kept = Stack.load(stack_path)
    for entry in kept.tools.values():
        entry.endpoints.pop(RESTART, None)
        entry.credentials.pop(RESTART, None)
    kept.save(stack_path)


LOG_TAIL_LINES = 15  # per log file, for the report's failures
_LOG_TAIL_BYTES = 16384  # read from each file's end: enough for the lines, whatever its size


def log_tail(run_dir: Path, tool: str, redact: Callable[[str], str]) -> str:
    """The last lines of each of `tool`'s server logs, under their names, secrets masked."""
    parts = []
    for path in sorted((run_dir / "logs").glob(f"{tool}*.log")):
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - _LOG_TAIL_BYTES))
            lines = handle.read().decode("utf-8", "replace").splitlines()[-LOG_TAIL_LINES:]
        if lines:
            parts.append(f"==> logs/{path.name} <==\n" + "\n".join(lines))
    return str(redact("\n".join(parts)))


def _logs_of(run_dir: Path, tool: str) -> str:
    """The logs to read when a check of `tool` fails: its servers' logs, and the checks' own."""
    logs = sorted(p.name for p in (run_dir / "logs").glob(f"{tool}*.log"))
    return ", ".join(f"logs/{name}" for name in [*logs, "checks.log"])


def _static_stage(
    scenario: Scenario, secrets: dict[str, str], console: RunConsole, result: ScenarioRun,
    phases: dict[str, float], options: RunOptions, run_dir: Path,
) -> StaticResult | None:
    """Render and check the modules' values and the charts' manifests; None when a values
    contract fails (nothing to start).
    """
    console.phase("static", "render the modules' Helm values and the charts' manifests; "
                            "check contracts, schemas and wiring")
    mark = time.monotonic()
    static = run_static_stage(scenario, secrets, kube_versions=options.kube_versions,
                              manifests_dir=run_dir / "manifests")
    result.checks = static.checks()
    result.findings += [console.redact(line) for line in static.findings]
    if static.manifests is not None:
        result.kube_versions = list(static.manifests.kube_versions)
        result.chart_source = static.manifests.source.describe()
    phases["static"] = time.monotonic() - mark
    for failure in static.failures:
        console.component(failure.module, "failed", str(failure))
    return None if static.failures else static


def _provision_and_check(
    scenario: Scenario, options: RunOptions, run_dir: Path, console: RunConsole,
    target: Target, result: ScenarioRun, phases: dict[str, float],
) -> None:
    console.phase("provision")
    mark = time.monotonic()
    stack = target.up(scenario, run_dir, console)
    stack.skip.update(scenario.checks.skip)
    stack.save(run_dir / "stack.json")
    phases["provision"] = time.monotonic() - mark
    result.ready_s = target.ready_times_s()
    result.findings += [console.redact(line) for line in target.findings()]
    if options.upgrade is not None:
        from harness.upgrade.perform import (  # noqa: PLC0415 - SQLAlchemy: upgrades only
            UpgradeFailedError,
            upgrade_stack,
        )

        request = options.upgrade
        console.phase("upgrade", f"{request.from_set} -> {request.to_set}: canaries, then "
                                 "each tool at its new versions on the same state")
        mark = time.monotonic()
        stack.base_dir = run_dir.resolve()  # credentials are files beside stack.json
        try:
            result.upgrade, checks = upgrade_stack(request, stack, target, console,
                                                   run_dir.name)
        except UpgradeFailedError as exc:
            result.upgrade = exc.summary  # what it found until then; the error says the rest
            raise
        result.checks += checks
        stack.save(run_dir / "stack.json")
        phases["upgrade"] = time.monotonic() - mark

    console.phase("checks")
    mark = time.monotonic()
    pid_file = run_dir / "pids.json"  # only the local target's servers are recorded
    exposure = LoopbackWatch(pid_file).start() if pid_file.is_file() else None
    collected = options.collected
    if collected is None:
        collected = selected_checks(options.pytest_args)
    workers = worker_count(collected, set(stack.tools) - set(stack.skip), options.serial)
    outcome = run_checks(
        pytest_argv(run_dir / "stack.json", run_dir / "results.json", options.reruns,
                    options.pytest_args, workers),
        run_dir / "logs" / "checks.log", console, target.failure, options.checks_timeout_s,
    )
    result.checks.append(exposure.stop() if exposure else skipped(NOT_LOCAL))
    phases["checks"] = time.monotonic() - mark
    failing = frozenset(str(raw["tool"]) for raw in outcome.results.get("checks", [])
                        if raw.get("status") in {"fail", "error"})
    by_target = target.diagnostics_of(run_dir, failing, options.diagnostics_always)
    result.checks += checks_from_results(outcome.results, lambda tool: "; ".join(
        filter(None, [_logs_of(run_dir, tool), by_target.get(tool)])))
    result.log_tails = {tool: tail for tool in sorted(failing)
                        if (tail := log_tail(run_dir, tool, console.redact))}
    for tool, components in outcome.results.get("versions", {}).items():
        result.versions.setdefault(tool, {}).update(components)
    if outcome.infrastructure_error:
        result.infrastructure_errors.append(outcome.infrastructure_error)
