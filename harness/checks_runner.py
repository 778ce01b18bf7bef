"""Run the conformance checks (pytest, in a child process) against a saved Stack."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.paths import project_dir

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.console import RunConsole

_POLL_S = 0.2


@dataclass
class ChecksOutcome:
    """What the checks phase produced."""

    results: dict[str, Any] = field(default_factory=dict)
    infrastructure_error: str | None = None


def pytest_argv(stack_path: Path, results_path: Path, reruns: int, extra: list[str]) -> list[str]:
    """The pytest command line that runs the checks against `stack_path`."""
    checks = project_dir("conformance")
    return [
        sys.executable, "-m", "pytest", str(checks), "--rootdir", str(checks),
        "-c", str(checks / "pytest.ini"), "-p", "no:cacheprovider", "-v", "--no-header",
        "--color=no", "--stack", str(stack_path), "--results", str(results_path),
        "--reruns", str(reruns), "--reruns-delay", "1", *extra,
    ]


def run_checks(
    argv: list[str], log_path: Path, console: RunConsole,
    failure: Callable[[], str | None] = lambda: None, timeout_s: float = 1800.0,
) -> ChecksOutcome:
    """Run pytest, stream its output (masked) to the console and a log, and read the results.

    Stops the checks early, as an infrastructure error, when `failure()` reports a dead
    component or the timeout passes. Ctrl-C / SIGTERM stop pytest before propagating.
    """
    results_path = argv[argv.index("--results") + 1]
    outcome = ChecksOutcome()
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        reader = threading.Thread(target=_pump, args=(process, log, console), daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout_s
        try:
            while process.poll() is None:
                reason = failure()
                if reason is None and time.monotonic() > deadline:
                    reason = f"checks did not finish within {timeout_s:g}s"
                if reason:
                    outcome.infrastructure_error = console.redact(reason)
                    _stop(process)
                    break
                time.sleep(_POLL_S)
        finally:
            _stop(process)
            reader.join(timeout=5)
    try:
        outcome.results = json.loads(_masked_file(Path(results_path), console))
    except (OSError, json.JSONDecodeError):
        if outcome.infrastructure_error is None and process.returncode not in (0, 1):
            outcome.infrastructure_error = (
                f"pytest ended with exit code {process.returncode} and no results; see {log_path}")
    return outcome


def _masked_file(path: Path, console: RunConsole) -> str:
    """The file's text with secrets masked, written back masked (a check's message may quote
    a credential, e.g. from a driver's error).
    """
    text = path.read_text(encoding="utf-8")
    masked = console.redact(text)
    if masked != text:
        path.write_text(masked, encoding="utf-8")
    return masked


def _pump(process: subprocess.Popen[str], log: Any, console: RunConsole) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        masked = console.redact(line.rstrip("\n"))
        log.write(masked + "\n")
        console.line(masked)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
