"""Fixtures the cluster target's tests share."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from harness.launchers.base import free_port
from harness.scenario import load_scenario
from harness.secrets import SecretStore, run_secrets
from harness.static_stage import run_static_stage
from harness.targets import get_target
from harness.targets.k8s import KubernetesTarget
from harness.wait import wait_until
from tests.terraform.provider.mirror import build_mirror


@pytest.fixture(scope="module")
def offline_terraform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pytest.MonkeyPatch]:
    """The environment of a user whose CLI config installs providers from a mirror (here the
    test provider's), with a plugin cache; no TF_VAR_* from the developer's shell.
    """
    base = tmp_path_factory.mktemp("tfmirror")
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith(("TF_VAR_", "TF_CLI_ARGS", "HARNESS_")):
                patch.delenv(key)
        patch.setenv("TF_CLI_CONFIG_FILE", str(build_mirror(base)))
        patch.setenv("TF_PLUGIN_CACHE_DIR", str(base / "plugin-cache"))
        (base / "plugin-cache").mkdir()
        yield patch


def prepared(url: str, run_dir: Path, scenario_name: str, tool: str) -> KubernetesTarget:
    """The kubernetes target of `url` (KUBECONFIG set by the caller) after `prepare` for one
    tool of a scenario, as a run does it: the run's secrets (written to `run_dir/secrets`) and
    the static stage's rendered releases and manifests.
    """
    scenario = load_scenario(scenario_name)
    run_dir.mkdir()
    secrets = run_secrets(scenario)
    store = SecretStore(run_dir / "secrets")
    for name, value in secrets.items():
        store.put(name, value)
    static = run_static_stage(scenario, secrets, manifests_dir=run_dir / "manifests")
    target = get_target(url)
    assert isinstance(target, KubernetesTarget)
    target.connect()
    target.prepare(scenario, run_dir, store, frozenset({tool}), "{tool} not selected",
                   static.rendered)
    store.write_files()
    return target


@pytest.fixture(scope="module")
def scheduler() -> Iterator[tuple[str, int]]:
    """A real Dask scheduler: what the scheduler pod would run."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", str(port), "--dashboard-address", f"127.0.0.1:{free_port()}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: psutil.Process(process.pid).net_connections("tcp") != [],
                   timeout_s=120, what="dask scheduler")
        yield f"tcp://127.0.0.1:{port}", port
    finally:
        process.kill()
        process.wait()
