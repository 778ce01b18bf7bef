"""Run the conformance checks (pytest, in a child process) against a saved Stack.

pytest's own exit code counts: a check module that cannot be collected, an internal or
usage error, or an interrupted pytest is an infrastructure error naming its cause, never a
pass of whatever did run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.client_limits import checks_environment
from harness.errors import BadInputError, HarnessError, ProvisionError
from harness.paths import project_dir

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.console import RunConsole

_POLL_S = 0.2
# Each worker imports every check module's clients (~0.3 GB): a ceiling for a laptop.
MAX_WORKERS = 6
_COLLECT_TIMEOUT_S = 300.0  # importing every check module takes a second or two
# What pytest-rerunfailures retries: only errors of a server still settling, matched against
# "ExceptionType: message" of the error and the errors it was raised from. An assertion about
# the tool's behaviour is never retried, even when raised while handling such an error.
TRANSIENT_ERRORS = (
    r"^(ConnectionError|ConnectionRefusedError|ConnectionResetError|ConnectionAbortedError"
    r"|NewConnectionError|RemoteDisconnected): ",
    r"^HTTPError: 50[234] ",
    r"too many 50[234] error responses",  # a client's own retries (MLflow's) ran out on them
)
NEVER_RETRIED = (r"^(AssertionError|Failed): ",)
# pytest's exit codes (pytest.ExitCode) as the harness reads them.
_PYTEST_OK, _PYTEST_TESTS_FAILED, _PYTEST_USAGE, _PYTEST_NO_TESTS = 0, 1, 4, 5
_PYTEST_MEANING = {2: "was interrupted", 3: "had an internal error", 4: "was used wrongly",
                   5: "collected no check"}


class CheckModuleError(HarnessError):
    """A check module cannot be collected: the run cannot say what it checked."""

    exit_code = ProvisionError.exit_code


@dataclass
class ChecksOutcome:
    """What the checks phase produced."""

    results: dict[str, Any] = field(default_factory=dict)
    infrastructure_error: str | None = None


def _pytest_base() -> list[str]:
    checks = project_dir("conformance")
    return [sys.executable, "-m", "pytest", str(checks), "--rootdir", str(checks),
            "-c", str(checks / "pytest.ini"), "-p", "no:cacheprovider", "--no-header",
            "--color=no"]


def retry_policy(reruns: int) -> list[str]:
    """pytest-rerunfailures' options: `reruns` retries, of transient errors only."""
    retries = [arg for regex in TRANSIENT_ERRORS for arg in ("--only-rerun", regex)]
    retries += [arg for regex in NEVER_RETRIED for arg in ("--rerun-except", regex)]
    return ["--reruns", str(reruns), "--reruns-delay", "1", *retries]


def pytest_argv(stack_path: Path, results_path: Path, reruns: int, extra: list[str],
                workers: int = 0) -> list[str]:
    """The pytest command line that runs the checks against `stack_path`; with `workers`,
    that many pytest-xdist workers, each taking one tool's checks at a time (so module-scoped
    fixtures are built once and no two checks of one tool's servers run at once).
    """
    distributed = ["-n", str(workers), "--dist", "loadscope"] if workers > 1 else []
    return [*_pytest_base(), "-v", "--stack", str(stack_path), "--results", str(results_path),
            *retry_policy(reruns), *distributed, *extra]


def worker_count(selected: list[dict[str, Any]], tools: set[str] | frozenset[str],
                 serial: bool = False) -> int:
    """How many workers run the checks: one per work unit (a tool's check modules, see
    `check_scheduling`) with a check the stack's `tools` can run, since the units wait on
    different servers, not on the CPU; at most MAX_WORKERS; 0 (pytest alone, no worker)
    for `serial` or a single unit.
    """
    from harness.check_scheduling import work_unit  # noqa: PLC0415 - imports xdist

    checks = project_dir("conformance")
    units = {work_unit(entry["nodeid"], checks) for entry in selected
             if set(entry["needs"]) <= set(tools)}
    if serial or len(units) <= 1:
        return 0
    return min(len(units), MAX_WORKERS)


def selected_checks(selection: list[str]) -> list[dict[str, Any]]:
    """The checks `selection` (`-m`/`-k` arguments) selects, found by collecting only: each
    `{"id", "nodeid", "tool", "needs"}` (`needs`: the tools it runs against).

    Collection needs no stack, so this runs during validation, before anything starts.

    Raises:
        BadInputError: the selection is not valid pytest syntax, or selects no check.
        CheckModuleError: a check module cannot be collected; the message names it.
    """
    with tempfile.TemporaryDirectory(prefix="mlops-collect-") as scratch:
        results = Path(scratch) / "results.json"
        try:
            done = subprocess.run(
                [*_pytest_base(), "--collect-only", "-q", "--results", str(results), *selection],
                capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
                env={**checks_environment(os.environ), "PYTHONUNBUFFERED": "1"},
                timeout=_COLLECT_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            msg = f"collecting the checks took over {_COLLECT_TIMEOUT_S:g}s: an import hangs"
            raise CheckModuleError(msg) from exc
        document = _read(results)
    errors = document.get("collection_errors", [])
    if errors:
        raise CheckModuleError(_collection_errors(errors))
    expression = " ".join(selection)
    if done.returncode == _PYTEST_USAGE:
        from harness.plugin import TOOL_MARKERS  # noqa: PLC0415 - loads pytest: only here
        lines = [line.removeprefix("ERROR: ") for line in done.stderr.splitlines()
                 if line.startswith("ERROR: ")] or [_last_line(done.stderr)]
        problem = lines[0].split(". Use 'pytest --markers'")[0]
        raise BadInputError(f"{expression}: {problem}; the markers are the tools: "
                            f"{', '.join(TOOL_MARKERS)}")
    selected: list[dict[str, Any]] = document.get("selected", [])
    if done.returncode == _PYTEST_NO_TESTS or (done.returncode == _PYTEST_OK and not selected):
        raise BadInputError(f"{expression or 'the checks'}: selects no check; `-m` takes a tool "
                            "(e.g. `-m mlflow`), `-k` part of a check's name")
    if done.returncode != _PYTEST_OK:
        raise CheckModuleError(f"collecting the checks: pytest "
                               f"{_PYTEST_MEANING.get(done.returncode, 'failed')} (exit code "
                               f"{done.returncode}): {_last_line(done.stdout + done.stderr)}")
    return selected


def _read(path: Path | str, redact: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The results file; with `redact`, secrets are masked in it, on disk too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        if redact is not None:
            text = _masked_file(Path(path), text, redact)
        document: dict[str, Any] = json.loads(text)
    except (OSError, json.JSONDecodeError):
        return {}
    return document


def _collection_errors(errors: list[dict[str, str]]) -> str:
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"check module {first['nodeid']} cannot be collected: {first['message']}{more}"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


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
            text=True, start_new_session=True,
            env={**checks_environment(os.environ), "PYTHONUNBUFFERED": "1"},
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
    outcome.results = _read(results_path, console.redact)
    if outcome.infrastructure_error is None:
        outcome.infrastructure_error = _pytest_failure(
            process.returncode, outcome.results, log_path)
    return outcome


def _pytest_failure(code: int, results: dict[str, Any], log_path: Path) -> str | None:
    """What pytest's exit code says beyond the checks' own verdicts, or None."""
    errors = results.get("collection_errors", [])
    if errors:
        return _collection_errors(errors)
    if code in {_PYTEST_OK, _PYTEST_TESTS_FAILED}:
        return None if results else f"pytest wrote no results; see {log_path}"
    meaning = _PYTEST_MEANING.get(code, "failed")
    return f"pytest {meaning} (exit code {code}); see {log_path}"


def _masked_file(path: Path, text: str, redact: Callable[[str], str]) -> str:
    """The file's text with secrets masked, written back masked (a check's message may quote
    a credential, e.g. from a driver's error).
    """
    masked = redact(text)
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
