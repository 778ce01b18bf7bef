"""The `kubernetes` target short of a cluster: its URL, reaching a context, and `prepare`'s
judgement of a cluster (version, storage, permissions) against a stand-in API server.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from harness.errors import BadInputError, ProvisionError
from harness.k8s.connection import connect
from harness.scenario import load_scenario
from harness.secrets import SecretStore
from harness.static.render import Release, Rendered
from harness.targets import get_target, parse_target_url
from harness.targets.k8s import KubernetesTarget, rendered_objects, volume_claims_without_class
from tests.conftest import CLI, REPO
from tests.helpers.kube_standin import ApiServerStandIn, write_kubeconfig

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiServerStandIn]:
    """A stand-in API server as context `standin` of $KUBECONFIG."""
    api = ApiServerStandIn()
    server, url = api.serve()
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig",
                                                          {"standin": url})))
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


def closed_port_kubeconfig(tmp_path: Path, context: str = "minikube") -> Path:
    """A kubeconfig whose only context points where nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return write_kubeconfig(tmp_path / "kubeconfig", {context: f"https://127.0.0.1:{port}"})


def jupyterhub_release(values: dict[str, object] | None = None) -> Release:
    return Release(module="jupyterhub", name="jupyterhub", chart="jupyterhub", version="4.4.0",
                   repository="https://hub.jupyter.org/helm-chart/", values=values or {},
                   namespace="jupyterhub")


def test_url_names_the_context_and_options() -> None:
    assert parse_target_url("k8s://minikube?namespace_prefix=ci&kube_version=1.30") == (
        "k8s", {"namespace_prefix": "ci", "kube_version": "1.30", "context": "minikube"})
    target = get_target("k8s://kind-ci?kube_version=v1.31.4")
    assert isinstance(target, KubernetesTarget)
    assert (target.context, target.prefix, target.kube_version) == ("kind-ci", "mlops", "1.31")
    assert get_target("k8s://").context is None  # type: ignore[attr-defined]
    tuned = get_target("k8s://minikube?ready_timeout_s=600&restart_budget=5")
    assert (tuned.ready_timeout_s, tuned.restart_budget) == (600, 5)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("url", "says"), [
    ("k8s://minikube?namespace=x", "unknown option 'namespace'"),
    ("k8s://minikube?kube_version=latest", "kube_version 'latest'"),
    ("k8s://minikube?namespace_prefix=Bad_Prefix", "namespace_prefix"),
    ("k8s://minikube?ready_timeout_s=soon", "ready_timeout_s 'soon' is not a positive number"),
    ("k8s://minikube?restart_budget=-1", "restart_budget '-1' is not a positive number"),
])
def test_bad_target_options_are_bad_input(url: str, says: str) -> None:
    with pytest.raises(BadInputError, match=says):
        get_target(url)


def test_connect_reads_the_servers_version(standin: ApiServerStandIn) -> None:
    standin.minor = "31+"  # managed clusters add a `+`
    connection = connect("standin")
    assert (connection.context, connection.kube_version) == ("standin", "1.31")
    assert connection.default_storage_class() == "standard"
    assert connection.can("create", "namespaces")


def test_an_unknown_context_lists_those_there_are(standin: ApiServerStandIn) -> None:
    with pytest.raises(ProvisionError, match=r"'minikube' is not in .*kubeconfig.*standin"):
        connect("minikube")


def test_no_kubeconfig_names_the_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(ProvisionError, match=r"cluster context 'minikube': no kubeconfig at"):
        connect("minikube")


def test_an_unreachable_api_server_names_context_and_cause(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(closed_port_kubeconfig(tmp_path)))
    with pytest.raises(ProvisionError) as caught:
        connect("minikube")
    message = str(caught.value)
    assert message.startswith("cluster context 'minikube' (https://127.0.0.1:")
    assert "does not answer" in message
    assert "Connection refused" in message
    assert " object at 0x" not in message and "\n" not in message


def test_the_cluster_must_be_the_version_asked_for(standin: ApiServerStandIn) -> None:
    target = get_target("k8s://standin?kube_version=1.29")
    with pytest.raises(ProvisionError, match=r"runs Kubernetes v1\.30\.2, not 1\.29"):
        target.connect()


def test_prepare_refuses_a_server_older_than_a_charts_kube_version(
        standin: ApiServerStandIn, tmp_path: Path) -> None:
    standin.minor = "27"  # jupyterhub 4.4.0 says >=1.28.0-0
    target = get_target("k8s://standin")
    rendered = Rendered(releases=(jupyterhub_release(),))
    with pytest.raises(ProvisionError, match=r"jupyterhub 4\.4\.0 \(jupyterhub\) requires "
                                             r"kubeVersion '>=1\.28\.0-0', the cluster runs 1\.27"):
        target.prepare(load_scenario("defaults"), tmp_path / "run", SecretStore(),
                       frozenset({"jupyterhub"}), rendered=rendered)


def test_prepare_plans_one_namespace_per_tool_and_creates_nothing(
        standin: ApiServerStandIn, tmp_path: Path) -> None:
    target = get_target("k8s://standin?namespace_prefix=ci")
    assert isinstance(target, KubernetesTarget)
    target.prepare(load_scenario("defaults"), tmp_path / "defaults-20261203-101500-ab12",
                   SecretStore(), frozenset({"mlflow", "dask"}), rendered=Rendered(releases=()))
    assert target.namespaces == {
        tool: target.namespaces[tool] for tool in ("dask", "mlflow")}
    assert all(ns.startswith("ci-") and ns.endswith(f"-{tool}") and len(ns) <= 63
               for tool, ns in target.namespaces.items())
    assert set(target.skipped) == {"jupyterhub", "prefect", "feast", "seldon"}
    # Only reads and reviews: nothing was created.
    assert all(r.startswith(("GET ", "POST /apis/authorization.k8s.io/"))
               for r in standin.requests)
    assert target.down(None) == []  # type: ignore[arg-type]


def write_manifest(run_dir: Path, *objects: dict[str, object]) -> None:
    path = run_dir / "manifests" / "ns" / "release.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(objects), encoding="utf-8")


def test_volumes_without_a_class_need_a_default_storage_class(
        standin: ApiServerStandIn, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_manifest(run_dir, {"kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
                             "spec": {}},
                   {"kind": "PersistentVolumeClaim", "metadata": {"name": "classed"},
                    "spec": {"storageClassName": "fast"}},
                   {"kind": "StatefulSet", "metadata": {"name": "pg"}, "spec": {
                       "volumeClaimTemplates": [{"metadata": {"name": "pgdata"}, "spec": {}}]}})
    hub = jupyterhub_release({"singleuser": {"storage": {"type": "dynamic"}}})
    assert volume_claims_without_class(rendered_objects(run_dir / "manifests"), [hub]) == [
        "PersistentVolumeClaim data", "StatefulSet pg (pgdata)", "JupyterHub's user volumes"]
    none_dynamic = jupyterhub_release({"singleuser": {"storage": {"type": "none"}}})
    assert volume_claims_without_class(rendered_objects(tmp_path / "nothing"), [none_dynamic]) == []

    standin.storage_classes = [("slow", False)]
    target = get_target("k8s://standin")
    with pytest.raises(ProvisionError, match=r"no default StorageClass, but "
                                             r"PersistentVolumeClaim data.*default-storageclass"):
        target.prepare(load_scenario("defaults"), run_dir, SecretStore(), frozenset({"mlflow"}),
                       rendered=Rendered(releases=()))
    standin.storage_classes = [("slow", False), ("standard", True)]
    get_target("k8s://standin").prepare(load_scenario("defaults"), run_dir, SecretStore(),
                                        frozenset({"mlflow"}), rendered=Rendered(releases=()))


def test_charts_with_crds_need_the_permission_to_create_them(
        standin: ApiServerStandIn, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_manifest(run_dir, {"kind": "CustomResourceDefinition",
                             "metadata": {"name": "seldondeployments.machinelearning.seldon.io"}})
    standin.denied = {("create", "customresourcedefinitions"), ("create", "namespaces")}
    with pytest.raises(ProvisionError) as caught:
        get_target("k8s://standin").prepare(load_scenario("defaults"), run_dir, SecretStore(),
                                            frozenset({"seldon"}), rendered=Rendered(releases=()))
    assert "may not create namespaces" in str(caught.value)
    assert "may not create customresourcedefinitions.apiextensions.k8s.io" in str(caught.value)


def test_run_on_an_unreachable_cluster_ends_at_once_with_exit_3(tmp_path: Path) -> None:
    """What `tox -e minikube` does without a cluster: one line naming the context, exit 3,
    before anything is rendered or started.
    """
    env = {"KUBECONFIG": str(closed_port_kubeconfig(tmp_path)), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    done = subprocess.run([*CLI, "run", "--target", "k8s://minikube", "--reports-dir",
                           str(tmp_path / "reports")], capture_output=True, text=True,
                          timeout=120, env=env, cwd=Path(__file__).parents[2], check=False)
    assert done.returncode == 3, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "cluster context 'minikube'" in lines[0] and "does not answer" in lines[0]
    assert not (tmp_path / "reports").exists()


def namespace(name: str, created: str, ours: bool = True) -> dict[str, object]:
    labels = {"app.kubernetes.io/managed-by": "mlops-conformance"} if ours else {}
    return {"metadata": {"name": name, "labels": labels, "creationTimestamp": created},
            "status": {"phase": "Active"}}


def test_sweep_deletes_only_our_old_namespaces(standin: ApiServerStandIn) -> None:
    standin.namespaces = [namespace("mlops-old-mlflow", "2026-01-01T00:00:00Z"),
                          namespace("mlops-new-mlflow", "2099-01-01T00:00:00Z"),
                          namespace("someone-elses", "2026-01-01T00:00:00Z", ours=False)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    dry = subprocess.run([*CLI, "sweep", "--older-than", "6h", "--dry-run"], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert dry.returncode == 0, dry.stderr
    assert "would delete namespace mlops-old-mlflow" in dry.stdout
    assert not any(r.startswith("DELETE") for r in standin.requests)
    done = subprocess.run([*CLI, "sweep", "--context", "standin", "--older-than", "6h"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert [r for r in standin.requests if r.startswith("DELETE")] == [
        "DELETE /api/v1/namespaces/mlops-old-mlflow"]
    assert "deleted 1 namespaces older than 6h on context 'standin'" in done.stdout


def test_sweep_refuses_a_bad_age_before_asking_the_cluster(standin: ApiServerStandIn) -> None:
    done = subprocess.run([*CLI, "sweep", "--older-than", "0h"], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert done.returncode == 2
    assert "--older-than" in done.stderr
    assert standin.requests == []


def test_the_hubs_shared_password_is_the_runs_or_the_scenarios() -> None:
    target = get_target("k8s://minikube")
    assert isinstance(target, KubernetesTarget)
    target.secrets = SecretStore()
    target._keep_dummy_password(load_scenario("defaults"))
    assert target.secrets.get("dummy_password") == load_scenario("defaults").var("dummy_password")
    given = SecretStore()
    given.put("dummy_password", "from-TF_VAR")
    target.secrets = given
    target._keep_dummy_password(load_scenario("defaults"))
    assert given.get("dummy_password") == "from-TF_VAR"
