"""The size of the diagnostics bundle of a realistic failed run, built from recorded objects.

Usage: python benchmarks/diagnostics_size.py (from the project root; no cluster needed).
The run is the tests' `failed_run()`: six tools' namespaces, 15 pods of two containers each,
one container in CrashLoopBackOff after 5000 lines of log. Writes the bundle with the default
bounds into a temporary directory and prints its total size and file count. Not a test.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    """Print the bundle's size, its file count and how it compares with the bound."""
    sys.path.insert(0, str(ROOT))  # the recorded run lives with the tests
    from harness.k8s.diagnostics import MAX_TOTAL_BYTES, write_bundle  # noqa: PLC0415
    from tests.k8s.test_diagnostics import failed_run  # noqa: PLC0415

    cluster, namespaces = failed_run()
    with tempfile.TemporaryDirectory() as tmp:
        bundle = write_bundle(cluster, namespaces, Path(tmp))
        on_disk = [p for p in Path(tmp).rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in on_disk)
    assert size == bundle.total_bytes
    print(f"namespaces: {len(namespaces)}, pods: "
          f"{sum(len(cluster.pods(ns)) for ns in namespaces)}")
    print(f"bundle: {size} bytes ({size / 1024 / 1024:.2f} MiB) in {len(on_disk)} files "
          f"(index.md included), bound {MAX_TOTAL_BYTES} bytes "
          f"({100 * size / MAX_TOTAL_BYTES:.0f}% of it)")
    print(f"cut to their bound: {len(bundle.truncated)} files; left out: {len(bundle.omitted)}")


if __name__ == "__main__":
    main()
