"""Findings from the manifests (listed, not failed): each class shown on a small synthetic chart,
then listed for today's modules on the real charts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from harness.charts.source import ChartSource
from harness.manifests import findings as family
from harness.manifests.checks import build_context
from harness.static.render import Release, Rendered

if TYPE_CHECKING:
    from pathlib import Path

from tests.helpers.charts import make_chart

RISKY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: risky
spec:
  selector: {matchLabels: {app: risky}}
  template:
    metadata: {labels: {app: risky}}
    spec:
      hostNetwork: true
      hostPID: true
      volumes:
        - name: docker
          hostPath: {path: /var/run/docker.sock}
      initContainers:
        - name: setup
          image: k8s.gcr.io/pause:3.9
          resources: {requests: {cpu: 10m}}
          securityContext: {runAsUser: 0}
      containers:
        - name: app
          image: bitnami/redis:7.2
          securityContext: {privileged: true, allowPrivilegeEscalation: true}
"""

TIDY = """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: tidy
spec:
  serviceName: tidy
  selector: {matchLabels: {app: tidy}}
  template:
    metadata: {labels: {app: tidy}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: app
          image: registry.k8s.io/pause:3.9
          resources: {requests: {cpu: 10m, memory: 8Mi}}
"""

SERVICES = """apiVersion: v1
kind: Service
metadata:
  name: {{ .Values.name }}
spec:
  type: {{ .Values.type }}
  ports: [{port: 80}]
"""


def context(tmp_path: Path, module: str, templates: dict[str, str],
            values: dict[str, Any] | None = None) -> Any:
    make_chart(tmp_path / "charts", "demo", "1.0.0", templates=templates)
    release = Release(module, "demo", "demo", "1.0.0", "", values or {}, namespace="ns")
    return build_context("test", {}, Rendered((release,)),
                         source=ChartSource(tmp_path / "charts"), kube_versions=("1.34",))


def test_each_class_of_finding(tmp_path: Path) -> None:
    found = family.findings(context(tmp_path, "dask", {"risky.yaml": RISKY, "tidy.yaml": TIDY}))
    pod = "dask/demo: Deployment risky"
    spec = "spec.template.spec"
    assert found == [
        f"{pod}: shares the node's network namespace ({spec}.hostNetwork)",
        f"{pod}: shares the node's pid namespace ({spec}.hostPID)",
        f"{pod}: mounts host path /var/run/docker.sock as volume docker "
        f"({spec}.volumes[0].hostPath)",
        f"{pod} container setup: runs as root ({spec}.initContainers[0].securityContext"
        ".runAsUser 0)",
        f"{pod} container setup: image k8s.gcr.io/pause:3.9 from a retired registry: "
        f"k8s.gcr.io is frozen since 2023-04-03; use registry.k8s.io "
        f"({spec}.initContainers[0].image)",
        f"{pod} container app: no resource requests ({spec}.containers[0].resources.requests)",
        f"{pod} container app: may run as root: neither runAsNonRoot nor runAsUser, in the "
        f"pod or the container ({spec}.containers[0].securityContext)",
        f"{pod} container app: privileged ({spec}.containers[0].securityContext.privileged)",
        f"{pod} container app: allows privilege escalation "
        f"({spec}.containers[0].securityContext.allowPrivilegeEscalation)",
        f"{pod} container app: image bitnami/redis:7.2 from a retired registry: "
        "docker.io/bitnami no longer serves versioned images since 2025-08-28 (moved to "
        f"docker.io/bitnamilegacy) ({spec}.containers[0].image)",
    ]


@pytest.mark.parametrize(("module", "name", "kind", "expected"), [
    ("mlflow", "mlflow", "NodePort", "mlflow/demo: Service mlflow: type NodePort with no "
     "authentication in front: the MLflow tracking server's UI and API accept anyone "
     "(no auth app configured) (spec.type)"),
    ("prefect", "prefect-server", "LoadBalancer", "prefect/demo: Service prefect-server: type "
     "LoadBalancer with no authentication in front: the Prefect server's UI and API accept "
     "anyone (no basic-auth string set) (spec.type)"),
    ("jupyterhub", "proxy-public", "LoadBalancer", None),  # the hub's login is in front
    ("dask", "dask-scheduler", "ClusterIP", None),
])
def test_exposed_services(tmp_path: Path, module: str, name: str, kind: str,
                          expected: str | None) -> None:
    ctx = context(tmp_path, module, {"svc.yaml": SERVICES}, {"name": name, "type": kind})
    assert family.findings(ctx) == ([expected] if expected else [])


def test_findings_are_a_passing_summary(tmp_path: Path) -> None:
    results = family.checks(context(tmp_path, "seldon", {"tidy.yaml": TIDY}))
    assert [(r.id, r.status, r.message) for r in results] == [
        ("seldon.manifests.findings", "pass", "no findings in the rendered manifests")]


@pytest.mark.charts
def test_real_charts_defaults(charts_repo: Path) -> None:
    from harness.scenario import load_scenario
    from harness.secrets import run_secrets
    from harness.static.render import render_scenario

    scenario = load_scenario("defaults")
    rendered = render_scenario(dict(scenario.tfvars), secrets=run_secrets(scenario))
    ctx = build_context("defaults", dict(scenario.tfvars), rendered,
                        source=ChartSource(charts_repo), kube_versions=("1.34",))
    found = family.findings(ctx)
    # MLflow's tracking server is published on a node port with nothing in front (the seed's
    # default `service_type = NodePort`); Feast's stores run Bitnami's frozen legacy images.
    assert any(line.startswith("mlflow/mlflow: Service mlflow/mlflow: type NodePort")
               or line.startswith("mlflow/mlflow: Service mlflow: type NodePort")
               for line in found), found
    assert any("docker.io/bitnamilegacy is frozen" in line for line in found), found
    assert not any("proxy-public" in line for line in found)
    assert {r.status for r in family.checks(ctx)} == {"pass"}
