"""init, validate, plan and apply of the modules and the root, offline, against the test provider.

The test provider (tests/terraform/provider/, wired by conftest.py) serves hashicorp/helm
3.1.1 and hashicorp/kubernetes 2.38.0 with their real schemas and records what apply sends.
The root is initialised once per session and copied per scenario, so each apply costs no
extra `init`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import TerraformRun

from harness.static.modules import terraform_root, tool_names
from harness.static.render import render_scenario
from harness.targets._terraform import TerraformError

pytestmark = pytest.mark.terraform

ROOT = terraform_root()
FIXTURES = Path(__file__).parent / "fixtures"
SCENARIOS = sorted(p.name.removesuffix(".tfvars.json") for p in FIXTURES.glob("*.tfvars.json"))
SECRETS = {
    "jhub_proxy_secret_token": "b2" * 32,
    "db_password": "fixture-db-password",
    "feast_postgresql_password": "fixture-feast-password",
}
_IGNORED = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "terraform.tfstate*")

Applied = Callable[[str], TerraformRun]


def scenario_tfvars(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.tfvars.json").read_text())
    return {**loaded, **SECRETS}


@pytest.fixture(scope="session")
def root_initialised(tf_cli_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("root-init") / "terraform"
    shutil.copytree(ROOT, dest, ignore=_IGNORED)
    TerraformRun(dest, tf_cli_config, dest.parent / "records.jsonl").init()
    return dest


@pytest.fixture(scope="session")
def applied(
    root_initialised: Path, tf_cli_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Applied:
    """`applied(scenario)`: the root applied once per scenario with its fixture tfvars."""
    done: dict[str, TerraformRun] = {}

    def apply(scenario: str) -> TerraformRun:
        if scenario not in done:
            dest = tmp_path_factory.mktemp(f"apply-{scenario}") / "terraform"
            shutil.copytree(root_initialised, dest, symlinks=True)
            run = TerraformRun(dest, tf_cli_config, dest.parent / "records.jsonl")
            var_file = dest.parent / "scenario.tfvars.json"
            var_file.write_text(json.dumps(scenario_tfvars(scenario)))
            run.apply(var_file=var_file)
            done[scenario] = run
        return done[scenario]

    return apply


def helm_releases(run: TerraformRun) -> dict[str, dict[str, Any]]:
    return {r["values"]["name"]: r["values"] for r in run.records("helm_release", "create")}


def test_root_validates(root_initialised: Path, tf_cli_config: Path) -> None:
    TerraformRun(root_initialised, tf_cli_config, root_initialised / "r.jsonl").validate()


@pytest.mark.parametrize("tool", tool_names())
def test_module_inits_validates_and_plans(
    tool: str, terraform: Callable[..., TerraformRun], tmp_path: Path
) -> None:
    run = terraform(ROOT / "modules" / tool)
    run.init()
    run.validate()
    var_file = tmp_path / "module.tfvars.json"
    needed = {
        "jupyterhub": ["jhub_proxy_secret_token"],
        "mlflow": ["db_password"],
        "feast": ["feast_postgresql_password"],
    }
    var_file.write_text(json.dumps({k: SECRETS[k] for k in needed.get(tool, [])}))
    run.plan(var_file=var_file)
    assert run.records() == []


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_apply_sends_exactly_the_rendered_values(applied: Applied, scenario: str) -> None:
    run = applied(scenario)
    sent = helm_releases(run)
    rendered = render_scenario(
        json.loads((FIXTURES / f"{scenario}.tfvars.json").read_text()), secrets=SECRETS
    )
    assert sorted(sent) == sorted(r.name for r in rendered.releases)
    for release in rendered.releases:
        record = sent[release.name]
        assert (record["chart"], record["version"], record["repository"]) == (
            release.chart,
            release.version,
            release.repository,
        )
        assert [yaml.safe_load(v) for v in record["values"]] == [release.values]


def test_defaults_install_every_tool_in_its_namespace(applied: Applied) -> None:
    run = applied("defaults")
    namespaces = {
        r["values"]["metadata"][0]["name"] for r in run.records("kubernetes_namespace_v1")
    }
    assert namespaces == {"jhub", "prefect", "dask", "feast", "mlflow", "seldon-system"}
    sent = helm_releases(run)
    assert sent["seldon-core-operator"]["version"] == "1.17.1"
    assert sent["seldon-core-operator"]["namespace"] == "seldon-system"
    assert sent["jupyterhub"]["namespace"] == "jhub"
    outputs = run.tf.output_json()
    assert outputs["endpoints"]["mlflow"] == {
        "service": "mlflow",
        "namespace": "mlflow",
        "port": 80,
        "secret_names": ["mlflow-postgresql"],
    }


def test_private_registry_creates_the_pull_secret(applied: Applied) -> None:
    run = applied("private-registry")
    secrets = run.records("kubernetes_secret_v1", "create")
    assert len(secrets) == 1
    secret = secrets[0]["values"]
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["metadata"][0]["name"] == "mlflow-registry"
    config = json.loads(secret["data"][".dockerconfigjson"])
    assert config["auths"]["registry.example.com"]["auth"] == "Zml4dHVyZTpzZWNyZXQ="


def test_private_registry_secret_is_the_rendered_one(applied: Applied) -> None:
    # The static stage checks the rendered Secret (harness/static/registry.py): it must be
    # exactly what apply creates.
    created = applied("private-registry").records("kubernetes_secret_v1", "create")
    rendered = render_scenario(scenario_tfvars("private-registry"), secrets=SECRETS)
    assert [(s.name, s.type, s.data) for s in rendered.kube_secrets] == [
        (c["values"]["metadata"][0]["name"], c["values"]["type"], c["values"]["data"])
        for c in created
    ]


def test_outputs_name_the_user_provided_secret_and_the_endpoints(applied: Applied) -> None:
    outputs = applied("external-postgres").tf.output_json()
    assert [s["name"] for s in outputs["user_provided"]["prefect"]["secrets"]] == ["prefect-db"]
    assert "jupyterhub" not in outputs["user_provided"]
    # The module's endpoint is its values submodule's, which the static stage renders.
    rendered = render_scenario(scenario_tfvars("external-postgres"), secrets=SECRETS)
    assert outputs["endpoints"] == rendered.endpoints
    assert [(u.module, u.name) for u in rendered.user_provided] == [("prefect", "prefect-db")]


def test_disabled_tool_installs_nothing(applied: Applied) -> None:
    run = applied("external-postgres")
    assert "jupyterhub" not in helm_releases(run)
    namespaces = {
        r["values"]["metadata"][0]["name"] for r in run.records("kubernetes_namespace_v1")
    }
    assert "jhub" not in namespaces
    assert "seldon" in namespaces


def test_a_misspelt_terraform_argument_fails_validation(
    terraform: Callable[..., TerraformRun],
) -> None:
    run = terraform(ROOT / "modules" / "seldon")
    main = run.workdir / "main.tf"
    main.write_text(
        main.read_text().replace("  namespace  = var.namespace", "  namespce   = var.namespace")
    )
    run.init()
    with pytest.raises(TerraformError, match="namespce"):
        run.validate()
