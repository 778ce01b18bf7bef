"""The kubernetes target's `up` and `down`, end to end short of a cluster.

Everything real except what needs a cluster: the static stage renders the real charts;
Terraform applies and destroys the root module with the offline test provider (real provider
schemas, every object recorded); the readiness gate reads objects built with the `kubernetes`
client's models; `kubectl port-forward` is the stand-in of tests/helpers (same arguments and
output), forwarding to a real Dask scheduler standing in for the scheduler's pod; the API
server stand-in answers the context's connection and the namespace clean-up.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kubernetes.client as k
import psutil
import pytest
import requests

from harness.errors import ProvisionError
from harness.k8s.cluster import RecordedCluster
from harness.k8s.forwards import Forward, kubectl_argv
from harness.k8s.namespaces import RUN_ID_LABEL, run_labels, run_namespace
from harness.k8s.readiness import Workload
from harness.k8s.run_workloads import run_workloads
from harness.launchers.base import free_port
from harness.scenario import load_scenario
from harness.stack import Stack
from harness.targets.k8s import KubernetesTarget
from tests.conftest import CLI
from tests.helpers.kube_standin import ApiServerStandIn, write_kubeconfig
from tests.helpers.kubectl_standin import install
from tests.k8s.conftest import prepared

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

STANDIN = str(Path(__file__).parents[1] / "helpers" / "kubectl_standin.py")
CHARTS = os.environ.get("HARNESS_CHARTS", "")
RUN_ID = "20261203-130000-defaults-up1"


@dataclass
class Progress:
    seen: list[tuple[str, str, str]] = field(default_factory=list)

    def component(self, name: str, status: str, detail: str = "") -> None:
        self.seen.append((name, status, detail))


def _standin_argv(forward: Forward, local_port: int) -> list[str]:
    argv = kubectl_argv("kubectl", "standin", None)(forward, local_port)
    return [sys.executable, STANDIN, *argv[1:]]


def _ready(workload: Workload) -> Any:
    meta = k.V1ObjectMeta(name=workload.name, namespace=workload.namespace, generation=1)
    if workload.kind == "Deployment":
        return k.V1Deployment(
            metadata=meta, spec=k.V1DeploymentSpec(
                replicas=1, selector=k.V1LabelSelector(match_labels=workload.selector),
                template=k.V1PodTemplateSpec()),
            status=k.V1DeploymentStatus(observed_generation=1, replicas=1, updated_replicas=1,
                                        ready_replicas=1, available_replicas=1))
    if workload.kind == "Job":
        return k.V1Job(metadata=meta, spec=k.V1JobSpec(template=k.V1PodTemplateSpec()),
                       status=k.V1JobStatus(succeeded=1))
    raise AssertionError(f"no ready object for {workload.kind} in this test")


def _pulling(workload: Workload) -> tuple[k.V1Pod, k.CoreV1Event]:
    """A pod of `workload` whose image cannot be pulled, and the kubelet's event about it."""
    name = f"{workload.name}-7c9d-abcde"
    image = "ghcr.io/dask/dask:2024.1.0"
    status = k.V1ContainerStatus(
        name="dask", image=image, image_id="", ready=False, restart_count=0,
        state=k.V1ContainerState(waiting=k.V1ContainerStateWaiting(
            reason="ImagePullBackOff", message=f'Back-off pulling image "{image}"')))
    pod = k.V1Pod(
        metadata=k.V1ObjectMeta(name=name, namespace=workload.namespace, uid="uid-1",
                                labels=dict(workload.selector),
                                owner_references=[k.V1OwnerReference(
                                    api_version="apps/v1", kind="ReplicaSet",
                                    name=f"{workload.name}-7c9d", uid="rs")]),
        spec=k.V1PodSpec(containers=[k.V1Container(name="dask", image=image)]),
        status=k.V1PodStatus(phase="Pending", container_statuses=[status]))
    event = k.CoreV1Event(
        metadata=k.V1ObjectMeta(name=f"{name}.pull", namespace=workload.namespace),
        involved_object=k.V1ObjectReference(kind="Pod", name=name,
                                            namespace=workload.namespace,
                                            field_path="spec.containers{dask}"),
        reason="Failed", message=f'Failed to pull image "{image}": 403 Forbidden')
    return pod, event


@dataclass
class Deployed:
    target: KubernetesTarget
    run_dir: Path
    records: Path
    api: ApiServerStandIn
    scheduler: str
    progress: Progress = field(default_factory=Progress)

    def recorded(self, type_name: str, action: str) -> list[dict[str, Any]]:
        lines = self.records.read_text(encoding="utf-8").splitlines()
        return [r["values"] for r in map(json.loads, filter(None, lines))
                if r["type"] == type_name and r["action"] == action]


def _deploy(base: Path, patch: pytest.MonkeyPatch, reader_for: Any,
            backend_port: int, scenario_name: str = "defaults") -> Deployed:
    """prepare (then the caller's up), for a scenario's Dask only."""
    if not CHARTS:
        pytest.skip("HARNESS_CHARTS is not set: the readiness gate needs rendered manifests")
    patch.setenv("HARNESS_CHARTS", CHARTS)
    api = ApiServerStandIn()
    server, url = api.serve()
    patch.setenv("KUBECONFIG", str(write_kubeconfig(base / "kubeconfig", {"standin": url})))
    records = base / "records.jsonl"
    patch.setenv("TFPROVIDER_RECORD", str(records))
    run_dir = base / RUN_ID
    target = prepared("k8s://standin?namespace_prefix=ci&ready_timeout_s=30", run_dir,
                      scenario_name, "dask")
    namespace = target.namespaces["dask"]
    # What the destroy would leave behind after a failed apply: a namespace with the run's
    # label, and another run's, which must stay.
    api.namespaces += [
        {"metadata": {"name": namespace, "labels": run_labels(run_dir.name)}},
        {"metadata": {"name": "ci-other-dask", "labels": run_labels("other")}}]
    target.reader = reader_for(run_workloads(run_dir / "manifests", target.releases,
                                             target.namespaces))
    target.forward_argv = _standin_argv
    patch.setenv("KUBECTL_STANDIN_SERVICES",
                 json.dumps({f"{namespace}/dask-scheduler": backend_port}))
    deployed = Deployed(target, run_dir, records, api, "")
    deployed.server = server  # type: ignore[attr-defined]
    return deployed


def _all_ready(found: list[Workload]) -> RecordedCluster:
    assert found, "the rendered Dask chart creates workloads"
    return RecordedCluster(workloads={(w.kind, w.namespace, w.name): _ready(w) for w in found})


def _restart_dask(found: Deployed) -> list[requests.Response]:
    """Ask the control endpoint to restart Dask: once without the token, once with it, on a
    cluster whose Deployments have one pod each, replaced as a ReplicaSet does when deleted.
    """
    cluster = found.target.reader
    assert isinstance(cluster, RecordedCluster)
    deployments = [w for w in found.target.workloads if w.kind == "Deployment"]
    assert deployments, "the Dask chart renders Deployments"

    def pod(workload: Workload, name: str) -> k.V1Pod:
        running = k.V1ContainerStatus(name="dask", image="i:1", image_id="", ready=True,
                                      restart_count=0)
        return k.V1Pod(metadata=k.V1ObjectMeta(name=name, namespace=workload.namespace,
                                               uid=name, labels=dict(workload.selector)),
                       status=k.V1PodStatus(phase="Running", container_statuses=[running]))

    for workload in deployments:
        cluster.pod_list.setdefault(workload.namespace, []).append(
            pod(workload, f"{workload.name}-1"))

    def delete(namespace: str, name: str) -> None:
        pods = cluster.pod_list[namespace]
        (old,) = [p for p in pods if p.metadata.name == name]
        workload = next(w for w in deployments if w.selector == old.metadata.labels)
        pods[:] = [*(p for p in pods if p is not old), pod(workload, f"{workload.name}-2")]

    found.target.pod_deleter = delete
    stack: Stack = found.stack  # type: ignore[attr-defined]
    url = stack.tools["dask"].endpoints["restart"]
    token = (found.run_dir / "secrets" / "k8s_control_token").read_text().strip()
    return [requests.post(url, timeout=120),
            requests.post(url, headers={"Authorization": f"Bearer {token}"}, timeout=120)]


@pytest.fixture(scope="module")
def deployed(offline_terraform: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
             scheduler: tuple[str, int]) -> Iterator[Deployed]:
    with pytest.MonkeyPatch.context() as patch:
        found = _deploy(tmp_path_factory.mktemp("up"), patch, _all_ready, scheduler[1])
        found.scheduler = scheduler[0]
        found.stack = found.target.up(load_scenario("defaults"), found.run_dir,  # type: ignore[attr-defined]
                                      found.progress)
        found.forward_pid = found.target.forwards.pid("dask")  # type: ignore[attr-defined, union-attr]
        found.restarts = _restart_dask(found)  # type: ignore[attr-defined]
        target, run_dir = found.target, found.run_dir
        found.quiet = target.diagnostics_of(run_dir, frozenset(), False)  # type: ignore[attr-defined]
        found.links = target.diagnostics_of(run_dir, frozenset({"dask"}), False)  # type: ignore[attr-defined]
        found.problems = found.target.down(found.progress)  # type: ignore[attr-defined]
        yield found
        found.server.shutdown()  # type: ignore[attr-defined]


def test_up_installs_into_the_run_namespace_with_the_secrets_by_environment(
        deployed: Deployed) -> None:
    namespace = deployed.target.namespaces["dask"]
    assert namespace == run_namespace("ci", RUN_ID, "dask")
    releases = deployed.recorded("helm_release", "create")
    assert [r["namespace"] for r in releases] == [namespace]
    created = deployed.recorded("kubernetes_namespace_v1", "create")
    assert created[0]["metadata"][0]["labels"][RUN_ID_LABEL] == \
        run_labels(RUN_ID)[RUN_ID_LABEL]


def test_up_gives_the_checks_the_scheduler_through_its_forward(deployed: Deployed) -> None:
    stack = deployed.stack  # type: ignore[attr-defined]
    assert sorted(stack.tools) == ["dask"]
    address = stack.tools["dask"].endpoints["scheduler"]
    assert address.startswith("tcp://127.0.0.1:")
    assert address != deployed.scheduler  # the forward's port, not the "pod's"
    assert stack.tools["dask"].expect == {  # the defaults scenario's
        "workers": 3, "worker_environment": {"PLATFORM_TEAM": "mlops-conformance",
                                             "OMP_NUM_THREADS": "1"}}
    assert "dask" not in stack.skip  # Dask's checks run on a cluster
    assert stack.skip["mlflow"] == "mlflow not selected"
    scheduler = f"service {deployed.target.namespaces['dask']}/dask-scheduler port 8786"
    assert ("dask", "ready", scheduler) in deployed.progress.seen
    assert set(deployed.target.ready_times_s()) == {"dask"}


def test_the_dask_checks_pass_through_the_forward(
        offline_terraform: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
        scheduler: tuple[str, int]) -> None:
    """The stack `up` writes is one the same checks run on: the Dask checks, through the
    forward, against a real scheduler with the scenario's three workers and environment (the
    pods the chart would run), pass, with the workers' environment and installed packages
    read inside their "pods" through `kubectl exec`; and the scheduler's identity read
    through the forward is the one read directly.
    """
    from distributed import Client

    base = tmp_path_factory.mktemp("checks")
    workers: list[subprocess.Popen[bytes]] = []
    with pytest.MonkeyPatch.context() as patch:
        found = _deploy(base, patch, _all_ready, scheduler[1])
        try:
            stack = found.target.up(load_scenario("defaults"), found.run_dir, found.progress)
            stack.save(found.run_dir / "stack.json")
            # The worker "pods" are this machine: `kubectl exec` into them (testinfra's
            # backend, through the stand-in) reads what the workers' processes started with.
            namespace = found.target.namespaces["dask"]
            assert stack.hosts.backend == "kubectl"
            assert stack.hosts.namespaces == {"dask": namespace}
            patch.setenv("HARNESS_KUBECTL", str(install(base / "bin")))
            patch.setenv("KUBECTL_STANDIN_PODS", json.dumps([f"{namespace}/{socket.gethostname()}"]))
            environment = {**os.environ, **stack.tools["dask"].expect["worker_environment"]}
            workers = [subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", scheduler[0], "--name",
                 f"worker-{index}", "--nthreads", "1", "--host", "127.0.0.1",
                 "--dashboard-address", f"127.0.0.1:{free_port()}"],
                env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for index in range(3)]
            with Client(stack.tools["dask"].endpoints["scheduler"], timeout=30) as through, \
                    Client(scheduler[0], timeout=30) as direct:
                assert through.scheduler_info()["id"] == direct.scheduler_info()["id"]
                through.wait_for_workers(3, timeout=120)
            checked = subprocess.run(
                [*CLI, "check", "--stack", str(found.run_dir / "stack.json"), "--reports-dir",
                 str(base / "reports"), "-m", "dask"], capture_output=True, text=True,
                timeout=600, check=False)
        finally:
            for worker in workers:
                worker.kill()
                worker.wait()
            assert found.target.down(found.progress) == []
            found.server.shutdown()  # type: ignore[attr-defined]
    assert checked.returncode == 0, (checked.stdout + checked.stderr)[-3000:]
    (report,) = (base / "reports").glob("*/report.json")
    checks = {c["id"]: c["status"] for c in json.loads(report.read_text())["runs"][0]["checks"]
              if c["id"].startswith("dask.")}
    assert checks == dict.fromkeys(
        ["dask.connect", "dask.worker-count", "dask.worker-environment", "dask.array",
         "dask.dataframe", "dask.versions", "dask.workers-kept"], "pass"), checks


def test_a_failed_check_links_the_clusters_diagnostics(deployed: Deployed) -> None:
    assert deployed.quiet == {}  # type: ignore[attr-defined]  # nothing failed: nothing read
    namespace = deployed.target.namespaces["dask"]
    link = deployed.links["dask"]  # type: ignore[attr-defined]
    assert link.endswith(f"files in diagnostics/{namespace}/ (see diagnostics/index.md)")
    assert (deployed.run_dir / "diagnostics" / "index.md").is_file()
    assert (deployed.run_dir / "diagnostics" / namespace).is_dir()


def test_down_stops_the_forward_destroys_and_deletes_only_the_runs_namespaces(
        deployed: Deployed) -> None:
    assert deployed.problems == []  # type: ignore[attr-defined]
    pid = deployed.forward_pid  # type: ignore[attr-defined]
    assert pid is not None
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert [r["namespace"] for r in deployed.recorded("helm_release", "delete")] == \
        [deployed.target.namespaces["dask"]]
    phases = {ns["metadata"]["name"]: ns.get("status", {}).get("phase")
              for ns in deployed.api.namespaces}
    assert phases == {deployed.target.namespaces["dask"]: "Terminating", "ci-other-dask": None}


def test_a_workload_that_cannot_pull_its_image_stops_up_with_diagnostics(
        offline_terraform: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
        scheduler: tuple[str, int]) -> None:
    def failing(found: list[Workload]) -> RecordedCluster:
        cluster = _all_ready(found)
        broken = next(w for w in found if w.kind == "Deployment")
        cluster.workloads[(broken.kind, broken.namespace, broken.name)] = k.V1Deployment(
            metadata=k.V1ObjectMeta(name=broken.name, namespace=broken.namespace,
                                    generation=1),
            spec=k.V1DeploymentSpec(replicas=1, selector=k.V1LabelSelector(
                match_labels=broken.selector), template=k.V1PodTemplateSpec()),
            status=k.V1DeploymentStatus(observed_generation=1, replicas=1,
                                        updated_replicas=1, ready_replicas=0))
        pod, event = _pulling(broken)
        cluster.pod_list[broken.namespace] = [pod]
        cluster.event_list[broken.namespace] = [event]
        return cluster

    with pytest.MonkeyPatch.context() as patch:
        found = _deploy(tmp_path_factory.mktemp("pull"), patch, failing, scheduler[1])
        try:
            with pytest.raises(ProvisionError) as raised:
                found.target.up(load_scenario("defaults"), found.run_dir, found.progress)
        finally:
            problems = found.target.down(found.progress)
            found.server.shutdown()  # type: ignore[attr-defined]
    message = str(raised.value)
    assert "ImagePullBackOff" in message and "ghcr.io/dask/dask:2024.1.0" in message
    index = found.run_dir / "diagnostics" / "index.md"
    assert f"diagnostics in {index}" in message
    assert index.is_file()
    assert any((found.run_dir / "diagnostics").rglob("pods.yaml"))
    assert problems == []
    assert found.target.forwards is None  # nothing was forwarded: up stopped at the gate
    assert [r["namespace"] for r in found.recorded("helm_release", "delete")] == \
        [found.target.namespaces["dask"]]


def test_a_check_restarts_a_tool_by_replacing_its_pods(deployed: Deployed) -> None:
    """The control endpoint `up` offers: refused without the run's token; with it, every pod
    of the tool's Deployments is deleted and replaced, and the answer names both.
    """
    refused, restarted = deployed.restarts  # type: ignore[attr-defined]
    assert refused.status_code == 401
    assert restarted.status_code == 200, restarted.text
    components = restarted.json()["components"]
    assert components and all(
        [b.split(" (uid ")[0] for b in c["before"]] == [f"{name}-1"]
        and [a.split(" (uid ")[0] for a in c["after"]] == [f"{name}-2"]
        for name, c in components.items()), components
    assert deployed.target.control is None  # down stopped it


def test_the_pull_secret_the_user_would_provide_is_created_between_namespace_and_release(
        offline_terraform: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
        scheduler: tuple[str, int]) -> None:
    """private-registry: Dask's `regcred`, which the module says the user creates beforehand
    in a namespace that exists only for this run, is created by the target after Terraform
    made the namespace and before it installs the release, with the run's registry login.
    """
    base = tmp_path_factory.mktemp("pull-secret")
    created: list[tuple[str, dict[str, Any], list[str]]] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TF_VAR_docker_auth_key", "dXNlcjpwYXNz")  # user:pass
        found = _deploy(base, patch, _all_ready, scheduler[1], "private-registry")

        def create(namespace: str, body: dict[str, Any]) -> None:
            types = [r["type"] for r in map(json.loads, filter(None, found.records.read_text(
                encoding="utf-8").splitlines())) if r["action"] == "create"]
            created.append((namespace, body, types))

        found.target.object_creator = create
        try:
            found.target.up(load_scenario("private-registry"), found.run_dir, found.progress)
        finally:
            assert found.target.down(found.progress) == []
            found.server.shutdown()  # type: ignore[attr-defined]
    namespace = found.target.namespaces["dask"]
    ((where, body, before),) = created
    assert where == namespace
    assert "kubernetes_namespace_v1" in before and "helm_release" not in before
    assert body["type"] == "kubernetes.io/dockerconfigjson"
    assert body["metadata"]["name"] == "regcred"
    assert body["metadata"]["labels"][RUN_ID_LABEL] == found.run_dir.name
    config = json.loads(base64.b64decode(body["data"][".dockerconfigjson"]))
    assert config == {"auths": {"registry.example.internal:5000": {"auth": "dXNlcjpwYXNz"}}}
    assert found.recorded("helm_release", "create"), "the full apply followed"
    assert ("dask", "created", f"Secret {namespace}/regcred (user-provided)") in \
        found.progress.seen
