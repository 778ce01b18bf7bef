"""Benchmark the main command: wall time by phase, the servers-ready floor, parallelism, memory.

Usage:
    python benchmarks/run_defaults.py [--repeat N] [--compare REF] [--four-vs-one]
                                      [-- extra `run` args]

Per run: total wall time; each phase; the servers-ready floor (the slowest server's time from
its start to healthy) and the ratio of total to it; the checks' summed durations against the
checks phase (the parallelism achieved); how busy the machine's cores were; the peak of the
summed RSS of every process the run started (harness, checks' pytest and its workers,
servers), sampled twice a second.

`--compare REF` also runs the harness of another checkout (a git ref of this repository, or a
directory) in the same invocation, alternating with this one, and prints both side by side:
on a shared machine only a ratio measured in one invocation is stable. `--four-vs-one` also
runs this checkout with `--scenario all` and prints the ratio of the two totals. A run of
several scenarios counts its slowest column's phases and every column's checks. Prints
Markdown.
Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
ALL_SCENARIOS = "this checkout, --scenario all"


class TreeMemory(threading.Thread):
    """The peak of the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        """Sample until `done` is set or the process is gone."""
        while not self.done.wait(0.5):
            try:
                root = psutil.Process(self.root)
                processes = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue  # gone between listing and reading
            self.peak = max(self.peak, total)


def one_run(checkout: Path, reports: Path, run_id: str, extra: list[str]) -> dict[str, Any]:
    """Run the main command of `checkout` once; return its measures."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}  # that checkout's harness, this venv
    started, cpu_before = time.monotonic(), psutil.cpu_times()
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "--reports-dir", str(reports),
         "--run-id", run_id, *extra], cwd=checkout, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(process.pid)
    memory.start()
    _, stderr = process.communicate()
    wall_s = time.monotonic() - started
    busy = _busy_fraction(cpu_before, psutil.cpu_times())
    memory.done.set()
    memory.join()
    if process.returncode != 0:
        sys.stderr.write(stderr[-4000:])
        raise SystemExit(f"{checkout}: run {run_id} exited {process.returncode}")
    runs = json.loads((reports / run_id / "report.json").read_text(encoding="utf-8"))["runs"]
    # Several scenarios run side by side: the slowest column's phases and servers, every
    # column's checks.
    phases: dict[str, float] = {}
    for run in runs:
        for phase, seconds in run["phases_s"].items():
            phases[phase] = max(phases.get(phase, 0.0), seconds)
    floor = max((s for run in runs for s in run["ready_s"].values()), default=0.0)
    checks = [c for run in runs for c in run["checks"]]
    summed = sum(c.get("duration_s") or 0.0 for c in checks)
    checks_phase = phases.get("checks", 0.0)
    not_passed = [f"{run.get('scenario', '')}:{c['id']}={c['status']}" for run in runs
                  for c in run["checks"] if c["status"] not in {"pass", "skip"}]
    return {"total": wall_s, **{f"phase {p}": s for p, s in phases.items()},
            "servers-ready floor": floor, "ratio total/floor": wall_s / floor if floor else 0.0,
            "summed check durations": summed,
            "parallelism (summed/checks phase)": summed / checks_phase if checks_phase else 0.0,
            "CPU busy, whole machine (%)": busy * 100,
            "peak RSS, all processes (MB)": memory.peak / 2**20,
            "stack's own peak RSS (MB)": max((run.get("peak_rss_mb") or 0.0 for run in runs),
                                             default=0.0),
            "not passed": not_passed}


def _busy_fraction(before: Any, after: Any) -> float:
    """The share of all cores' time spent not idle between two `psutil.cpu_times()`: near 1,
    the run waited on the CPU, not on its servers.
    """
    def idle(times: Any) -> float:
        return float(times.idle + getattr(times, "iowait", 0.0))

    spent_idle = idle(after) - idle(before)
    total = sum(after) - sum(before)
    return 1.0 - spent_idle / total if total else 0.0


@contextmanager
def checkout_of(ref: str):  # type: ignore[no-untyped-def]
    """A directory holding `ref`: itself if it is one, else a temporary git worktree."""
    if Path(ref).is_dir():
        yield Path(ref).resolve()
        return
    with tempfile.TemporaryDirectory(prefix="bench-ref-") as directory:
        tree = Path(directory) / "checkout"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref],
                       check=True, capture_output=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False, capture_output=True)


def table(columns: dict[str, list[dict[str, Any]]]) -> str:
    """Medians per measure, one column per checkout."""
    names = list(columns)
    measures = list(dict.fromkeys(k for runs in columns.values() for run in runs for k in run
                                  if k != "not passed"))
    lines = [f"| measure (median) | {' | '.join(names)} |",
             f"|---|{'---|' * len(names)}"]
    for measure in measures:
        cells = []
        for name in names:
            values = [run[measure] for run in columns[name] if measure in run]
            cells.append(f"{statistics.median(values):.1f}" if values else "")
        lines.append(f"| {measure} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--compare", metavar="REF",
                        help="also run this git ref's (or directory's) harness, alternating")
    parser.add_argument("--reports-dir", type=Path, help="keep the runs' reports here")
    parser.add_argument("--four-vs-one", action="store_true",
                        help="also run this checkout with `--scenario all`, alternating")
    parser.add_argument("extra", nargs="*", help="arguments for `mlops-conformance run`")
    args = parser.parse_args()
    with ExitStack() as stack:
        reports = args.reports_dir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        # column -> (checkout, `run` arguments)
        variants = {"this checkout": (ROOT, args.extra)}
        if args.compare:
            variants[args.compare] = (stack.enter_context(checkout_of(args.compare)), args.extra)
        if args.four_vs_one:
            variants[ALL_SCENARIOS] = (ROOT, [*args.extra, "--scenario", "all"])
        columns: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        for index in range(args.repeat):
            for column, (name, (checkout, extra)) in enumerate(variants.items()):
                run = one_run(checkout, reports, f"bench-{index}-{column}", extra)
                columns[name].append(run)
                print(f"run {index} of {name}: {run['total']:.1f} s; not passed: "
                      f"{', '.join(run['not passed']) or 'none'}", file=sys.stderr, flush=True)
    command = " ".join(["mlops-conformance run", *args.extra])
    print(f"Runs: {args.repeat} per checkout (median shown); command: {command}\n")
    print(table(columns))
    if args.four_vs_one:
        one = statistics.median(run["total"] for run in columns["this checkout"])
        four = statistics.median(run["total"] for run in columns[ALL_SCENARIOS])
        print(f"\nfour scenarios / one (median totals): {four / one:.2f}")
    for name, runs in columns.items():
        for index, run in enumerate(runs):
            if run["not passed"]:
                print(f"\n{name}, run {index}: not passed: {', '.join(run['not passed'])}")


if __name__ == "__main__":
    main()
