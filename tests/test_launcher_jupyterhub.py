"""JupyterHub launcher: settings, findings, and a real hub whose users' servers never outlive it."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
import requests

from harness.errors import BadInputError
from harness.launchers.base import ProcessSpec
from harness.launchers.chart_values import ChartValues
from harness.launchers.jupyterhub import JupyterhubLauncher
from harness.secrets import SecretStore
from tests import launching
from tests.conftest import CLI

if TYPE_CHECKING:
    from harness.supervisor import Supervisor

JUPYTERHUB_CHECKS = {"jupyterhub.api-version", "jupyterhub.login", "jupyterhub.login-refused",
                     "jupyterhub.api-auth", "jupyterhub.spawn", "jupyterhub.kernel",
                     "jupyterhub.storage", "jupyterhub.stop-server"}
OAUTH_CHECKS = {"jupyterhub.oauth-redirect", "jupyterhub.oauth-member",
                "jupyterhub.oauth-non-member", "jupyterhub.oauth-admin",
                "jupyterhub.oauth-dummy-refused"}
# Checks that log in with the DummyAuthenticator's shared password: skipped under OAuth.
DUMMY_CHECKS = {"jupyterhub.login", "jupyterhub.login-refused", "jupyterhub.spawn",
                "jupyterhub.kernel", "jupyterhub.storage", "jupyterhub.stop-server"}


def launcher(tmp_path: Path, **tfvars: object) -> JupyterhubLauncher:
    return JupyterhubLauncher(launching.context(tmp_path, "jupyterhub", **tfvars))


def test_storage_path_maps_under_the_users_root(tmp_path: Path) -> None:
    hub = launcher(tmp_path, singleuser_storage_mount_path="/data/shared")
    assert hub.storage_template == str(tmp_path / "state" / "jupyterhub" / "users" /
                                       "{username}" / "data" / "shared")


def test_password_is_a_secret_and_findings_name_the_defaults(tmp_path: Path) -> None:
    secrets = SecretStore()
    hub = JupyterhubLauncher(launching.context(tmp_path, "jupyterhub", secrets=secrets))
    assert secrets.get("dummy_password") == "a-shared-secret-password"
    assert secrets.redactor("pw a-shared-secret-password") == "pw ***"
    assert hub.entry().credentials["dummy_password"].file == "secrets/dummy_password"
    findings = " ".join(hub.findings())
    assert "documented default" in findings
    assert "plain HTTP" in findings


def test_own_password_is_no_finding(tmp_path: Path) -> None:
    secrets = SecretStore()
    secrets.put("dummy_password", "a-password-of-our-own")
    hub = JupyterhubLauncher(launching.context(tmp_path, "jupyterhub", secrets=secrets,
                                               jhub_proxy_https_enabled=True))
    assert not any("documented default" in f or "plain HTTP" in f for f in hub.findings())


def test_hub_runs_the_values_and_the_checks_expect_the_scenario(tmp_path: Path) -> None:
    # A module whose hub.config lost its admins and mounts storage elsewhere: the hub gets
    # that, while the Stack entry keeps what the scenario asks for.
    context = launching.context(tmp_path, "jupyterhub", scenario="oauth")
    config = {"JupyterHub": {"authenticator_class": "github"},
              "GitHubOAuthenticator": {"client_id": "other", "client_secret": "s",
                                       "oauth_callback_url": "https://x.example/hub/cb"}}
    values = ChartValues("jupyterhub", {"jupyterhub": {
        "hub": {"config": config}, "singleuser": {"storage": {"homeMountPath": "/elsewhere"}}}})
    hub = JupyterhubLauncher(dataclasses.replace(context, values=values))
    context.state_dir.mkdir(parents=True)
    *_, hub_spec = list(hub.processes())
    assert isinstance(hub_spec, ProcessSpec)
    assert hub_spec.env["GITHUB_CLIENT_SECRET"] == "s"
    settings = json.loads((context.state_dir / "settings.json").read_text(encoding="utf-8"))
    assert settings["hub_config"]["GitHubOAuthenticator"] == {
        "client_id": "other", "oauth_callback_url": f"{hub.url}/hub/cb",
        "github_url": hub.github_url}
    assert settings["storage"].endswith("/{username}/elsewhere")
    expect = hub.entry().expect
    assert (expect["client_id"], expect["admin_users"]) == ("Iv1.mlops-conformance", ["ada"])
    assert expect["oauth_callback_url"] == f"{hub.url}/hub/oauth_callback"
    assert expect["storage_path"].endswith("/{username}/home/jovyan/persistent")


def test_oauth_runs_against_the_github_stand_in(tmp_path: Path) -> None:
    secrets = SecretStore()
    secrets.put("oauth_github_client_secret", "client-secret-of-the-run")
    context = launching.context(tmp_path, "jupyterhub", scenario="oauth", secrets=secrets)
    assert JupyterhubLauncher.unsupported(context.scenario) is None
    hub = JupyterhubLauncher(context)
    assert not context.state_dir.exists(), "validation writes nothing"
    context.state_dir.mkdir(parents=True)
    stages = hub.processes()
    github = next(stages)
    assert isinstance(github, ProcessSpec)
    assert github.name == "github"
    assert github.argv[:3] == [sys.executable, "-m", "harness.standins.github"]
    config = context.state_dir / "github.json"
    assert config.stat().st_mode & 0o777 == 0o600
    app = json.loads(config.read_text(encoding="utf-8"))["apps"][0]
    assert app["callback_url"] == f"{hub.url}/hub/oauth_callback"
    assert app["client_secret"] == "client-secret-of-the-run"
    *_, hub_spec = list(stages)
    assert isinstance(hub_spec, ProcessSpec)
    assert hub_spec.env["GITHUB_CLIENT_SECRET"] == "client-secret-of-the-run"
    assert "JHUB_DUMMY_PASSWORD" not in hub_spec.env
    settings = (context.state_dir / "settings.json").read_text(encoding="utf-8")
    assert "client-secret-of-the-run" not in settings, "the secret reaches the hub by env only"
    github = json.loads(settings)["hub_config"]["GitHubOAuthenticator"]
    assert github["allowed_organizations"] == ["mlops-conformance"]
    assert "client_secret" not in github  # it reaches the hub through its environment
    entry = hub.entry()
    assert entry.endpoints["github"] == hub.github_url
    assert entry.expect["authenticator"] == "github"
    assert entry.expect["admin_users"] == ["ada"]
    assert entry.expect["github_users"]["eve"] == ["another-org"]
    assert "client-secret-of-the-run" not in entry.model_dump_json()
    findings = " ".join(hub.findings())
    assert "DummyAuthenticator" not in findings
    assert "plain HTTP" in findings


def test_oauth_without_organisations_is_a_finding(tmp_path: Path) -> None:
    hub = JupyterhubLauncher(launching.context(tmp_path, "jupyterhub", scenario="oauth",
                                               oauth_github_allowed_organizations=[]))
    assert any("every GitHub user can log in" in f for f in hub.findings())


def test_oauth_without_stand_in_accounts_is_bad_input(tmp_path: Path) -> None:
    context = launching.context(tmp_path, "jupyterhub", scenario="oauth")
    context.scenario.local.github = None
    with pytest.raises(BadInputError, match="local.github"):
        JupyterhubLauncher(context)


@pytest.fixture
def supervisor(tmp_path: Path):  # type: ignore[no-untyped-def]
    running = launching.supervisor(tmp_path)
    yield running
    running.stop_all()


def spawn_user(hub_url: str, password: str, name: str, hub_pid: int) -> int:
    """Log in, start the user's server, return the pid of its process.

    The server is looked for among the hub's own children: other tests running at the same
    time spawn servers for a user of the same name.
    """
    session = requests.Session()
    session.get(f"{hub_url}/hub/login", timeout=30)
    session.post(f"{hub_url}/hub/login", timeout=30, allow_redirects=False,
                 data={"username": name, "password": password,
                       "_xsrf": session.cookies.get("_xsrf", "")})
    token = requests.post(f"{hub_url}/hub/api/users/{name}/tokens", timeout=30, json={
        "auth": {"username": name, "password": password}}).json()["token"]
    headers = {"Authorization": f"token {token}"}
    requests.post(f"{hub_url}/hub/api/users/{name}/server", headers=headers, timeout=60)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        model = requests.get(f"{hub_url}/hub/api/users/{name}", headers=headers, timeout=10)
        if model.json()["servers"].get("", {}).get("ready"):
            break
        time.sleep(0.5)
    (server,) = [p for p in psutil.Process(hub_pid).children(recursive=True)
                 if "jupyterhub.singleuser" in " ".join(p.cmdline())
                 and p.environ().get("JUPYTERHUB_USER") == name]
    return server.pid


@pytest.mark.integration
@pytest.mark.parametrize("hub_dies", [False, True], ids=["hub-stops", "hub-killed"])
def test_users_servers_never_outlive_the_run(supervisor: Supervisor, tmp_path: Path,
                                             hub_dies: bool) -> None:
    """Stopping the stack ends users' servers, even when the hub was killed and cannot."""
    hub = launcher(tmp_path)
    launching.start(supervisor, hub)
    assert [r.spec.name for r in supervisor.running] == ["jupyterhub-proxy", "jupyterhub"]
    url = hub.entry().endpoints["hub"]
    assert hub.versions(hub.entry())["hub"].startswith(("5.", "6."))
    hub_process = supervisor.running[1].executor.process
    assert hub_process is not None
    pid = spawn_user(url, hub.password, "alice", hub_process.pid)
    storage = hub.storage_template.format(username="alice")
    assert os.path.isdir(storage), "the storage path is created before the server starts"
    # Its port comes from the harness's allocator, outside the ephemeral range; on loopback.
    listening = [c.laddr for c in psutil.Process(pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN]
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert listening
    assert all(a.ip == "127.0.0.1" and a.port in hub.singleuser_ports for a in listening)
    assert not any(low <= a.port <= high for a in listening)
    if hub_dies:
        os.kill(hub_process.pid, signal.SIGKILL)
        hub_process.wait()
    supervisor.stop_all()
    _, alive = psutil.wait_procs([psutil.Process(pid)] if psutil.pid_exists(pid) else [],
                                 timeout=30)
    assert not alive, "a user's server survived the stack"


@pytest.mark.integration
def test_run_checks_pass_and_findings_reported(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = subprocess.run(
        [*CLI, "run", "--tools", "jupyterhub", "-m", "jupyterhub", "--reports-dir",
         str(reports), "--run-id", "it"], capture_output=True, text=True, timeout=600,
        check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads((reports / "it" / "report.json").read_text(encoding="utf-8"))["runs"][0]
    statuses = {c["id"]: c["status"] for c in run["checks"] if c["id"] in JUPYTERHUB_CHECKS}
    assert statuses == dict.fromkeys(JUPYTERHUB_CHECKS, "pass")
    assert any("documented default" in f for f in run["findings"])
    assert "a-shared-secret-password" not in (reports / "it" / "report.json").read_text(
        encoding="utf-8")
    assert "finding:" in (reports / "it" / "report.md").read_text(encoding="utf-8")


def test_local_target_runs_the_hub_in_the_oauth_scenario(tmp_path: Path) -> None:
    from harness.scenario import load_scenario
    from harness.targets.local import LocalTarget

    target = LocalTarget("local://", {})
    target.prepare(load_scenario("oauth"), tmp_path, SecretStore(), frozenset({"jupyterhub"}))
    assert "jupyterhub" in target.launchers
    assert "jupyterhub" not in target.skipped


@pytest.mark.integration
def test_oauth_run_passes_and_refuses_the_shared_password(tmp_path: Path) -> None:
    """`run --scenario oauth --tools jupyterhub`: OAuth checks pass, dummy checks skip."""
    from tests.test_six_tools_integration import survivors

    reports = tmp_path / "reports"
    result = subprocess.run(
        [*CLI, "run", "--scenario", "oauth", "--tools", "jupyterhub", "-m", "jupyterhub",
         "--reports-dir", str(reports), "--run-id", "oauth"],
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = reports / "oauth"
    run = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))["runs"][0]
    statuses = {c["id"]: c["status"] for c in run["checks"] if c["tool"] == "jupyterhub"}
    assert {k: v for k, v in statuses.items() if k in OAUTH_CHECKS} == dict.fromkeys(
        OAUTH_CHECKS, "pass")
    skipped = {c["id"]: c["message"] for c in run["checks"] if c["id"] in DUMMY_CHECKS}
    assert set(skipped) == DUMMY_CHECKS
    assert all("authenticates with 'github'" in reason for reason in skipped.values())
    assert statuses["jupyterhub.api-auth"] == "pass"
    assert {"github", "jupyterhub", "jupyterhub-proxy"} <= set(run["ready_s"])
    assert not any("DummyAuthenticator" in f for f in run["findings"])
    assert not survivors(run_dir)


@pytest.mark.parametrize(("db", "upgrades"), [
    ({}, True),  # the chart's default `sqlite-pvc`, `upgrade` unset: it upgrades
    ({"upgrade": False}, False),
    ({"type": "postgres"}, False),  # an external database: only when asked
    ({"type": "postgres", "upgrade": True}, True),
])
def test_the_hub_upgrades_its_database_when_the_chart_does(
        tmp_path: Path, db: dict[str, object], upgrades: bool) -> None:
    context = launching.context(tmp_path, "jupyterhub")
    values = ChartValues("jupyterhub", {"jupyterhub": {"hub": {"db": db}}})
    hub = JupyterhubLauncher(dataclasses.replace(context, values=values))
    context.state_dir.mkdir(parents=True)
    *_, hub_spec = list(hub.processes())
    assert isinstance(hub_spec, ProcessSpec)
    assert ("--upgrade-db" in hub_spec.argv) is upgrades
