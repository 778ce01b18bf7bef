"""External PostgreSQL: the scenario's run, a DSN-given server, a wrong password, and restarts."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import psycopg
import pytest
import requests

from harness.control import ControlServer
from harness.errors import ProvisionError
from harness.launchers import _pglease
from harness.launchers.base import ProcessSpec, free_port
from harness.launchers.mlflow import MlflowLauncher
from harness.launchers.postgres import PostgresLauncher
from harness.launchers.prefect import PrefectLauncher
from harness.secrets import SecretStore
from tests import launching
from tests.conftest import CLI
from tests.test_six_tools_integration import survivors

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness.supervisor import Supervisor

NEW_CHECKS = {"mlflow.postgres-backend", "prefect.postgres-backend", "mlflow.restart-persistence"}


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    running = launching.supervisor(tmp_path)
    yield running
    running.stop_all()


@pytest.fixture
def admin_dsn(tmp_path: Path) -> Iterator[str]:
    """A running PostgreSQL that plays a server someone else manages: its admin DSN."""
    own = launching.supervisor(tmp_path / "admin")
    launcher = PostgresLauncher(launching.context(tmp_path / "admin", "postgres"))
    try:
        launching.start(own, launcher)
        password = launcher.context.secrets.get("postgres_superuser_password")
        yield f"postgresql://postgres:{password}@127.0.0.1:{launcher.port}/postgres"
    finally:
        own.stop_all()


def test_launchers_follow_the_scenario(tmp_path: Path, clean_env: None) -> None:
    """`db_host` puts MLflow, `postgresql_use_subchart = false` Prefect, on the external one."""
    secrets = SecretStore()
    secrets.put("db_password", "from-the-run-1")
    launchers = {cls.NAME: cls(launching.context(tmp_path, cls.NAME, "external-postgres",
                                                 secrets=secrets))
                 for cls in (PostgresLauncher, MlflowLauncher, PrefectLauncher)}
    assert launchers["mlflow"].requires() == ("postgres",)
    for name in ("mlflow", "prefect"):
        launchers[name].bind({"postgres": launchers["postgres"]})
    databases = launchers["postgres"].databases
    # One server for both: this run's own, as no HARNESS_EXTERNAL_POSTGRES_DSN is set.
    assert {(d.name, d.user, d.host, d.port, d.leased) for d in databases.values()} == \
        {(n, n, "127.0.0.1", launchers["postgres"].port, False) for n in ("mlflow", "prefect")}
    assert databases["prefect"].password_secret == "prefect-postgresql.password"
    for name in ("mlflow", "prefect"):
        entry = launchers[name].entry()
        # The checks' expectation is the scenario's (tfvars), the endpoint where it is served.
        assert entry.expect["external_database"] == {
            "host": "postgres.mlops.example.internal", "port": 5432, "name": name, "user": name}
        assert entry.endpoints["database"] == \
            f"postgresql://127.0.0.1:{launchers['postgres'].port}"
        assert entry.credentials["database"].file is not None
        assert "from-the-run-1" not in entry.model_dump_json()
    # The expectation comes from the tfvars, not from the database the launcher was given.
    launchers["mlflow"].database = dataclasses.replace(databases["mlflow"], name="elsewhere",
                                                       user="someone")
    assert launchers["mlflow"].entry().expect["external_database"]["name"] == "mlflow"
    defaults = MlflowLauncher(launching.context(tmp_path / "d", "mlflow"))
    assert defaults.requires() == ()
    assert defaults.entry().expect["backend_store"] == "sqlite"


def test_an_artifact_root_inside_the_pod_is_a_finding(tmp_path: Path) -> None:
    in_pod = MlflowLauncher(launching.context(tmp_path / "a", "mlflow"))
    assert "default_artifact_root '/tmp' is a path inside the tracking server's container" in \
        " ".join(in_pod.findings())
    in_store = MlflowLauncher(launching.context(tmp_path / "b", "mlflow",
                                                default_artifact_root="s3://models/mlflow"))
    assert in_store.findings() == []


def test_control_server_authenticates_and_routes() -> None:
    calls: list[str] = []

    def restart(tool: str) -> dict[str, dict[str, int]]:
        if tool != "mlflow":
            raise KeyError(tool)
        calls.append(tool)
        return {"mlflow": {"before": 1, "after": 2}}

    control = ControlServer(restart, "token-123456")
    control.start()
    try:
        url = control.restart_url("mlflow")
        assert requests.post(url, timeout=5).status_code == 401
        bearer = {"Authorization": "Bearer token-123456"}
        assert requests.post(control.restart_url("dask"), headers=bearer, timeout=5)\
            .status_code == 404
        answer = requests.post(url, headers=bearer, timeout=5)
        assert answer.json() == {"tool": "mlflow",
                                 "components": {"mlflow": {"before": 1, "after": 2}}}
        assert calls == ["mlflow"]
    finally:
        control.stop()


@pytest.mark.integration
def test_supervisor_restart_is_not_a_death(supervisor: Supervisor, tmp_path: Path) -> None:
    port = free_port()
    deaths: list[str] = []
    supervisor.on_death = deaths.append
    supervisor.start(ProcessSpec(
        name="web", argv=[sys.executable, "-m", "http.server", str(port), "-b", "127.0.0.1",
                          "-d", str(tmp_path)],
        health_url=f"http://127.0.0.1:{port}/"))
    supervisor.watch(interval_s=0.05)
    before, after = supervisor.restart("web")
    assert before != after
    assert requests.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200
    time.sleep(0.3)
    assert (deaths, supervisor.failure) == ([], None)
    with pytest.raises(KeyError):
        supervisor.restart("nothing")


# Serves once; a second start finds its marker and exits, as a server whose database is gone.
ONCE = """
import http.server, pathlib, sys
marker = pathlib.Path(sys.argv[2])
if marker.exists():
    sys.exit("second start refused")
marker.touch()
http.server.test(http.server.SimpleHTTPRequestHandler, port=int(sys.argv[1]), bind="127.0.0.1")
"""


@pytest.mark.integration
def test_failed_restart_is_reported_as_a_death(supervisor: Supervisor, tmp_path: Path) -> None:
    port = free_port()
    deaths: list[str] = []
    supervisor.on_death = deaths.append
    supervisor.start(ProcessSpec(
        name="once", argv=[sys.executable, "-c", ONCE, str(port), str(tmp_path / "marker")],
        health_url=f"http://127.0.0.1:{port}/", timeout_s=10))
    with pytest.raises(ProvisionError, match="second start refused"):
        supervisor.restart("once")
    assert supervisor.failure is not None
    assert deaths == [supervisor.failure]
    assert "once did not come back after a restart" in supervisor.failure


@pytest.mark.integration
def test_lease_creates_and_drops_on_a_given_server(
    supervisor: Supervisor, admin_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(_pglease.ENV_DSN, admin_dsn)
    launcher = PostgresLauncher(launching.context(tmp_path / "run", "postgres"))
    database = launcher.database("leased", "lessee", "lessee_password", external=True)
    assert not launcher.serves_locally
    launching.start(supervisor, launcher)
    database.check_login("test", launcher.context.secrets.get("lessee_password"))
    with pytest.raises(ProvisionError, match="'leased'"):
        database.check_login("test", "not-the-password")
    assert "external" in launcher.entry().endpoints
    supervisor.stop_all()
    with psycopg.connect(admin_dsn) as admin:
        assert admin.execute("SELECT count(*) FROM pg_database WHERE datname = 'leased'")\
            .fetchone() == (0,)
        assert admin.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'lessee'")\
            .fetchone() == (0,)


@pytest.mark.integration
def test_wrong_database_password_is_an_infrastructure_error(
    admin_dsn: str, tmp_path: Path, clean_env: None
) -> None:
    """MLflow's database exists with another password: exit 3 naming it, in bounded time."""
    with psycopg.connect(admin_dsn, autocommit=True) as admin:
        admin.execute("CREATE ROLE mlflow LOGIN PASSWORD 'the-dba-chose-this'")
        admin.execute("CREATE DATABASE mlflow OWNER mlflow")
    reports = tmp_path / "reports"
    env = {**os.environ, _pglease.ENV_DSN: admin_dsn, "TF_VAR_db_password": "not-the-dba-one"}
    started = time.monotonic()
    result = subprocess.run(
        [*CLI, "run", "--scenario", "external-postgres", "--tools", "mlflow", "--reports-dir",
         str(reports), "--run-id", "wrong"], env=env, capture_output=True, text=True,
        timeout=120, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 3, output[-3000:]
    assert time.monotonic() - started < 90
    assert "database 'mlflow'" in output
    assert "password authentication failed" in output
    assert "not-the-dba-one" not in output
    assert not survivors(reports / "wrong")
    with psycopg.connect(admin_dsn) as admin:  # what the DBA made is left as it was
        assert admin.execute("SELECT count(*) FROM pg_database WHERE datname = 'mlflow'")\
            .fetchone() == (1,)


@pytest.mark.integration
def test_external_postgres_run_passes(tmp_path: Path, clean_env: None) -> None:
    reports = tmp_path / "reports"
    result = subprocess.run(
        [*CLI, "run", "--scenario", "external-postgres", "--tools", "mlflow,prefect",
         "--reports-dir", str(reports), "--run-id", "xp"], capture_output=True, text=True,
        timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = reports / "xp"
    run = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))["runs"][0]
    statuses = {c["id"]: c["status"] for c in run["checks"]}
    assert {i: statuses.get(i) for i in NEW_CHECKS} == dict.fromkeys(NEW_CHECKS, "pass")
    failing = {i: s for i, s in statuses.items() if s not in {"pass", "skip"}}
    assert not failing
    stack = json.loads((run_dir / "stack.json").read_text(encoding="utf-8"))
    assert stack["tools"]["postgres"]["expect"]["databases"] == {"mlflow": "mlflow",
                                                                 "prefect": "prefect"}
    assert not survivors(run_dir)
