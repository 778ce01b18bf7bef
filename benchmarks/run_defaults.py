"""Benchmark README's main command: wall time by phase, time to healthy, peak memory of the stack.

Usage: python benchmarks/run_defaults.py [--repeat N] [-- extra `mlops-conformance run` args]
Prints a Markdown table; numbers come from each run's report.json plus the measured wall time.
Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def one_run(reports: Path, index: int, extra: list[str]) -> dict[str, Any]:
    """Run the main command once; return its wall time and its report's run entry."""
    run_id = f"bench-{index}"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--reports-dir", str(reports),
         "--run-id", run_id, *extra], capture_output=True, text=True, check=False)
    wall_s = time.monotonic() - started
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"run {index} exited {result.returncode}")
    report = json.loads((reports / run_id / "report.json").read_text(encoding="utf-8"))
    return {"wall_s": wall_s, **report["runs"][0]}


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--reports-dir", type=Path, help="keep the runs' reports here")
    parser.add_argument("extra", nargs="*", help="arguments for `mlops-conformance run`")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        reports = args.reports_dir or Path(directory)
        runs = [one_run(reports, i, args.extra) for i in range(args.repeat)]
    median = statistics.median
    phases = sorted({p for run in runs for p in run["phases_s"]})
    components = sorted({c for run in runs for c in run["ready_s"]})
    command = " ".join(["mlops-conformance run", *args.extra])
    print(f"Runs: {len(runs)} (median shown); command: {command}")
    print("\n| measure | seconds |\n|---|---|")
    print(f"| wall time (process start to exit) | {median(r['wall_s'] for r in runs):.1f} |")
    for phase in phases:
        print(f"| phase {phase} | {median(r['phases_s'].get(phase, 0) for r in runs):.1f} |")
    for component in components:
        print(f"| {component} start to healthy | "
              f"{median(r['ready_s'].get(component, 0) for r in runs):.1f} |")
    peaks = [r["peak_rss_mb"] or 0 for r in runs]
    print(f"\nPeak RSS of the stack's processes (sampled each second): {max(peaks):.0f} MB")
    for index, run in enumerate(runs):
        checks = run["checks"]
        failed = [c for c in checks if c["status"] not in {"pass", "skip"}]
        print(f"Run {index}: {len(checks)} checks; not passed: "
              f"{', '.join(c['id'] + '=' + c['status'] for c in failed) or 'none'}")
        for check in failed:  # a flaky check keeps its first failure's message
            summary = (check["message"] or "").partition("\n")[0]
            print(f"  {check['id']}: {summary[:300]}")


if __name__ == "__main__":
    main()
