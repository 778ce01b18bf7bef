"""The static registry and credential checks, on real renderings and deliberately broken ones."""

from __future__ import annotations

import base64
import copy
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.report.model import CheckResult
from harness.scenario import load_scenario
from harness.secrets import run_secrets
from harness.static.images import image_uses, registry_of
from harness.static.modules import terraform_root
from harness.static.registry import registry_checks
from harness.static.render import Rendered, render_scenario

pytestmark = pytest.mark.terraform
SERVER = "registry.example.internal:5000"


@pytest.fixture(scope="module")
def scenario() -> tuple[dict[str, Any], dict[str, str], Rendered]:
    """The private-registry scenario's tfvars, run secrets and real rendering."""
    tfvars = dict(load_scenario("private-registry").tfvars)
    secrets = run_secrets(load_scenario("private-registry"))
    return tfvars, secrets, render_scenario(tfvars, secrets=secrets)


def by_id(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.id: r for r in results}


def edited(rendered: Rendered, module: str, release: str, edit: Any) -> Rendered:
    """A copy of `rendered` where `edit(values)` changed one release's values."""
    releases = []
    for item in rendered.releases:
        values = copy.deepcopy(item.values)
        if (item.module, item.name) == (module, release):
            edit(values)
        releases.append(dataclasses.replace(item, values=values))
    return dataclasses.replace(rendered, releases=tuple(releases))


def test_the_scenario_passes_all_three(scenario: Any) -> None:
    tfvars, secrets, rendered = scenario
    results = by_id(registry_checks(tfvars, rendered, secrets))
    assert {k: r.status for k, r in results.items()} == {
        "mlflow.registry-secret": "pass", "static.pull-secrets": "pass",
        "static.no-clear-credentials": "pass"}
    # MLflow server + migration job, the profile's user image, Dask scheduler + worker.
    assert results["static.pull-secrets"].message.startswith(f"5 image(s) from {SERVER}")


def test_a_pod_spec_without_its_pull_secret_fails(scenario: Any) -> None:
    tfvars, secrets, rendered = scenario
    broken = edited(rendered, "dask", "dask", lambda v: v["worker"]["image"].pop("pullSecrets"))
    result = by_id(registry_checks(tfvars, broken, secrets))["static.pull-secrets"]
    assert result.status == "fail"
    assert "dask/dask worker.image" in result.message
    assert "scheduler" not in result.message


def test_mlflow_without_the_module_secret_fails_both(scenario: Any) -> None:
    tfvars, secrets, rendered = scenario
    broken = edited(rendered, "mlflow", "mlflow",
                    lambda v: v.update(imagePullSecrets=[{"name": "someone-elses"}]))
    results = by_id(registry_checks(tfvars, broken, secrets))
    assert results["mlflow.registry-secret"].status == "fail"
    assert "do not reference Secret 'mlflow-registry'" in results["mlflow.registry-secret"].message
    assert "does not use the module's pull Secret" in results["static.pull-secrets"].message


def test_secret_for_another_server_or_key_fails(scenario: Any) -> None:
    tfvars, secrets, rendered = scenario
    other = by_id(registry_checks({**tfvars, "docker_registry_server": "other.example"},
                                  rendered, secrets))["mlflow.registry-secret"]
    assert other.status == "fail"
    assert "no auths entry for 'other.example'" in other.message
    wrong_key = {**secrets, "docker_auth_key": base64.b64encode(b"u:another").decode()}
    result = by_id(registry_checks(tfvars, rendered, wrong_key))["mlflow.registry-secret"]
    assert "does not hold the run's docker_auth_key" in result.message
    assert wrong_key["docker_auth_key"] not in result.message


def test_no_secret_means_failure(scenario: Any) -> None:
    tfvars, secrets, rendered = scenario
    result = by_id(registry_checks(tfvars, dataclasses.replace(rendered, kube_secrets=()),
                                   secrets))["mlflow.registry-secret"]
    assert result.status == "fail"
    assert "found 0" in result.message


@pytest.mark.parametrize("leak", ["plain", "password", "base64"])
def test_a_credential_in_clear_fails(scenario: Any, leak: str) -> None:
    tfvars, secrets, rendered = scenario
    login = base64.b64decode(secrets["docker_auth_key"]).decode()
    value = {"plain": secrets["db_password"], "password": login.split(":", 1)[1],
             "base64": base64.b64encode(f"pw: {secrets['db_password']}".encode()).decode()}[leak]
    broken = edited(rendered, "dask", "dask",
                    lambda v: v["worker"]["env"].append({"name": "LEAK", "value": value}))
    result = by_id(registry_checks(tfvars, broken, secrets))["static.no-clear-credentials"]
    assert result.status == "fail"
    assert "dask/dask worker.env[2].value" in result.message
    assert value not in result.message


def test_a_credential_where_the_chart_keeps_it_in_a_secret_passes(scenario: Any) -> None:
    tfvars, secrets, rendered = scenario
    # proxy.secretToken holds jhub_proxy_secret_token already; the chart moves it into a Secret.
    values = rendered.values["jupyterhub"]["jupyterhub"]
    assert values["proxy"]["secretToken"] == secrets["jhub_proxy_secret_token"]
    result = by_id(registry_checks(tfvars, rendered, secrets))["static.no-clear-credentials"]
    assert result.status == "pass"


def test_nonsensitive_in_a_module_fails(scenario: Any, tmp_path: Path) -> None:
    tfvars, secrets, rendered = scenario
    root = tmp_path / "terraform"
    shutil.copytree(terraform_root(), root, ignore=shutil.ignore_patterns(".terraform*"))
    outputs = root / "modules" / "mlflow" / "outputs.tf"
    outputs.write_text(outputs.read_text() + '\noutput "leak" {\n  value = nonsensitive(var.db_password)\n}\n')
    result = by_id(registry_checks(tfvars, rendered, secrets, root))["static.no-clear-credentials"]
    assert result.status == "fail"
    assert "modules/mlflow/outputs.tf" in result.message


def test_a_private_prefect_image_has_no_pull_secret(scenario: Any) -> None:
    # The seed gives Prefect's worker no pull secret parameter: the check must notice.
    tfvars, secrets, _ = scenario
    tfvars = {**tfvars, "agent_image_name": f"{SERVER}/mlops/prefect"}
    rendered = render_scenario(tfvars, secrets=secrets)
    result = by_id(registry_checks(tfvars, rendered, secrets))["static.pull-secrets"]
    assert result.status == "fail"
    assert "prefect/prefect-worker" in result.message


def test_without_a_private_registry_two_are_skipped() -> None:
    defaults = load_scenario("defaults")
    secrets = run_secrets(defaults)
    rendered = render_scenario(dict(defaults.tfvars), secrets=secrets)
    results = by_id(registry_checks(defaults.tfvars, rendered, secrets))
    assert results["static.pull-secrets"].status == "skip"
    assert "docker_private_repo is false" in results["mlflow.registry-secret"].message
    assert results["static.no-clear-credentials"].status == "pass"


@pytest.mark.parametrize(("image", "registry"), [
    ("registry.example.internal:5000/ml/mlflow:3", SERVER),
    ("localhost/ml/x", "localhost"),
    ("ghcr.io/dask/dask", "ghcr.io"),
    ("jupyter/base-notebook:latest", "docker.io"),
    ("python", "docker.io"),
])
def test_registry_of(image: str, registry: str) -> None:
    assert registry_of(image) == registry


def test_image_uses_finds_profile_images_and_their_secrets() -> None:
    values = {"singleuser": {"image": {"pullSecrets": [{"name": "r"}]},
                             "profileList": [{"kubespawner_override": {"image": "h.io/a:1"}}]},
              "global": {"imagePullSecrets": ["g"]},
              "proxy": {"chp": {"image": {"name": "h.io/chp", "tag": "4"}}}}
    uses = {u.path: (u.image, set(u.pull_secrets)) for u in image_uses(values)}
    assert uses == {
        "singleuser.profileList[0].kubespawner_override.image": ("h.io/a:1", {"r", "g"}),
        "proxy.chp.image": ("h.io/chp:4", {"g"}),
    }
