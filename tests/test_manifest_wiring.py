"""The wiring checks on rendered manifests, each shown to fail on the fault it exists for, with
small synthetic charts rendered by the real helm (no Terraform: the rendered values are given).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.charts.source import chart_source
from harness.manifests import endpoints, images, references, secret_values, unique_objects
from harness.manifests.chart_registries import chart_registries
from harness.manifests.checks import build_context
from harness.manifests.context import ManifestContext
from harness.report.model import CheckResult
from harness.static.registry import DOCKERCONFIG
from harness.static.render import KubeSecret, Release, Rendered, UserProvided
from tests.helpers.charts import make_chart

KUBE = ("1.34",)


def deployment(name: str, *, labels: str = "app: web", spec: str = "",
               image: str = "quay.io/demo/web:1.0", container: str = "") -> str:
    """A Deployment whose pod spec carries `spec` (YAML at 6 spaces) and whose one container
    carries `container` (YAML at 10 spaces).
    """
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  selector:
    matchLabels:
      {labels}
  template:
    metadata:
      labels:
        {labels}
    spec:
{spec}
      containers:
        - name: main
          image: {image}
{container}
"""


def service(name: str, *, port: int = 80, selector: str = "app: web") -> str:
    return f"""apiVersion: v1
kind: Service
metadata:
  name: {name}
spec:
  selector:
    {selector}
  ports:
    - port: {port}
      targetPort: 8080
"""


def simple(kind: str, name: str, body: str = "") -> str:
    return f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n{body}"


@dataclass
class Scene:
    """A scenario made of synthetic charts: one release per chart."""

    directory: Path
    releases: list[Release] = field(default_factory=list)

    def release(self, module: str, name: str, templates: dict[str, str], *,
                values: dict[str, Any] | None = None, defaults: dict[str, Any] | None = None,
                namespace: str = "") -> None:
        make_chart(self.directory, name, "1.0.0", templates=templates, values=defaults)
        self.releases.append(Release(module, name, name, "1.0.0", "", values or {},
                                     namespace or module))

    def context(self, *, tfvars: dict[str, Any] | None = None,
                endpoints: dict[str, dict[str, Any]] | None = None,
                user_provided: tuple[UserProvided, ...] = (),
                secrets: frozenset[str] = frozenset(),
                kube_secrets: tuple[KubeSecret, ...] = ()) -> ManifestContext:
        rendered = Rendered(tuple(self.releases), secrets, kube_secrets, endpoints or {},
                            user_provided)
        return build_context("synthetic", tfvars or {}, rendered,
                             source=chart_source(self.directory), kube_versions=KUBE)


@pytest.fixture
def scene(tmp_path: Path) -> Scene:
    return Scene(tmp_path / "charts")


def only(results: list[CheckResult], ident: str) -> CheckResult:
    found = [r for r in results if r.id == ident]
    assert len(found) == 1, [r.id for r in results]
    return found[0]


# Endpoints -------------------------------------------------------------------------------

ENDPOINT = {"service": "web", "namespace": "mlflow", "port": 80, "secret_names": ["web-db"]}
DB_SECRET = simple("Secret", "web-db", "stringData:\n  password: x\n")


def test_endpoint_passes_when_service_port_pods_and_secrets_exist(scene: Scene) -> None:
    scene.release("mlflow", "web", {"d.yaml": deployment("web"), "s.yaml": service("web"),
                                    "sec.yaml": DB_SECRET})
    result = only(endpoints.checks(scene.context(endpoints={"mlflow": ENDPOINT})),
                  "mlflow.wiring.endpoint")
    assert result.status == "pass", result.message


def test_endpoint_fails_without_the_service(scene: Scene) -> None:
    scene.release("mlflow", "web", {"d.yaml": deployment("web"), "s.yaml": service("other"),
                                    "sec.yaml": DB_SECRET})
    result = only(endpoints.checks(scene.context(endpoints={"mlflow": ENDPOINT})),
                  "mlflow.wiring.endpoint")
    assert result.status == "fail"
    assert "no release renders Service mlflow/web" in result.message
    assert "Services in mlflow: other" in result.message
    assert "`mlflow_namespace`" in result.message


def test_endpoint_fails_on_a_wrong_port(scene: Scene) -> None:
    scene.release("mlflow", "web", {"d.yaml": deployment("web"),
                                    "s.yaml": service("web", port=5000), "sec.yaml": DB_SECRET})
    result = only(endpoints.checks(scene.context(endpoints={"mlflow": ENDPOINT})),
                  "mlflow.wiring.endpoint")
    assert result.status == "fail"
    assert "port 80: Service mlflow/web spec.ports has [5000]" in result.message
    assert "port is fixed in terraform/modules/mlflow/values/outputs.tf" in result.message


def test_endpoint_fails_when_the_selector_matches_no_pod(scene: Scene) -> None:
    scene.release("mlflow", "web", {"d.yaml": deployment("web"),
                                    "s.yaml": service("web", selector="app: nothing"),
                                    "sec.yaml": DB_SECRET})
    result = only(endpoints.checks(scene.context(endpoints={"mlflow": ENDPOINT})),
                  "mlflow.wiring.endpoint")
    assert result.status == "fail"
    assert "spec.selector {'app': 'nothing'} matches the labels of no rendered pod" in result.message


def test_endpoint_fails_on_a_missing_secret_unless_user_provided(scene: Scene) -> None:
    scene.release("mlflow", "web", {"d.yaml": deployment("web"), "s.yaml": service("web")})
    result = only(endpoints.checks(scene.context(endpoints={"mlflow": ENDPOINT})),
                  "mlflow.wiring.endpoint")
    assert result.status == "fail"
    assert "secret_names[0] 'web-db'" in result.message
    assert "`db_host`" in result.message
    provided = (UserProvided("mlflow", "Secret", "web-db", "mlflow", "kubectl create ..."),)
    result = only(endpoints.checks(scene.context(endpoints={"mlflow": ENDPOINT},
                                                 user_provided=provided)),
                  "mlflow.wiring.endpoint")
    assert result.status == "pass", result.message


# References ------------------------------------------------------------------------------

MISSING = {
    "Secret": deployment("web", container="""          env:
            - name: PASSWORD
              valueFrom:
                secretKeyRef: {name: db-credentials, key: password}"""),
    "ConfigMap": deployment("web", spec="""      volumes:
        - name: config
          configMap: {name: web-config}"""),
    "PersistentVolumeClaim": deployment("web", spec="""      volumes:
        - name: data
          persistentVolumeClaim: {claimName: web-data}"""),
}


@pytest.mark.parametrize("kind", sorted(MISSING))
def test_a_reference_to_a_missing_object_fails(scene: Scene, kind: str) -> None:
    scene.release("prefect", "web", {"d.yaml": MISSING[kind]})
    result = only(references.checks(scene.context()), "prefect.wiring.references.web")
    assert result.status == "fail"
    assert "Deployment prefect/web spec.template.spec." in result.message
    assert f"{kind} prefect/" in result.message
    assert "neither rendered nor declared user-provided (named by the chart)" in result.message


def test_a_missing_secret_names_the_variable_that_names_it(scene: Scene) -> None:
    scene.release("prefect", "web", {"d.yaml": MISSING["Secret"]})
    ctx = scene.context(tfvars={"postgresql_existing_secret": "db-credentials"})
    result = only(references.checks(ctx), "prefect.wiring.references.web")
    assert "(named by `postgresql_existing_secret`)" in result.message


def test_a_declared_user_provided_secret_passes(scene: Scene) -> None:
    scene.release("prefect", "web", {"d.yaml": MISSING["Secret"]})
    provided = (UserProvided("prefect", "Secret", "db-credentials", "prefect", "kubectl ..."),)
    result = only(references.checks(scene.context(user_provided=provided)),
                  "prefect.wiring.references.web")
    assert result.status == "pass", result.message


def test_references_resolve_across_releases_claims_and_optional(scene: Scene) -> None:
    statefulset = """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - name: db
          image: quay.io/demo/db:1.0
          envFrom:
            - secretRef: {name: maybe, optional: true}
      volumes:
        - name: shared
          persistentVolumeClaim: {claimName: data-db-1}
        - name: cfg
          projected:
            sources:
              - configMap: {name: settings}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
"""
    scene.release("feast", "db", {"sts.yaml": statefulset})
    scene.release("feast", "config", {"cm.yaml": simple("ConfigMap", "settings")})
    result = only(references.checks(scene.context()), "feast.wiring.references.db")
    assert result.status == "pass", result.message


def test_a_key_the_rendered_secret_lacks_fails(scene: Scene) -> None:
    scene.release("prefect", "web", {
        "d.yaml": MISSING["Secret"],
        "s.yaml": simple("Secret", "db-credentials", "stringData:\n  connection-string: x\n")})
    result = only(references.checks(scene.context()), "prefect.wiring.references.web")
    assert result.status == "fail"
    assert "Secret prefect/db-credentials has no key 'password'" in result.message


# Images ----------------------------------------------------------------------------------

IMAGE_TEMPLATE = {"d.yaml": deployment("web", image="{{ .Values.image }}",
                                       spec="{{- with .Values.pullSecrets }}\n"
                                            "      imagePullSecrets: {{ toJson . }}\n"
                                            "{{- end }}\n"
                                            "      serviceAccountName: web")}
CHART_DEFAULT = {"image": "quay.io/demo/web:1.0"}


@pytest.mark.parametrize(("image", "problem"), [
    ("quay.io/demo/web", "has no tag or digest"),
    ("quay.io/demo/web:latest", "has the tag `latest`"),
])
def test_an_image_without_a_pinned_tag_fails(scene: Scene, image: str, problem: str) -> None:
    scene.release("dask", "web", IMAGE_TEMPLATE, values={"image": image}, defaults=CHART_DEFAULT)
    result = only(images.checks(scene.context()), "dask.wiring.images.web")
    assert result.status == "fail"
    assert f"Deployment dask/web spec.template.spec.containers[0].image: {image!r} {problem}" \
        in result.message


def test_a_tag_or_digest_passes(scene: Scene) -> None:
    scene.release("dask", "web", IMAGE_TEMPLATE,
                  values={"image": "quay.io/demo/web@sha256:" + "0" * 64}, defaults=CHART_DEFAULT)
    scene.release("dask", "api", IMAGE_TEMPLATE, defaults=CHART_DEFAULT)
    results = images.checks(scene.context())
    assert [r.status for r in results] == ["pass", "pass"], results


def test_an_image_from_a_registry_nobody_allowed_fails(scene: Scene) -> None:
    scene.release("dask", "web", IMAGE_TEMPLATE, values={"image": "evil.example.com/web:1.0"},
                  defaults=CHART_DEFAULT)
    ctx = scene.context(tfvars={"worker_image_repository": "evil.example.com/web"})
    result = only(images.checks(ctx), "dask.wiring.images.web")
    assert result.status == "fail"
    assert "comes from evil.example.com, not an allowed registry (quay.io)" in result.message
    assert "(set by `worker_image_repository`)" in result.message


PRIVATE = {"docker_private_repo": True, "docker_registry_server": "registry.example.internal:5000"}
PRIVATE_IMAGE = {"image": "registry.example.internal:5000/mlops/web:1.0"}


def dockerconfig(server: str) -> dict[str, str]:
    return {".dockerconfigjson": json.dumps({"auths": {server: {"auth": "dTpw"}}})}


def test_a_private_registry_pod_without_a_pull_secret_fails(scene: Scene) -> None:
    scene.release("mlflow", "web", IMAGE_TEMPLATE, values=PRIVATE_IMAGE, defaults=CHART_DEFAULT)
    result = only(images.checks(scene.context(tfvars=PRIVATE)), "mlflow.wiring.images.web")
    assert result.status == "fail"
    assert ("Deployment mlflow/web spec.template.spec.imagePullSecrets: none, but "
            "'registry.example.internal:5000/mlops/web:1.0' comes from the private registry"
            in result.message)


def test_a_pull_secret_for_another_registry_fails(scene: Scene) -> None:
    scene.release("mlflow", "web", IMAGE_TEMPLATE, defaults=CHART_DEFAULT,
                  values={**PRIVATE_IMAGE, "pullSecrets": [{"name": "mlflow-registry"}]})
    secret = KubeSecret("mlflow", "mlflow-registry", DOCKERCONFIG,
                        dockerconfig("other.example.com"))
    result = only(images.checks(scene.context(tfvars=PRIVATE, kube_secrets=(secret,))),
                  "mlflow.wiring.images.web")
    assert result.status == "fail"
    assert "none of ['mlflow-registry'] is a rendered" in result.message


def test_the_modules_pull_secret_for_the_registry_passes(scene: Scene) -> None:
    scene.release("mlflow", "web", IMAGE_TEMPLATE, defaults=CHART_DEFAULT,
                  values={**PRIVATE_IMAGE, "pullSecrets": [{"name": "mlflow-registry"}]})
    secret = KubeSecret("mlflow", "mlflow-registry", DOCKERCONFIG,
                        dockerconfig("https://registry.example.internal:5000/"))
    result = only(images.checks(scene.context(tfvars=PRIVATE, kube_secrets=(secret,))),
                  "mlflow.wiring.images.web")
    assert result.status == "pass", result.message


def test_a_user_provided_or_service_account_pull_secret_passes(scene: Scene) -> None:
    account = simple("ServiceAccount", "web", "imagePullSecrets:\n  - name: regcred\n")
    scene.release("dask", "web", {**IMAGE_TEMPLATE, "sa.yaml": account}, values=PRIVATE_IMAGE,
                  defaults=CHART_DEFAULT)
    provided = (UserProvided("dask", "Secret", "regcred", "dask", "kubectl ..."),)
    ctx = scene.context(tfvars=PRIVATE, user_provided=provided)
    result = only(images.checks(ctx), "dask.wiring.images.web")
    assert result.status == "pass", result.message


# Secret values ---------------------------------------------------------------------------

SECRET = "s3cret-Passw0rd"


@pytest.mark.parametrize(("template", "path"), [
    (simple("ConfigMap", "settings", "data:\n  url: 'postgresql://u:{{ .Values.pw }}@db'\n"),
     "ConfigMap secret-values/settings data.url: holds a secret value (plain)"),
    (deployment("web", container="          env:\n"
                                  "            - {name: PASSWORD, value: '{{ .Values.pw }}'}"),
     "Deployment secret-values/web spec.template.spec.containers[0].env[0].value: holds a "
     "secret value (plain)"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  annotations:\n"
     "    token: '{{ .Values.pw | b64enc }}'\n",
     "ConfigMap secret-values/settings metadata.annotations.token: holds a secret value "
     "(base64)"),
    (simple("ConfigMap", "settings", "binaryData:\n"
                                     "  blob: '{{ printf \"a:%s@db\" .Values.pw | b64enc }}'\n"),
     "ConfigMap secret-values/settings binaryData.blob: holds a secret value (inside a base64 "
     "value)"),
])
def test_a_secret_value_outside_a_secret_fails(scene: Scene, template: str, path: str) -> None:
    scene.release("mlflow", "leaky", {"t.yaml": template}, values={"pw": SECRET},
                  namespace="secret-values")
    result = only(secret_values.checks(scene.context(secrets=frozenset({SECRET}))),
                  "mlflow.wiring.secret-values.leaky")
    assert result.status == "fail"
    assert path in result.message
    assert SECRET not in result.message
    assert base64.b64encode(SECRET.encode()).decode() not in result.message


def test_a_secret_value_in_a_secret_passes(scene: Scene) -> None:
    template = simple("Secret", "db", "data:\n  password: '{{ .Values.pw | b64enc }}'\n"
                                      "stringData:\n  url: 'x:{{ .Values.pw }}'\n")
    scene.release("mlflow", "tidy", {"t.yaml": template}, values={"pw": SECRET})
    result = only(secret_values.checks(scene.context(secrets=frozenset({SECRET}))),
                  "mlflow.wiring.secret-values.tidy")
    assert result.status == "pass", result.message


# Unique objects --------------------------------------------------------------------------

CLUSTER_ROLE = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: shared-role
rules: []
"""


def test_two_releases_rendering_the_same_object_fail(scene: Scene) -> None:
    scene.release("feast", "one", {"cm.yaml": simple("ConfigMap", "settings"),
                                   "cr.yaml": CLUSTER_ROLE})
    scene.release("feast", "two", {"cm.yaml": simple("ConfigMap", "settings")})
    scene.release("mlflow", "three", {"cr.yaml": CLUSTER_ROLE})
    [result] = unique_objects.checks(scene.context())
    assert (result.id, result.status) == ("static.wiring.unique-objects", "fail")
    assert "ClusterRole shared-role is rendered by feast/one, mlflow/three" in result.message
    assert "ConfigMap feast/settings is rendered by feast/one, feast/two" in result.message


def test_same_names_in_different_namespaces_pass(scene: Scene) -> None:
    scene.release("feast", "one", {"cm.yaml": simple("ConfigMap", "settings")})
    scene.release("mlflow", "two", {"cm.yaml": simple("ConfigMap", "settings")})
    [result] = unique_objects.checks(scene.context())
    assert result.status == "pass", result.message


def test_a_rendered_object_the_module_declares_user_provided_fails(scene: Scene) -> None:
    scene.release("prefect", "server", {"s.yaml": simple("Secret", "prefect-db")})
    provided = (UserProvided("prefect", "Secret", "prefect-db", "prefect", "kubectl ..."),)
    [result] = unique_objects.checks(scene.context(user_provided=provided))
    assert result.status == "fail"
    assert ("Secret prefect/prefect-db, which the prefect module declares user-provided, is "
            "also rendered by prefect/server") in result.message


def test_registries_a_chart_names_include_literal_template_images(scene: Scene) -> None:
    scene.release("seldon", "web", {"d.yaml": deployment("web", image="gcr.io/demo/web:1.0")},
                  defaults={"sidecar": {"image": {"registry": "docker.io", "repository": "a/b"}}})
    assert chart_registries(scene.directory / "web-1.0.0.tgz") == {"gcr.io", "docker.io"}
    result = only(images.checks(scene.context()), "seldon.wiring.images.web")
    assert result.status == "pass", result.message


def test_a_release_not_rendered_is_not_judged(scene: Scene) -> None:
    scene.releases.append(Release("mlflow", "gone", "gone", "9.9.9", "", {}, "mlflow"))
    ctx = scene.context(endpoints={"mlflow": ENDPOINT})
    results = [*endpoints.checks(ctx), *references.checks(ctx), *images.checks(ctx),
               *secret_values.checks(ctx)]
    assert {r.status for r in results} == {"skip"}
    assert all("not rendered" in r.message for r in results)
    [unique] = unique_objects.checks(ctx)
    assert "not judged: mlflow/gone (gone 9.9.9) not rendered" in unique.message
