"""Benchmark the static stage: render the modules' values, render every release with its chart
for each Kubernetes version under test, and run the manifest checks.

Usage: python benchmarks/static_stage.py [--charts DIR] [--repeat N]
(run from the project root with the project installed; DIR defaults to HARNESS_CHARTS).
Each measurement is a fresh `mlops-conformance render --manifests --out TMP` process (what a
run's static stage does), timed from outside: one scenario cold (empty render cache), one
scenario warm (cache filled), then all four scenarios side by side. Prints the median of
`--repeat` runs of each. Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SCENARIOS = ("defaults", "oauth", "external-postgres", "private-registry")


def render(scenario: str, env: dict[str, str], out: Path) -> float:
    """Seconds one `render --manifests` takes; raises if it cannot render at all."""
    mark = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", "render", "--manifests",
                           "--scenario", scenario, "--out", str(out)],
                          env=env, capture_output=True, text=True, check=False)
    if proc.returncode not in {0, 1}:  # 1: a check failed, still a full static stage
        raise RuntimeError(proc.stderr.strip().splitlines()[-1])
    return time.monotonic() - mark


def main() -> None:
    """Print the static stage's wall times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts", default=os.environ.get("HARNESS_CHARTS"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.charts:
        parser.error("give --charts DIR or set HARNESS_CHARTS")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = {**os.environ, "HARNESS_CHARTS": args.charts}
        cold, warm, four = [], [], []
        for attempt in range(args.repeat):
            cache = Path(tmp) / f"cache-{attempt}"
            env = {**base, "HARNESS_CACHE_DIR": str(cache)}
            cold.append(render("defaults", env, Path(tmp) / f"cold-{attempt}"))
            warm.append(render("defaults", env, Path(tmp) / f"warm-{attempt}"))
            mark = time.monotonic()
            with ThreadPoolExecutor(len(SCENARIOS)) as pool:
                list(pool.map(lambda s, a=attempt, e=env: render(s, e, Path(tmp) / f"{s}-{a}"),
                              SCENARIOS))
            four.append(time.monotonic() - mark)
        rows = [("one scenario, empty cache", cold), ("one scenario, cache filled", warm),
                ("four scenarios side by side (cache: defaults)", four)]
    print(f"static stage wall time, median of {args.repeat} ({os.cpu_count()} cores)")
    for label, times in rows:
        print(f"  {label:<44} {statistics.median(times):6.1f} s   "
              f"(runs: {', '.join(f'{t:.1f}' for t in times)})")


if __name__ == "__main__":
    main()
