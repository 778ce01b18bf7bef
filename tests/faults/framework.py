"""Fault injection: run checks through the public CLI against a broken stack, judge the verdict.

Each fault test breaks one thing of a running stack, runs `mlops-conformance check --stack`
with only the checks concerned, and asserts the exit code, the failing check id and its
message. Every verdict is also appended to `$FAULTS_RECORD` (JSON lines) when it is set, so
`benchmarks/faults.py` can print the fault table, including faults whose assertion failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.conftest import CLI

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from harness.stack import Stack

ENV_RECORD = "FAULTS_RECORD"
# A fault that takes longer than this to reach a verdict is a hang, not a verdict.
VERDICT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Verdict:
    """What `check --stack` answered: exit code, each check's result, seconds taken."""

    exit_code: int
    checks: dict[str, dict[str, Any]]
    seconds: float
    output: str = field(repr=False)


def write_stack(stack: Stack, directory: Path, name: str) -> Path:
    """Save `stack` as `<name>.stack.json` in `directory` (beside the run's secret files, so
    its credential references still resolve).
    """
    path = directory / f"{name}.stack.json"
    stack.save(path)
    return path


def broken_copy(stack: Stack) -> Stack:
    """A deep copy of `stack` to break without touching the original."""
    copy = stack.model_copy(deep=True)
    copy.base_dir = stack.base_dir
    return copy


def run_check(stack_file: Path, *, keyword: str | None = None, markers: str | None = None,
              reports_dir: Path | None = None) -> Verdict:
    """Run `mlops-conformance check --stack FILE` with `-k`/`-m` and read its report."""
    reports = (reports_dir or stack_file.parent / "fault-reports") / uuid.uuid4().hex[:8]
    argv = [*CLI, "check", "--stack", str(stack_file), "--reports-dir", str(reports),
            "--reruns", "0"]
    if keyword:
        argv += ["-k", keyword]
    if markers:
        argv += ["-m", markers]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=VERDICT_TIMEOUT_S,
                          check=False)
    seconds = time.monotonic() - started
    checks: dict[str, dict[str, Any]] = {}
    for report in reports.glob("*/report.json"):
        for run in json.loads(report.read_text(encoding="utf-8"))["runs"]:
            checks.update({check["id"]: check for check in run["checks"]})
    return Verdict(done.returncode, checks, round(seconds, 1), done.stdout + done.stderr)


def record(fault: str, check: str, verdict: Verdict) -> None:
    """Append the verdict of `fault` on `check` to `$FAULTS_RECORD`, if set."""
    path = os.environ.get(ENV_RECORD)
    if not path:
        return
    entry = verdict.checks.get(check, {})
    line = {"fault": fault, "check": check, "exit_code": verdict.exit_code,
            "status": entry.get("status", "missing"), "seconds": verdict.seconds,
            "message": entry.get("message", "")}
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")


def assert_caught(verdict: Verdict, fault: str, check: str, *, exits: Iterable[int] = (1,),
                  statuses: Iterable[str] = ("fail",), says: Iterable[str] = (),
                  or_names: str | None = None) -> None:
    """The fault made `check` fail: exit code, the check's status, a message naming its tool
    (or `or_names`: the endpoint, when the message is the tool's client library's own) and
    the words in `says` (what was expected and what was seen).
    """
    record(fault, check, verdict)
    entry = verdict.checks.get(check)
    assert entry is not None, f"{check} has no result; output:\n{verdict.output[-3000:]}"
    assert entry["status"] in set(statuses), (entry, verdict.output[-3000:])
    assert verdict.exit_code in set(exits), (verdict.exit_code, verdict.output[-3000:])
    message = entry["message"]
    tool = check.split(".", 1)[0]
    # An infrastructure error may come from the tool's client library, which names the
    # endpoint (in `says`) rather than the tool.
    if entry["status"] == "fail":
        named = tool in message.lower() or (or_names is not None and or_names in message)
        assert named, f"the message does not name {tool}: {message!r}"
    for word in says:
        assert word in message, f"{word!r} not in the message: {message!r}"
    assert verdict.seconds < VERDICT_TIMEOUT_S
