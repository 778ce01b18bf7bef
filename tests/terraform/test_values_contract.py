"""Rendered Helm values for every fixture tfvars set satisfy every pinned chart's contract."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.static.contract import (
    ContractViolationError,
    assert_contracts,
    check_contracts,
    merge_values,
)
from harness.static.modules import terraform_root
from harness.static.render import (
    InvalidTfvarsError,
    Release,
    Rendered,
    render_scenario,
)

FIXTURES = Path(__file__).parent / "fixtures"
SCENARIOS = sorted(p.name.removesuffix(".tfvars.json") for p in FIXTURES.glob("*.tfvars.json"))
SECRETS = {
    "jhub_proxy_secret_token": "a1" * 32,
    "db_password": "fixture-db-password",
    "feast_postgresql_password": "fixture-feast-password",
}


def tfvars(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.tfvars.json").read_text())
    return loaded


@pytest.fixture(scope="session")
def rendered() -> dict[str, Rendered]:
    """Every fixture scenario rendered once (Terraform takes ~0.7 s per scenario)."""
    return {name: render_scenario(tfvars(name), secrets=SECRETS) for name in SCENARIOS}


def release(rendered: Rendered, name: str) -> dict[str, Any]:
    return next(r.values for r in rendered.releases if r.name == name)


@pytest.mark.terraform
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_release_satisfies_its_chart_contract(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    verdicts = check_contracts(rendered[scenario])
    failures = [str(v) for v in verdicts if not v.passed]
    assert not failures, failures
    assert {v.release for v in verdicts} == {r.name for r in rendered[scenario].releases}


@pytest.mark.terraform
def test_scenarios_reach_the_values(rendered: dict[str, Rendered]) -> None:
    hub = release(rendered["oauth"], "jupyterhub")["hub"]["config"]
    assert hub["JupyterHub"]["authenticator_class"] == "github"
    assert hub["GitHubOAuthenticator"]["allowed_organizations"] == ["acme-ml"]
    assert hub["GitHubOAuthenticator"]["admin_users"] == ["alice"]

    private = rendered["private-registry"]
    assert release(private, "mlflow")["imagePullSecrets"] == [{"name": "mlflow-registry"}]
    dask = release(private, "dask")
    assert dask["worker"]["image"]["pullSecrets"] == [{"name": "regcred"}]
    assert dask["scheduler"]["image"]["pullSecrets"] == [{"name": "regcred"}]
    assert dask["worker"]["replicas"] == 2
    assert dask["worker"]["env"] == [{"name": "EXTRA_PIP_PACKAGES", "value": "s3fs"}]
    assert release(private, "jupyterhub")["singleuser"]["image"]["pullSecrets"] == [
        {"name": "regcred"}
    ]

    external = rendered["external-postgres"]
    assert release(external, "mlflow")["backendStore"]["postgres"]["host"] == "postgres.example.com"
    assert release(external, "prefect-server")["postgresql"] == {"enabled": False}
    assert "jupyterhub" not in external.values
    assert "feast-redis" not in external.values["feast"]


@pytest.mark.terraform
def test_masked_values_hide_every_secret(rendered: dict[str, Rendered]) -> None:
    for scenario in SCENARIOS:
        text = json.dumps(rendered[scenario].masked())
        for secret in [*SECRETS.values(), "fixture-client-secret", "Zml4dHVyZTpzZWNyZXQ="]:
            assert secret not in text, f"{scenario}: a secret leaked"
    assert "(sensitive)" in json.dumps(rendered["defaults"].masked())


@pytest.mark.terraform
@pytest.mark.parametrize(
    ("bad", "variable", "words"),
    [
        ({"worker_replicas": -1}, "worker_replicas", "whole number"),
        ({"worker_replicas": "many"}, "worker_replicas", "number is required"),
        ({"singleuser_image_pull_policy": "Sometimes"}, "singleuser_image_pull_policy", "one of"),
        ({"prefect_version_tag": "latest"}, "prefect_version_tag", "latest"),
        ({"oauth_github_enable": True}, "oauth_github_enable", "client_id"),
        ({"worker_replica": 2}, "worker_replica", "did you mean 'worker_replicas'"),
        ({"jhub_proxy_secret_token": "short"}, "jhub_proxy_secret_token", "64 hexadecimal"),
    ],
)
def test_bad_tfvars_are_bad_input(bad: dict[str, Any], variable: str, words: str) -> None:
    with pytest.raises(InvalidTfvarsError) as caught:
        render_scenario(bad, secrets={**SECRETS, **{k: v for k, v in bad.items() if k in SECRETS}})
    assert caught.value.variable == variable
    assert words in str(caught.value)
    assert "'short'" not in str(caught.value)  # a rejected secret is never echoed


@pytest.mark.terraform
def test_a_misspelt_helm_key_fails_the_contract(tmp_path: Path) -> None:
    # A copy of terraform/ whose Seldon values repeat the original project's typo.
    tree = tmp_path / "terraform"
    shutil.copytree(terraform_root(), tree, ignore=shutil.ignore_patterns(".terraform*"))
    main = tree / "modules" / "seldon" / "values" / "main.tf"
    main.write_text(
        main.read_text().replace(
            "    serviceAccount = {", '    serserviceAccountName = "seldon"\n    serviceAccount = {'
        )
    )
    bad = render_scenario({}, secrets=SECRETS, terraform_dir=tree)
    failures = [v for v in check_contracts(bad) if not v.passed]
    assert [(v.module, v.chart, v.chart_version, v.key_path) for v in failures] == [
        ("seldon", "seldon-core-operator", "1.17.1", "serserviceAccountName")
    ]
    with pytest.raises(ContractViolationError, match="serserviceAccountName"):
        assert_contracts(bad)


def _one(chart: str, version: str, values: dict[str, Any]) -> list[str]:
    rendered = Rendered((Release("m", "r", chart, version, "", values),))
    return [f"{v.key_path}: {v.message}" for v in check_contracts(rendered) if not v.passed]


@pytest.mark.parametrize(
    ("chart", "version", "values", "key"),
    [
        ("jupyterhub", "4.4.0", {"singleuser": {"image": {"pulSecrets": []}}}, "pulSecrets"),
        ("mlflow", "1.11.5", {"backendStore": {"postgres": {"hots": "db"}}}, "hots"),
        (
            "prefect-worker",
            "2026.8.18172642",
            {"worker": {"config": {"workQueue": []}}},
            "workQueue",
        ),
        ("prefect-server", "2026.8.18172642", {"postgresq": {"enabled": False}}, "postgresq"),
        ("redis", "23.1.1", {"archtecture": "standalone"}, "archtecture"),
        ("dask", "2024.1.1", {"worker": {"replica": 3}}, "replica"),
        ("feast-feature-server", "0.66.0", {"feast_mod": "online"}, "feast_mod"),
        ("seldon-core-operator", "1.17.1", {"serserviceAccountName": "x"}, "serserviceAccountName"),
    ],
)
def test_contract_names_a_misspelt_key(
    chart: str, version: str, values: dict[str, Any], key: str
) -> None:
    failures = _one(chart, version, values)
    assert len(failures) == 1
    assert failures[0].startswith(key) or f".{key}:" in failures[0], failures


def test_contract_leaves_open_maps_open() -> None:
    values = {
        "worker": {"env": [{"name": "A", "value": "1"}], "resources": {"limits": {"cpu": 1}}},
        "scheduler": {"image": {"pullSecrets": [{"name": "regcred"}]}},
    }
    assert _one("dask", "2024.1.1", values) == []


def test_contract_checks_types_through_the_schema() -> None:
    failures = _one("jupyterhub", "4.4.0", {"singleuser": {"memory": {"guarantee": {"a": 1}}}})
    assert failures
    assert failures[0].startswith("singleuser.memory.guarantee")


def test_unknown_chart_version_is_a_failed_verdict() -> None:
    [failure] = _one("mlflow", "0.0.1", {})
    assert failure.startswith(": no chart data for mlflow 0.0.1 (have: 1.11.5, 1.6.0): ")
    assert "and no offline contract (fix: " in failure


def test_merge_values_behaves_like_helm() -> None:
    assert merge_values({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": 5}, "d": None}) == {
        "a": {"b": 5, "c": 2}
    }


OLDER_CHARTS = {
    "jupyterhub_chart_version": "3.3.8",
    "prefect_chart_version": "2025.8.20161316",
    "prefect_worker_chart_version": "2025.8.20161316",
    "dask_chart_version": "2024.1.0",
    "feast_chart_version": "0.65.0",
    "mlflow_chart_version": "1.6.0",
    "seldon_chart_version": "1.18.2",
}


@pytest.mark.terraform
def test_default_values_fit_the_older_chart_versions_too() -> None:
    # A version set may pin the previous year's charts (upgrade runs start there).
    older = render_scenario(OLDER_CHARTS, secrets=SECRETS)
    failures = [str(v) for v in check_contracts(older) if not v.passed]
    assert not failures, failures
    assert {r.version for r in older.releases} >= set(OLDER_CHARTS.values())
