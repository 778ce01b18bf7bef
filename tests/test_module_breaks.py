"""A module that drops or misspells a value fails a runtime check, not only a static one.

Each test copies terraform/ to a scratch directory, breaks one value of one module there in a
way the chart's values contract accepts, runs the harness on that copy (HARNESS_TERRAFORM_DIR)
with only that tool, and asserts the runtime check that must catch it fails: exit 1, its id,
and a message naming what the scenario asked for and what ran.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from harness.config import ENV_TERRAFORM_DIR
from harness.static.modules import terraform_root
from tests.conftest import CLI

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.integration

TARGET = "local://?ready_timeout_s=300"  # two shared cores: servers start slowly


def broken_root(tmp_path: Path, module: str, old: str, new: str) -> Path:
    """A copy of terraform/ whose `modules/<module>/values/main.tf` has `old` replaced."""
    root = tmp_path / "terraform"
    shutil.copytree(terraform_root(), root,
                    ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    main = root / "modules" / module / "values" / "main.tf"
    text = main.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{main}: expected {old!r} once; the module changed?"
    main.write_text(text.replace(old, new), encoding="utf-8")
    return root


def run_on(tmp_path: Path, root: Path, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    """Run the harness on root module `root`; return its exit code and checks by id."""
    reports = tmp_path / "reports"
    result = subprocess.run(
        [*CLI, "run", "--target", TARGET, "--reports-dir", str(reports), "--run-id", "broken",
         *args],
        env={**os.environ, ENV_TERRAFORM_DIR: str(root)},
        capture_output=True, text=True, timeout=900, check=False)
    report = reports / "broken" / "report.json"
    assert report.is_file(), result.stderr[-3000:]
    run = json.loads(report.read_text(encoding="utf-8"))["runs"][0]
    return result.returncode, {check["id"]: check for check in run["checks"]}


def test_dask_module_without_worker_environment(tmp_path: Path) -> None:
    # The chart's values.yaml leaves `worker.env` empty: the workers run without the
    # scenario's variables.
    root = broken_root(tmp_path, "dask", "env      = var.worker_environment_variables\n", "")
    code, checks = run_on(tmp_path, root, "--tools", "dask", "-m", "dask",
                          "-k", "worker_environment or worker_count")
    assert checks["dask.values-contract.dask"]["status"] == "pass"
    assert checks["dask.worker-count"]["status"] == "pass"
    failed = checks["dask.worker-environment"]
    assert (code, failed["status"]) == (1, "fail"), failed
    assert "expected {'PLATFORM_TEAM': 'mlops-conformance'" in failed["message"]
    assert "'PLATFORM_TEAM': None}" in failed["message"]


def test_mlflow_module_with_a_misspelt_database_name(tmp_path: Path) -> None:
    # The server writes to database "mlfow"; the scenario's database "mlflow" stays empty.
    root = broken_root(tmp_path, "mlflow", "database = var.database_name\n        user",
                       'database = "mlfow"\n        user')
    code, checks = run_on(tmp_path, root, "--scenario", "external-postgres", "--tools", "mlflow",
                          "-m", "mlflow", "-k", "run_is_in_the_database")
    assert checks["mlflow.values-contract.mlflow"]["status"] == "pass"
    failed = checks["mlflow.postgres-backend"]
    assert (code, failed["status"]) == (1, "fail"), failed
    assert 'database "mlflow" does not exist' in failed["message"]


def test_jupyterhub_module_without_oauth_admin_users(tmp_path: Path) -> None:
    # `hub.config.GitHubOAuthenticator.admin_users` dropped: the hub has no admins.
    root = broken_root(tmp_path, "jupyterhub",
                       "      admin_users           = var.oauth_github_admin_users\n", "")
    code, checks = run_on(tmp_path, root, "--scenario", "oauth", "--tools", "jupyterhub",
                          "-m", "jupyterhub", "-k", "admin_users_are_admins")
    assert checks["jupyterhub.values-contract.jupyterhub"]["status"] == "pass"
    failed = checks["jupyterhub.oauth-admin"]
    assert (code, failed["status"]) == (1, "fail"), failed
    assert "admin flag of 'ada'" in failed["message"]
    assert "True" in failed["message"]


def test_jupyterhub_module_without_the_dummy_password(tmp_path: Path) -> None:
    # `hub.config.DummyAuthenticator.password` dropped: the hub lets any password in.
    root = broken_root(tmp_path, "jupyterhub", "      password = var.dummy_password\n", "")
    code, checks = run_on(tmp_path, root, "--tools", "jupyterhub", "-m", "jupyterhub",
                          "-k", "wrong_password_refused")
    assert checks["jupyterhub.values-contract.jupyterhub"]["status"] == "pass"
    failed = checks["jupyterhub.login-refused"]
    assert (code, failed["status"]) == (1, "fail"), failed
    assert "expected a redirect to the login page without a session, got " in failed["message"]


def test_prefect_module_without_work_queues(tmp_path: Path) -> None:
    # `worker.config.workQueues` left at the chart's default (none): the worker polls the
    # pool's default queue, not the scenario's label.
    root = broken_root(tmp_path, "prefect", "workQueues = var.agent_prefect_labels",
                       "workQueues = []")
    scenario = tmp_path / "labels.yaml"
    scenario.write_text("description: a worker with one label\n"
                        "tfvars:\n  agent_prefect_labels: [etl]\n", encoding="utf-8")
    code, checks = run_on(tmp_path, root, "--scenario", str(scenario), "--tools", "prefect",
                          "-m", "prefect", "-k", "worker_polls")
    assert checks["prefect.values-contract.prefect-worker"]["status"] == "pass"
    failed = checks["prefect.worker"]
    assert (code, failed["status"]) == (1, "fail"), failed
    assert "expected work queue 'etl' for label 'etl', got {'default'}" in failed["message"]


def test_feast_module_that_forgets_the_redis_online_store(tmp_path: Path) -> None:
    # The online store's choice loses its Redis branch: the feature server writes to
    # PostgreSQL while the scenario asks for Redis.
    root = broken_root(tmp_path, "feast", "[local.redis_on ? 2 : (local.pg_on ? 1 : 0)]",
                       "[local.pg_on ? 1 : 0]")
    code, checks = run_on(tmp_path, root, "--tools", "feast", "-m", "feast",
                          "-k", "online_store_is_the_one")
    assert checks["feast.values-contract.feast-feature-server"]["status"] == "pass"
    failed = checks["feast.online-store"]
    assert (code, failed["status"]) == (1, "fail"), failed
    assert "online store type in the configuration: expected 'redis', got 'postgres'" in \
        failed["message"]
