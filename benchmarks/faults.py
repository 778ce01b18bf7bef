"""Benchmark the fault tests: which check each injected fault made fail, and how fast.

Usage: python benchmarks/faults.py [-k EXPR]   (run from the project root, test extras installed)
Runs `pytest tests/faults -m faults` with `$FAULTS_RECORD` set, so each fault test records
its verdict (also those whose assertion failed), then prints the fault table (fault, check,
status, exit code, seconds from `check --stack` to its verdict, the message's first line)
and the runtime checks (`@pytest.mark.check` in conformance/) that no fault made fail.
Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_MARK = re.compile(r"""@pytest\.mark\.check\(\s*["']([\w.-]+)["']""")


def runtime_checks() -> list[str]:
    """Every check id declared with `@pytest.mark.check` under conformance/."""
    found = set()
    for path in (ROOT / "conformance").rglob("test_*.py"):
        found.update(CHECK_MARK.findall(path.read_text(encoding="utf-8")))
    return sorted(found)


def first_line(message: str, width: int = 110) -> str:
    """The message's first line, shortened, safe in a Markdown table cell."""
    line = (message.strip().splitlines() or [""])[0].replace("|", "\\|")
    return line if len(line) <= width else line[: width - 1] + "…"


def main() -> None:
    """Run the fault tests, print the table and the checks no fault made fail."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="keyword", help="only the fault tests matching EXPR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        record = Path(scratch) / "faults.jsonl"
        argv = [sys.executable, "-m", "pytest", str(ROOT / "tests" / "faults"), "-m", "faults",
                "-q", "-p", "no:cacheprovider"]
        if args.keyword:
            argv += ["-k", args.keyword]
        started = time.monotonic()
        done = subprocess.run(argv, cwd=ROOT, env={**os.environ, "FAULTS_RECORD": str(record)},
                              check=False)
        total = time.monotonic() - started
        rows = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()] \
            if record.is_file() else []
    print("\n| fault | check that failed | status | exit | seconds to verdict | message |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| `{row['fault']}` | `{row['check']}` | {row['status']} | {row['exit_code']} | "
              f"{row['seconds']:.1f} | {first_line(row['message'])} |")
    caught = {row["check"] for row in rows if row["status"] in {"fail", "error"}}
    missed = [check for check in runtime_checks() if check not in caught]
    print(f"\n{len(rows)} verdicts, {len(caught)} of {len(runtime_checks())} runtime checks "
          f"made to fail; fault tests took {total:.0f}s (pytest exit {done.returncode}).")
    print(f"Checks no fault made fail ({len(missed)}): {', '.join(missed) or 'none'}")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
