"""The oauth, external-postgres and private-registry scenarios: they render, their bad inputs exit 2."""

from __future__ import annotations

import base64
import subprocess
from typing import TYPE_CHECKING

import pytest

from harness.scenario import load_scenario
from harness.secrets import run_secrets
from tests.conftest import CLI

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.terraform


def render(scenario: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "render", "--scenario", scenario], capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.mark.parametrize("name", ["oauth", "external-postgres", "private-registry"])
def test_scenario_renders_and_passes_every_contract(name: str, clean_env: None) -> None:
    result = render(name)
    assert result.returncode == 0, result.stderr
    assert "FAIL" not in result.stderr
    assert "ok   static.no-clear-credentials" in result.stdout


def test_oauth_scenario_holds_the_standin_accounts() -> None:
    scenario = load_scenario("oauth")
    assert scenario.local.github is not None
    users = scenario.local.github.users
    orgs = set(scenario.var("oauth_github_allowed_organizations"))
    assert set(scenario.var("oauth_github_admin_users")) <= set(users)
    assert any(orgs & set(o) for o in users.values()), "someone must be a member"
    assert any(not orgs & set(o) for o in users.values()), "someone must be refused"


def test_secrets_follow_the_features_a_scenario_turns_on(clean_env: None) -> None:
    assert "docker_auth_key" not in run_secrets(load_scenario("defaults"))
    assert "oauth_github_client_secret" not in run_secrets(load_scenario("defaults"))
    assert run_secrets(load_scenario("oauth"))["oauth_github_client_secret"]
    key = run_secrets(load_scenario("private-registry"))["docker_auth_key"]
    user, _, password = base64.b64decode(key).decode().partition(":")
    assert user
    assert len(password) >= 24
    assert key != run_secrets(load_scenario("private-registry"))["docker_auth_key"]


def test_a_secret_from_the_environment_wins(
    clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TF_VAR_oauth_github_client_secret", "from-the-real-oauth-app")
    assert run_secrets(load_scenario("oauth"))["oauth_github_client_secret"] == (
        "from-the-real-oauth-app")


BAD = [
    ("tfvars: {oauth_github_enable: true, oauth_github_allowed_organizations: [org]}",
     "field 'tfvars.oauth_github_enable': oauth_github_client_id and oauth_github_client_secret "
     "are required"),
    ("tfvars: {oauth_github_enable: true, oauth_github_client_id: c, "
     "oauth_github_allowed_organizations: ['']}",
     "field 'tfvars.oauth_github_allowed_organizations': "),
    ("tfvars: {oauth_github_enable: true, oauth_github_client_id: c}\n"
     "local: {github: {users: {ada: mlops}}}",
     "field 'local.github.users.ada': Input should be a valid list"),
    ("local: {github: {user: {ada: []}}}", "field 'local.github.user': unknown key"),
    ("tfvars: {oauth_github_client_secret: hunter22}",
     "field 'tfvars.oauth_github_client_secret': secrets do not belong in scenario files"),
    ("tfvars: {postgresql_use_subchart: false}",
     "postgresql_external_hostname and postgresql_existing_secret are required"),
    ("tfvars: {db_host: db.example, db_port: many}", "field 'tfvars.db_port'"),
    ("tfvars: {docker_private_repo: true}",
     "field 'tfvars.docker_private_repo': docker_registry_server and docker_auth_key are required"),
    ("tfvars: {docker_private_repo: true, docker_registry_server: r.example, docker_auth_key: a}",
     "field 'tfvars.docker_auth_key': secrets do not belong in scenario files"),
    ("tfvars: {worker_image_pull_secret: [{name: ''}]}",
     "field 'tfvars.worker_image_pull_secret': "),
    ("checks: {skip: {mlflow.image-pull: no registry here}}",
     "field 'checks.skip.mlflow.image-pull': no check or tool of that name; did you mean "),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_bad_input_exits_2_naming_the_field(
    tmp_path: Path, clean_env: None, body: str, message: str
) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(f"description: bad\n{body}\n", encoding="utf-8")
    result = render(str(scenario))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1
