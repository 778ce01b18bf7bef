"""The offline test provider: real schemas reject bad arguments; apply and destroy are recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import TerraformRun

EXAMPLES = Path(__file__).parent / "provider" / "examples"
SCHEMAS = Path(__file__).parent / "provider" / "schemas"

pytestmark = pytest.mark.terraform

Factory = Callable[..., TerraformRun]


@pytest.fixture
def valid(terraform: Factory) -> TerraformRun:
    tf = terraform(EXAMPLES / "valid")
    tf.init()
    return tf


def test_schemas_have_the_real_shapes() -> None:
    helm = json.loads((SCHEMAS / "helm.json").read_text())["provider_schemas"]
    helm = helm["registry.terraform.io/hashicorp/helm"]
    release = helm["resource_schemas"]["helm_release"]["block"]
    assert release["attributes"]["set"]["nested_type"]["nesting_mode"] == "list"
    assert release["attributes"]["metadata"]["computed"] is True
    assert "block_types" not in release  # helm 3.x has nested attributes, not blocks
    kubernetes_attr = helm["provider"]["block"]["attributes"]["kubernetes"]
    assert kubernetes_attr["nested_type"]["nesting_mode"] == "single"

    k8s = json.loads((SCHEMAS / "kubernetes.json").read_text())["provider_schemas"]
    k8s = k8s["registry.terraform.io/hashicorp/kubernetes"]
    for name in ("kubernetes_namespace", "kubernetes_secret_v1", "kubernetes_config_map"):
        metadata = k8s["resource_schemas"][name]["block"]["block_types"]["metadata"]
        assert (metadata["nesting_mode"], metadata["min_items"], metadata["max_items"]) == (
            "list",
            1,
            1,
        )
    for name in ("kubernetes_service_account_v1", "kubernetes_manifest", "kubernetes_labels"):
        assert name in k8s["resource_schemas"]
    assert "kubernetes_secret" in k8s["data_source_schemas"]


def test_valid_config_validates_and_plans(valid: TerraformRun) -> None:
    valid.validate()
    proc = valid.run("plan", "-no-color", "-detailed-exitcode")
    assert proc.returncode == 2, proc.stderr  # 2 = changes to make
    assert "3 to add" in proc.stdout
    assert valid.records() == []  # planning sends nothing


def test_apply_and_destroy_record_what_they_would_send(valid: TerraformRun) -> None:
    valid.apply()
    (release,) = valid.records("helm_release", "create")
    values = release["values"]
    assert (values["chart"], values["version"], values["namespace"]) == ("mlflow", "1.8.1", "mlops")
    assert values["repository"] == "https://community-charts.github.io/helm-charts"
    assert yaml.safe_load(values["values"][0])["replicaCount"] == 1
    assert values["set"] == [{"name": "service.port", "value": "5000", "type": ""}]
    assert values["metadata"]["revision"] == 1
    assert (
        json.loads(values["metadata"]["values"])["backendStore"]["existingSecret"]
        == "db-credentials"
    )
    (secret,) = valid.records("kubernetes_secret")
    assert secret["values"]["data"] == {"password": "s3cret"}
    assert secret["values"]["id"] == "mlops/db-credentials"
    outputs = valid.tf.output_json()
    assert outputs["mlflow_namespace"] == "mlops"
    assert len(outputs["namespace_uid"]) == 36  # a uid was filled in
    # A second plan sees no drift: the state read back is what was applied.
    assert valid.run("plan", "-no-color", "-detailed-exitcode").returncode == 0

    valid.destroy()
    deleted = {r["type"] for r in valid.records(action="delete")}
    assert deleted == {"helm_release", "kubernetes_namespace", "kubernetes_secret"}


@pytest.mark.parametrize(
    ("example", "message", "named"),
    [
        ("misspelt", "Unsupported argument", ["chart_verison"]),
        ("mistyped", "Incorrect attribute value type", ["atomic"]),
        ("set_block", "Unsupported block type", ["set"]),
        ("provider_block", "Unsupported block type", ["kubernetes"]),
    ],
)
def test_schema_rejects(terraform: Factory, example: str, message: str, named: list[str]) -> None:
    tf = terraform(EXAMPLES / example)
    tf.init()
    proc = tf.run("validate", "-no-color")
    assert proc.returncode == 1
    assert f"Error: {message}" in proc.stderr
    for name in named:  # terraform names each offending argument or block
        assert f'"{name}"' in proc.stderr, proc.stderr


def test_provider_validators_reject_bad_values(terraform: Factory) -> None:
    tf = terraform(EXAMPLES / "invalid_values")
    tf.init()
    proc = tf.run("validate", "-no-color")
    assert proc.returncode == 1
    assert "type 'number' must be one of" in proc.stderr  # helm_release set[0].type
    assert "'MLOps_Tools': a lowercase RFC 1123 subdomain" in proc.stderr
