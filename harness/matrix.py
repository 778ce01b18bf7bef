"""Several scenarios in one run: each in its own child process, side by side, one report.

A child is an ordinary `mlops-conformance run` of one scenario into `<run-dir>/<scenario>/`;
its isolation (own ports, state, secrets, teardown) is the single-scenario run's. Ctrl-C
reaches every child through the terminal's process group; SIGTERM is forwarded.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

from harness.errors import InterruptedRunError
from harness.report.model import Report

if TYPE_CHECKING:
    from pathlib import Path

    from harness.console import RunConsole


def run_matrix(
    scenarios: list[str], child_args: dict[str, list[str]], run_dir: Path, console: RunConsole,
    parallel: int, harness_version: str,
) -> Report:
    """Run each scenario as a child process, at most `parallel` at a time; merge their reports.

    `child_args[name]` are the scenario's extra `mlops-conformance run` arguments.

    Raises:
        InterruptedRunError: Ctrl-C or SIGTERM; every child tore its stack down first.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    queue = list(scenarios)
    running: dict[str, subprocess.Popen[str]] = {}
    pumps: list[threading.Thread] = []
    codes: dict[str, int] = {}
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        while queue or running:
            while queue and len(running) < parallel:
                name = queue.pop(0)
                running[name] = _spawn(name, child_args[name], run_dir)
                pumps.append(_pump(name, running[name], console))
                console.component(name, "started")
            for name, child in list(running.items()):
                if child.poll() is not None:
                    codes[name] = child.returncode
                    del running[name]
                    console.component(name, "finished", f"exit code {child.returncode}")
            time.sleep(0.2)
    except KeyboardInterrupt:
        for child in running.values():
            child.send_signal(signal.SIGTERM)
        for child in running.values():
            child.wait()
        msg = f"run {run_dir.name} interrupted; every scenario's stack is stopped"
        raise InterruptedRunError(msg) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        for pump in pumps:
            pump.join(timeout=5)
    return _merge(scenarios, codes, run_dir, harness_version)


def _raise_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _spawn(name: str, child_args: list[str], run_dir: Path) -> subprocess.Popen[str]:
    # A column given no `--scenario` of its own is the scenario of its name.
    scenario = [] if "--scenario" in child_args else ["--scenario", name]
    argv = [sys.executable, "-m", "harness.cli", "run", *scenario,
            "--reports-dir", str(run_dir), "--run-id", _column_dir(name), *child_args]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _column_dir(name: str) -> str:
    # A scenario given as a file path still gets a flat directory name (`defaults@previous`
    # for a scenario with a version set).
    return name.replace(os.sep, "_").replace(".yaml", "")


def _pump(name: str, child: subprocess.Popen[str], console: RunConsole) -> threading.Thread:
    def forward() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            console.line(f"[{_column_dir(name)}] {line.rstrip()}")

    thread = threading.Thread(target=forward, daemon=True)
    thread.start()
    return thread


def _merge(scenarios: list[str], codes: dict[str, int], run_dir: Path, version: str) -> Report:
    merged = Report(run_id=run_dir.name, harness_version=version)
    for name in scenarios:
        path = run_dir / _column_dir(name) / "report.json"
        if path.is_file():
            merged.runs.extend(Report.load(path).runs)
            continue
        # The child ended before writing a report: bad input (2) or a crash. Say so in a column.
        from harness.report.model import ScenarioRun  # noqa: PLC0415

        merged.runs.append(ScenarioRun(
            scenario=_column_dir(name), target="", exit_code=3 if codes.get(name) != 2 else 2,
            infrastructure_errors=[f"scenario {name} ended with exit code {codes.get(name)} "
                                   f"before writing a report; see the output above"]))
    return merged
