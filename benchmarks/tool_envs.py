"""The first build of every per-tool environment of every version set, from empty caches.

Usage: python benchmarks/tool_envs.py [--keep-uv-cache]  (from the project root, in the
harness's environment). Renders each version set's `defaults` (Terraform), then builds, one
after another as a first run does, the environments the local target runs each tool's
servers from (each at its chart's version; MLServer and rclone for Seldon)
into a new HARNESS_CACHE_DIR and, unless --keep-uv-cache, a new UV_CACHE_DIR, so every
package is downloaded. Prints seconds and size per environment. Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    """Build every environment into fresh caches and print what each took."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--keep-uv-cache", action="store_true",
                        help="reuse uv's download cache (measures install, not download)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HARNESS_CACHE_DIR"] = str(Path(tmp) / "harness")
        if not args.keep_uv_cache:
            os.environ["UV_CACHE_DIR"] = str(Path(tmp) / "uv")
        from harness.envs import building  # noqa: PLC0415 - after the cache is chosen
        from harness.launchers._server_env import (  # noqa: PLC0415
            built_now,
            component_stages,
            server_requirements,
        )
        from harness.launchers.seldon import (  # noqa: PLC0415
            INITIALIZER_REQUIREMENTS,
            mlserver_requirements,
        )
        from harness.scenario import load_scenario  # noqa: PLC0415
        from harness.secrets import run_secrets  # noqa: PLC0415
        from harness.static.render import render_scenario  # noqa: PLC0415
        from harness.targets.local import chart_versions  # noqa: PLC0415
        from harness.version_sets import (  # noqa: PLC0415
            apply_version_set,
            load_version_set,
            version_set_names,
        )

        total = 0.0
        for label, pins in (("mlserver", mlserver_requirements()),
                            ("rclone", INITIALIZER_REQUIREMENTS)):
            started = time.monotonic()
            with building(label, pins) as build:
                for argv in build.steps:
                    env = {k: v for k, v in os.environ.items() if k not in build.unset_env}
                    subprocess.run(argv, check=True, env=env, capture_output=True)
            total += _report(label, time.monotonic() - started, build.python.python, pins)
        wanted: dict[tuple[str, str, str, str | None], None] = {}
        for name in version_set_names():
            scenario = load_scenario("defaults")
            rendered = render_scenario(
                apply_version_set(dict(scenario.tfvars), load_version_set(name)),
                secrets=run_secrets(scenario))
            deployed = chart_versions(rendered)
            dask = deployed.get("dask", {}).get("workers")
            # Dask first: a Prefect worker's flows take their packages from its environment.
            for tool in sorted(deployed, key=lambda tool: tool != "dask"):
                for component, version in deployed[tool].items():
                    if server_requirements(tool, component, version) is not None:
                        wanted[(tool, component, version, dask)] = None
        for tool, component, version, dask in wanted:
            started = time.monotonic()
            python = built_now(component_stages(tool, component, version, dask))
            total += _report(f"{tool}-{component}-{version}", time.monotonic() - started,
                             python.python, ())
        print(f"{'all':28s} {total:6.1f} s")


def _report(label: str, took: float, python: Path, pins: tuple[str, ...]) -> float:
    """Print one environment's line; return its seconds (0 when it was built already)."""
    size = _size_mb(python.parent.parent)
    print(f"{label:28s} {took:6.1f} s  {size:6.0f} MiB  {python.parent.parent.name}"
          + (f"  ({' '.join(pins)})" if pins else ""))
    return took

if __name__ == "__main__":
    main()
