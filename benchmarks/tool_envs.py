"""The first build of every per-tool environment of every version set, from empty caches.

Usage: python benchmarks/tool_envs.py [--keep-uv-cache]  (from the project root, in the
harness's environment). Renders each version set's `defaults` (Terraform), then builds, one
after another as a first run does, the environments the local target runs each tool's
servers from (MLflow and Prefect at their charts' versions, MLServer and rclone for Seldon)
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
        from harness.launchers._server_env import ServerEnv, server_env  # noqa: PLC0415
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

        wanted: dict[str, ServerEnv] = {
            "mlserver": ServerEnv("mlserver", mlserver_requirements(), None, ()),
            "rclone": ServerEnv("rclone", INITIALIZER_REQUIREMENTS, None, ())}
        for name in version_set_names():
            scenario = load_scenario("defaults")
            rendered = render_scenario(
                apply_version_set(dict(scenario.tfvars), load_version_set(name)),
                secrets=run_secrets(scenario))
            for tool, components in chart_versions(rendered).items():
                for component, version in components.items():
                    env = server_env(tool, component, version)
                    if env is not None:
                        wanted[env.label] = env
        total = 0.0
        for label, env_plan in wanted.items():
            pins, as_of = env_plan.pins, env_plan.as_of
            started = time.monotonic()
            with building(label, pins, as_of, env_plan.exempt) as build:
                for argv in build.steps:
                    env = {k: v for k, v in os.environ.items() if k not in build.unset_env}
                    subprocess.run(argv, check=True, env=env, capture_output=True)
            took = time.monotonic() - started
            total += took
            size = _size_mb(build.python.python.parent.parent)
            print(f"{label:24s} {took:6.1f} s  {size:6.0f} MiB  ({' '.join(pins)}"
                  + (f", as of {as_of}" if as_of else "") + ")")
        print(f"{'all':24s} {total:6.1f} s")


if __name__ == "__main__":
    main()
