"""`<module>.manifests.custom-resources.*`: custom resources, rendered by charts or created by
the harness, against the CustomResourceDefinition a release installs; on synthetic charts, one
per failure class, and the harness's SeldonDeployment against the real Seldon chart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.charts.source import ChartSource
from harness.manifests import crds
from harness.manifests.crd_schema import crd_validator
from harness.manifests.kube_schema import field_problems
from harness.manifests.model import Manifests
from harness.manifests.render import render_manifests
from harness.manifests.seldon_deployment import harness_deployment, seldon_deployment
from harness.static.render import Release, Rendered
from tests.helpers.release_context import ChartRelease, by_id, chart_context

if TYPE_CHECKING:
    from pathlib import Path

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  names: {kind: Gadget, listKind: GadgetList, plural: gadgets, singular: gadget}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: {type: integer}
                port: {x-kubernetes-int-or-string: true}
                note: {type: string, nullable: true}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
    - name: v1beta1
      served: false
      storage: false
      schema:
        openAPIV3Schema: {type: object}
"""


def gadget(spec: str, api_version: str = "example.com/v1") -> str:
    return f"apiVersion: {api_version}\nkind: Gadget\nmetadata:\n  name: g\nspec:\n{spec}"


def crd_result(tmp_path: Path, cr: str, *, with_crd: bool = True) -> tuple[str, str]:
    chart = ChartRelease("gadgets", {"g.yaml": cr}, crds={"gadget.yaml": CRD} if with_crd else None)
    results = by_id(crds.checks(chart_context(tmp_path, [chart])))
    result = results["demo.manifests.custom-resources.gadgets"]
    return result.status, result.message


def test_a_valid_custom_resource_passes(tmp_path: Path) -> None:
    spec = "  size: 3\n  port: http\n  note: null\n  extra: {free: [1, 2]}\n"
    status, message = crd_result(tmp_path, gadget(spec))
    assert status == "pass", message
    assert "1 custom resources valid" in message


def test_a_missing_required_field_fails(tmp_path: Path) -> None:
    status, message = crd_result(tmp_path, gadget("  port: 80\n"))
    assert status == "fail"
    assert ("Gadget g: spec: 'size' is a required property (CustomResourceDefinition "
            "gadgets.example.com) (Kubernetes 1.28, 1.34)") in message


def test_an_unknown_field_fails_naming_it(tmp_path: Path) -> None:
    status, message = crd_result(tmp_path, gadget("  size: 1\n  colour: red\n"))
    assert status == "fail"
    assert "Gadget g: spec.colour: unknown field" in message


def test_a_wrong_type_fails(tmp_path: Path) -> None:
    status, message = crd_result(tmp_path, gadget("  size: three\n"))
    assert status == "fail"
    assert "Gadget g: spec.size: 'three' is not of type 'integer'" in message


def test_a_custom_resource_without_its_crd_fails(tmp_path: Path) -> None:
    status, message = crd_result(tmp_path, gadget("  size: 1\n"), with_crd=False)
    assert status == "fail"
    assert ("Gadget g: no CustomResourceDefinition for Gadget in example.com is installed by "
            "any release of the scenario") in message


def test_a_version_the_crd_does_not_serve_fails(tmp_path: Path) -> None:
    status, message = crd_result(tmp_path, gadget("  size: 1\n", "example.com/v1beta1"))
    assert status == "fail"
    assert "CustomResourceDefinition gadgets.example.com does not serve v1beta1 (it serves v1)" \
        in message


def test_the_crd_may_come_from_another_release(tmp_path: Path) -> None:
    ctx = chart_context(tmp_path, [
        ChartRelease("operator", crds={"gadget.yaml": CRD}, module="ops"),
        ChartRelease("app", {"g.yaml": gadget("  size: 1\n")})])
    results = by_id(crds.checks(ctx))
    assert results["demo.manifests.custom-resources.app"].status == "pass"
    # A release that renders no custom resource has no such check.
    assert "ops.manifests.custom-resources.operator" not in results


def test_the_harness_seldondeployment_needs_the_seldon_crd(tmp_path: Path) -> None:
    # A `seldon` module whose chart installs no CRD: the harness's deployment has nowhere to go.
    ctx = chart_context(tmp_path, [ChartRelease("not-seldon", {"g.yaml": ""}, module="seldon")])
    result = by_id(crds.checks(ctx))["seldon.manifests.custom-resources.harness"]
    assert result.status == "fail"
    assert ("SeldonDeployment seldon/conformance-seldon: no CustomResourceDefinition for "
            "SeldonDeployment in machinelearning.seldon.io") in result.message


def test_no_harness_resources_without_the_module(tmp_path: Path) -> None:
    ctx = chart_context(tmp_path, [ChartRelease("app", {"g.yaml": ""})])
    assert crds.harness_resources(ctx) == {}


def test_crd_schema_spells_out_kubernetes_extensions() -> None:
    validator = crd_validator({"type": "object", "properties": {
        "n": {"type": "string", "nullable": True},
        "p": {"x-kubernetes-int-or-string": True},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                 "properties": {"known": {"type": "string"}}}}})
    ok = {"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "a"}, "n": None, "p": 8080,
          "free": {"known": "k", "other": 1}}
    assert field_problems(validator, ok) == []
    assert field_problems(validator, {**ok, "p": 1.5}) != []
    assert field_problems(validator, {**ok, "stray": 1}) == [("stray", "unknown field")]


def test_the_builder_makes_what_the_checks_deploy() -> None:
    body = seldon_deployment("m", "s3://bucket/m")
    assert body["spec"]["protocol"] == "v2"
    graph = body["spec"]["predictors"][0]["graph"]
    assert graph == {"name": "classifier", "implementation": "MLFLOW_SERVER",
                     "modelUri": "s3://bucket/m"}
    assert "namespace" not in body["metadata"]


@pytest.fixture(scope="module")
def seldon_manifests(charts_repo: Path) -> Manifests:
    """The pinned seldon-core-operator chart with the module's default values, for 1.34."""
    release = Release("seldon", "seldon-core-operator", "seldon-core-operator", "1.17.1",
                      "https://storage.googleapis.com/seldon-charts",
                      {"serviceAccount": {"create": True, "name": "seldon-manager"}},
                      "seldon-system")
    return render_manifests(Rendered((release,)), source=ChartSource(charts_repo),
                            kube_version="1.34.0")


@pytest.mark.charts
def test_the_harness_seldondeployment_fits_the_real_crd(seldon_manifests: Manifests) -> None:
    assert crds.problems_of([harness_deployment("s3://mlflow/artifacts")], seldon_manifests) == []
    # The missing-model check's: its pods may fail to start for a minute, then it is Failed.
    failing = seldon_deployment("missing", "gs://nowhere/m", namespace="seldon",
                                progress_deadline_s=60)
    assert failing["spec"]["predictors"][0]["progressDeadlineSeconds"] == 60
    assert crds.problems_of([failing], seldon_manifests) == []
    wrong = seldon_deployment("missing", "gs://nowhere/m", namespace="seldon")
    wrong["spec"]["predictors"][0]["progressDeadline"] = 60
    assert crds.problems_of([wrong], seldon_manifests) != []


@pytest.mark.charts
def test_a_broken_seldondeployment_fails_against_the_real_crd(
        seldon_manifests: Manifests) -> None:
    body = harness_deployment("pvc://mlflow-artifacts")
    predictor = body["spec"]["predictors"][0]
    predictor["replicas"] = "one"
    predictor["graph"]["implementaton"] = "MLFLOW_SERVER"
    del predictor["graph"]["name"]
    problems = crds.problems_of([body], seldon_manifests)
    text = "; ".join(problems)
    assert "SeldonDeployment seldon/conformance-seldon: spec.predictors[0].replicas: 'one' is " \
           "not of type 'integer'" in text
    assert "spec.predictors[0].graph.implementaton: unknown field" in text
    assert "spec.predictors[0].graph: 'name' is a required property" in text
    assert all("(CustomResourceDefinition seldondeployments.machinelearning.seldon.io)" in p
               for p in problems)

