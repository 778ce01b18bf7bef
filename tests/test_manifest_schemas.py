"""`<module>.manifests.schema.<release>`: each object against the Kubernetes schema of each
version under test, strictly; removed APIs fail naming the release that removed them,
deprecated ones pass with a note; on synthetic charts, one per failure class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.manifests import schemas
from harness.manifests.kube_api import api_versions, served_kinds
from harness.static.render import KubeSecret
from tests.helpers.release_context import ChartRelease, by_id, chart_context

if TYPE_CHECKING:
    from pathlib import Path

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          %s
"""
PDB_V1BETA1 = """\
apiVersion: policy/v1beta1
kind: PodDisruptionBudget
metadata:
  name: web
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
"""
ENDPOINTS = """\
apiVersion: v1
kind: Endpoints
metadata:
  name: external-db
subsets:
  - addresses: [{ip: 10.0.0.5}]
    ports: [{port: 5432}]
"""
HPA_V2BETA2 = """\
apiVersion: autoscaling/v2beta2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 1
  maxReplicas: 3
"""
CUSTOM = """\
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec:
  anything: goes
"""


def schema_result(tmp_path: Path, templates: dict[str, str],
                  kube_versions: tuple[str, ...] = ("1.28", "1.34")) -> tuple[str, str]:
    ctx = chart_context(tmp_path, [ChartRelease("demo", templates)], kube_versions=kube_versions)
    result = by_id(schemas.checks(ctx))["demo.manifests.schema.demo"]
    return result.status, result.message


def test_valid_objects_pass(tmp_path: Path) -> None:
    status, message = schema_result(tmp_path, {"d.yaml": DEPLOYMENT % "ports: [{containerPort: 80}]"})
    assert status == "pass", message
    assert "1 objects valid against the Kubernetes 1.28, 1.34 schemas (strict)" in message


def test_an_unknown_field_fails_naming_it(tmp_path: Path) -> None:
    status, message = schema_result(tmp_path, {"d.yaml": DEPLOYMENT % "imagePullPolicyy: Always"})
    assert status == "fail"
    assert ("Deployment web: spec.template.spec.containers[0].imagePullPolicyy: unknown field "
            "(Kubernetes 1.28, 1.34)") in message


def test_a_wrong_type_fails_naming_the_field(tmp_path: Path) -> None:
    status, message = schema_result(tmp_path,
                                    {"d.yaml": DEPLOYMENT % "ports: [{containerPort: http}]"})
    assert status == "fail"
    assert "Deployment web: spec.template.spec.containers[0].ports[0].containerPort: " in message
    assert "'http' is not of type 'integer'" in message


def test_a_removed_api_fails_naming_the_release_that_removed_it(tmp_path: Path) -> None:
    status, message = schema_result(tmp_path, {"pdb.yaml": PDB_V1BETA1}, ("1.25", "1.34"))
    assert status == "fail"
    assert ("PodDisruptionBudget web: policy/v1beta1 PodDisruptionBudget was removed in "
            "Kubernetes 1.25; use policy/v1 (Kubernetes 1.25, 1.34)") in message


def test_a_deprecated_api_still_served_passes_with_a_note_and_a_finding(tmp_path: Path) -> None:
    ctx = chart_context(tmp_path, [ChartRelease("demo", {"ep.yaml": ENDPOINTS})])
    result = by_id(schemas.checks(ctx))["demo.manifests.schema.demo"]
    assert result.status == "pass", result.message
    note = ("Endpoints external-db: v1 Endpoints is deprecated since Kubernetes 1.33; use "
            "discovery.k8s.io/v1 EndpointSlice (Kubernetes 1.34)")
    assert note in result.message
    assert schemas.findings(ctx) == [f"demo/demo (demo 1.0.0): {note}"]


def test_an_api_deprecated_then_removed_inside_the_range(tmp_path: Path) -> None:
    status, message = schema_result(tmp_path, {"hpa.yaml": HPA_V2BETA2}, ("1.25", "1.26"))
    assert status == "fail"
    assert ("was removed in Kubernetes 1.26; use autoscaling/v2 (Kubernetes 1.26)") in message
    assert ("is deprecated since Kubernetes 1.23, removed in 1.26; use autoscaling/v2 "
            "(Kubernetes 1.25)") in message


def test_a_kind_the_group_does_not_serve_fails(tmp_path: Path) -> None:
    template = "apiVersion: apps/v1\nkind: CronJob\nmetadata: {name: nightly}\n"
    status, message = schema_result(tmp_path, {"cj.yaml": template})
    assert status == "fail"
    assert ("CronJob nightly: Kubernetes 1.28 serves no CronJob in apps/v1; it serves CronJob as "
            "batch/v1") in message


def test_an_alpha_api_fails_as_not_served_by_default(tmp_path: Path) -> None:
    template = ("apiVersion: storagemigration.k8s.io/v1alpha1\nkind: StorageVersionMigration\n"
                "metadata: {name: m}\nspec: {resource: {group: apps, resource: deployments}}\n")
    status, message = schema_result(tmp_path, {"m.yaml": template}, ("1.34",))
    assert status == "fail"
    assert "storagemigration.k8s.io/v1alpha1 is an alpha API" in message


def test_alpha_group_versions_are_not_offered_to_helm() -> None:
    assert not [gv for gv, _ in served_kinds("1.34") if "alpha" in gv]
    assert "apps/v1/Deployment" in api_versions("1.34")
    assert not [api for api in api_versions("1.34") if "alpha" in api]


def test_custom_resources_are_left_to_the_crd_check(tmp_path: Path) -> None:
    status, message = schema_result(tmp_path, {"w.yaml": CUSTOM})
    assert status == "pass", message


def test_a_chart_not_at_hand_is_skipped_with_the_fix(tmp_path: Path) -> None:
    ctx = chart_context(tmp_path, [ChartRelease("absent", packaged=False)])
    result = by_id(schemas.checks(ctx))["demo.manifests.schema.absent"]
    assert result.status == "skip"
    assert "absent-1.0.0.tgz" in result.message


def test_the_modules_own_objects_are_judged_too(tmp_path: Path) -> None:
    secret = KubeSecret("demo", "demo-credentials", "Opaque", {"password": "s3cret"})
    ctx = chart_context(tmp_path, [ChartRelease("demo", {"ep.yaml": ENDPOINTS})],
                        secrets=(secret,))
    result = by_id(schemas.checks(ctx))[schemas.MODULE_OBJECTS_ID]
    assert (result.status, result.tool) == ("pass", "scenario"), result.message
    assert "2 objects valid" in result.message  # the Namespace and the Secret
    assert "s3cret" not in result.message


def test_judge_object_names_object_field_and_version() -> None:
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "api", "namespace": "prod"},
               "spec": {"ports": [{"port": "eighty"}]}}
    problems, note = schemas.judge_object(service, "1.30")
    assert problems == ["Service prod/api: spec.ports[0].port: 'eighty' is not of type 'integer'"]
    assert note == ""


def test_a_secret_quoted_by_a_schema_error_is_masked(tmp_path: Path) -> None:
    template = DEPLOYMENT.replace("spec:\n  selector", "spec:\n  replicas: hunter2-pw\n  selector")
    ctx = chart_context(tmp_path, [ChartRelease("demo", {"d.yaml": template % ""})],
                        secret_strings=frozenset({"hunter2-pw"}))
    result = by_id(schemas.checks(ctx))["demo.manifests.schema.demo"]
    assert result.status == "fail"
    assert "spec.replicas: '(sensitive)' is not of type 'integer'" in result.message
    assert "hunter2" not in result.message
