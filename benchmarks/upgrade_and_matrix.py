"""Wall times of an upgrade and of the scenario x version-set matrix, against one run.

Usage: python benchmarks/upgrade_and_matrix.py [--skip-matrix] [--parallel N]
(from the project root, in the harness's environment, HARNESS_CHARTS set as for the tests).

Runs, one after another, into a temporary reports directory:
  1. `run` of `defaults` at the modules' pins (one scenario, one set): the baseline;
  2. `upgrade --from previous --to current` of `defaults`;
  3. `run --scenario all --versions previous,current` (4 scenarios x 2 sets = 8 columns).
Prints Markdown: each command's wall time, exit code and result per column; the upgrade's
canaries, downtime and schema revisions per tool; the matrix's time as a multiple of the
baseline. Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _timed(args: list[str], reports: Path, run_id: str) -> tuple[float, int, dict[str, Any]]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "harness.cli", *args, "--reports-dir",
                           str(reports), "--run-id", run_id], capture_output=True, text=True,
                          check=False)
    took = time.monotonic() - started
    path = reports / run_id / "report.json"
    report = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    if not report:
        print(done.stderr[-2000:], file=sys.stderr)
    return took, done.returncode, report


def _columns(report: dict[str, Any]) -> str:
    cells = []
    for run in report.get("runs", []):
        counts: dict[str, int] = {}
        for check in run["checks"]:
            counts[check["status"]] = counts.get(check["status"], 0) + 1
        name = run["scenario"] + ("" if run["version_set"] == "default"
                                  else f"@{run['version_set']}")
        cells.append(f"{name}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return "; ".join(cells)


def main() -> None:
    """Run the three commands and print what each took."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-matrix", action="store_true")
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reports = Path(tmp)
        one_s, one_rc, one = _timed(["run"], reports, "one")
        print(f"- `run` (defaults, pins): {one_s:.0f} s, exit {one_rc}; {_columns(one)}")
        up_s, up_rc, up = _timed(["upgrade", "--from", "previous", "--to", "current"], reports,
                                 "upgrade")
        print(f"- `upgrade --from previous --to current`: {up_s:.0f} s, exit {up_rc}; "
              f"{_columns(up)}")
        for run in up.get("runs", []):
            upgrade = run.get("upgrade") or {}
            print(f"  - phases: {run['phases_s']}; upgrade phase {upgrade.get('duration_s')} s")
            for tool in upgrade.get("tools", []):
                if tool["upgraded"] or tool["canaries_written"]:  # PostgreSQL's rows too
                    print(f"  - {tool['tool']}: {tool['from_versions']} -> {tool['to_versions']}"
                          f"; canaries {tool['canaries_present']}/{tool['canaries_written']}"
                          f" (lost {len(tool['canaries_lost'])}, changed "
                          f"{len(tool['canaries_changed'])}); unavailable {tool['downtime_s']}"
                          f"; schema {tool['schema_before'] or '-'} -> "
                          f"{tool['schema_after'] or '-'}")
        if args.skip_matrix:
            return
        matrix_s, matrix_rc, matrix = _timed(
            ["run", "--scenario", "all", "--versions", "previous,current", "--parallel",
             str(args.parallel)], reports, "matrix")
        print(f"- `run --scenario all --versions previous,current` ({args.parallel} side by "
              f"side): {matrix_s:.0f} s, exit {matrix_rc}, {matrix_s / one_s:.1f} times the "
              f"single run; {_columns(matrix)}")


if __name__ == "__main__":
    main()
