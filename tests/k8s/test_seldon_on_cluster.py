"""Seldon's checks on a cluster: their client is the API server, served on loopback by the real
`kubectl proxy` (from the pinned wheel), and what a SeldonDeployment creates is read through
the API server's proxies and objects (`harness.seldon_access.KubeApiAccess`).

No cluster runs here: the API server stand-in (`tests/helpers/kube_standin.py`) answers the
paths the checks read with objects built with the `kubernetes` client's own models, shaped as
seldon-core-operator 1.17.1 makes them (its pods' `seldon-deployment-id` label, the storage
initializer `GRAPH-model-initializer` with `[modelUri, /mnt/models]` as arguments, the model
server's `metrics` port and MLSERVER_METRICS_ENDPOINT).
"""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING, Any

import psutil
import pytest
import requests
from kubernetes import client as k

from harness.k8s.forwards import PortForwards, api_proxy, kubectl_argv
from harness.k8s.kubectl import kubectl_binary
from harness.seldon_access import KubeApiAccess, SeldonAccess, access_of, service_proxy_url
from harness.stack import HostAccess, Stack, ToolEntry
from tests.helpers.kube_standin import ApiServerStandIn, write_kubeconfig

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

NS = "ci-run1-seldon"
NAME = "missing-1a2b3c4d"
URI = "gs://conformance-no-such-bucket/conformance-missing-1a2b3c4d"
SERVED = "conformance-5e6f7a8b"
ADDRESS = f"http://{SERVED}-default.{NS}.svc.cluster.local:8000/v2/models/classifier/infer"
LOG = "2026/12/05 03:00:01 ERROR : : error reading source root directory: directory not found"


def as_json(model: Any) -> Any:
    """The object as the API server sends it (camelCase, no nulls)."""
    return k.ApiClient().sanitize_for_serialization(model)


def seldon_pod(name: str, deployment: str, status: k.V1PodStatus, *, args: list[str],
               ) -> dict[str, Any]:
    """A pod as the operator creates it for `deployment`: initializer, then model server."""
    return as_json(k.V1Pod(
        metadata=k.V1ObjectMeta(name=name, namespace=NS,
                                labels={"seldon-deployment-id": deployment, "app": "x"}),
        spec=k.V1PodSpec(
            init_containers=[k.V1Container(name="classifier-model-initializer", args=args,
                                           image="seldonio/rclone-storage-initializer:1.17.1")],
            containers=[
                k.V1Container(name="classifier", image="seldonio/mlserver:1.3.5-mlflow",
                              ports=[k.V1ContainerPort(name="grpc", container_port=9500),
                                     k.V1ContainerPort(name="http", container_port=9000),
                                     k.V1ContainerPort(name="metrics", container_port=6000)],
                              env=[k.V1EnvVar(name="MLSERVER_METRICS_PORT", value="6000"),
                                   k.V1EnvVar(name="MLSERVER_METRICS_ENDPOINT",
                                              value="/prometheus")]),
                k.V1Container(name="seldon-container-engine", image="seldonio/seldon-core-executor",
                              ports=[k.V1ContainerPort(name="metrics", container_port=8000)])]),
        status=status))


def crash_looping() -> k.V1PodStatus:
    """The initializer has failed twice and waits to run again."""
    return k.V1PodStatus(phase="Pending", init_container_statuses=[k.V1ContainerStatus(
        name="classifier-model-initializer", image="i", image_id="", ready=False,
        restart_count=2,
        state=k.V1ContainerState(waiting=k.V1ContainerStateWaiting(reason="CrashLoopBackOff")),
        last_state=k.V1ContainerState(terminated=k.V1ContainerStateTerminated(exit_code=1)))])


@pytest.fixture
def standin() -> ApiServerStandIn:
    """The API server with one failing deployment's pod and one serving deployment's pod."""
    found = ApiServerStandIn()
    failing = seldon_pod(f"{NAME}-default-0-classifier-7d9f-x1", NAME, crash_looping(),
                         args=[URI, "/mnt/models"])
    serving = seldon_pod(f"{SERVED}-default-0-classifier-5c4b-y2", SERVED,
                         k.V1PodStatus(phase="Running"), args=["s3://models/m", "/mnt/models"])
    pods = f"/api/v1/namespaces/{NS}/pods"
    found.objects.update({
        pods: {"kind": "PodList", "apiVersion": "v1", "metadata": {},
               "items": [failing, serving]},
        f"{pods}/{failing['metadata']['name']}/log": LOG + "\n",
        f"/api/v1/namespaces/{NS}/endpoints/{SERVED}-default": as_json(k.V1Endpoints(
            metadata=k.V1ObjectMeta(name=f"{SERVED}-default"), subsets=[k.V1EndpointSubset(
                addresses=[k.V1EndpointAddress(ip="10.0.0.7")])])),
        f"/api/v1/namespaces/{NS}/endpoints/{NAME}-default": as_json(k.V1Endpoints(
            metadata=k.V1ObjectMeta(name=f"{NAME}-default"), subsets=[k.V1EndpointSubset(
                not_ready_addresses=[k.V1EndpointAddress(ip="10.0.0.8")])])),
        f"/api/v1/namespaces/{NS}/services/http:{SERVED}-default:8000/proxy/v2/models/"
        "classifier": {"name": "classifier", "platform": "", "inputs": []},
        f"{pods}/{serving['metadata']['name']}:9000/proxy/v2":
            {"name": "mlserver", "version": "1.3.5", "extensions": []},
        f"{pods}/{serving['metadata']['name']}:6000/proxy/prometheus":
            'model_infer_request_success_total{model="classifier",version="v1"} 3.0\n',
    })
    return found


@pytest.fixture
def proxied(standin: ApiServerStandIn, tmp_path: Path,
            ) -> Iterator[tuple[KubeApiAccess, PortForwards, list[str]]]:
    """The real `kubectl proxy` in front of the stand-in, as the target starts it for Seldon."""
    server, url = standin.serve()
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", {"minikube": url})
    failures: list[str] = []
    manager = PortForwards(tmp_path / "logs", kubectl_argv(str(kubectl_binary()), "minikube",
                                                           str(kubeconfig)),
                           failures.append, ready_timeout_s=20, watch_s=0.2)
    try:
        port = manager.start(api_proxy("seldon", NS))
        yield KubeApiAccess(f"http://127.0.0.1:{port}", NS), manager, failures
    finally:
        manager.stop_all()
        server.shutdown()


def deployment(name: str, address: str = "") -> dict[str, Any]:
    """A SeldonDeployment as the API answers it (the parts the access reads)."""
    return {"metadata": {"name": name, "namespace": NS},
            "spec": {"predictors": [{"name": "default", "graph": {"name": "classifier"}}]},
            "status": {"state": "Failed" if not address else "Available",
                       "description": "Deployment is no longer progressing and not available."
                       if not address else "", "address": {"url": address}}}


def test_a_cluster_address_is_reached_through_the_service_proxy() -> None:
    assert service_proxy_url("http://127.0.0.1:8001/", ADDRESS) == (
        f"http://127.0.0.1:8001/api/v1/namespaces/{NS}/services/http:{SERVED}-default:8000"
        "/proxy/v2/models/classifier/infer")
    with pytest.raises(AssertionError, match="not a Service address inside the cluster"):
        service_proxy_url("http://127.0.0.1:8001", "http://127.0.0.1:9000/v2")


def test_the_target_decides_the_access() -> None:
    entry = ToolEntry(endpoints={"api": "http://127.0.0.1:8001"}, expect={"namespace": NS})
    local = Stack(target="local://", scenario="defaults", run_id="r", tools={"seldon": entry})
    assert type(access_of(local)) is SeldonAccess
    cluster = local.model_copy(update={"hosts": HostAccess(backend="kubectl")})
    found = access_of(cluster)
    assert isinstance(found, KubeApiAccess)
    assert found.collection == ("http://127.0.0.1:8001/apis/machinelearning.seldon.io/v1/"
                                f"namespaces/{NS}/seldondeployments")


def test_kubectl_proxy_serves_the_api_server_on_loopback(
        proxied: tuple[KubeApiAccess, PortForwards, list[str]],
        standin: ApiServerStandIn) -> None:
    access, manager, _ = proxied
    assert requests.get(f"{access.api}/version", timeout=10).json()["minor"] == standin.minor
    pid = manager.pid("seldon")
    assert pid is not None
    cmdline = psutil.Process(pid).cmdline()
    assert cmdline[cmdline.index("proxy"):] == [
        "proxy", "--port", access.api.rsplit(":", 1)[1], "--address", "127.0.0.1"]


def test_a_killed_proxy_comes_back_on_the_same_port(
        proxied: tuple[KubeApiAccess, PortForwards, list[str]]) -> None:
    access, manager, failures = proxied
    manager.watch()
    before = manager.pid("seldon")
    assert before is not None
    os.kill(before, signal.SIGKILL)
    wait_for(lambda: manager.pid("seldon") not in (None, before))
    wait_for(lambda: requests.get(f"{access.api}/version", timeout=5).ok)
    assert manager.restarts["seldon"] == 1
    assert failures == []


def test_a_failed_deployment_says_why_in_its_initializers_words(
        proxied: tuple[KubeApiAccess, PortForwards, list[str]],
        standin: ApiServerStandIn) -> None:
    access, _, _ = proxied
    cause = access.failure(deployment(NAME))
    # The operator's own words say only that it stopped; the initializer says why.
    assert cause.startswith("Deployment is no longer progressing and not available.")
    assert f"classifier-model-initializer {URI} /mnt/models exited 1 (CrashLoopBackOff)" in cause
    assert "directory not found" in cause
    assert SERVED not in cause  # another deployment's pod is not read
    # Its last run's log: the container waits to run again, so the current one has none.
    [log] = [r for r in standin.requests if "/log" in r]
    assert "previous=true" in log and "container=classifier-model-initializer" in log


def test_a_service_serves_while_its_endpoints_list_a_ready_pod(
        proxied: tuple[KubeApiAccess, PortForwards, list[str]]) -> None:
    access, _, _ = proxied
    assert access.serving(ADDRESS)
    assert not access.serving(ADDRESS.replace(SERVED, NAME))  # only a not-ready address
    assert not access.serving(ADDRESS.replace(SERVED, "deleted-0a0b0c0d"))  # no Service
    assert access.listeners(deployment(SERVED, ADDRESS)) == [ADDRESS]
    # A deployment that never became ready may have no address in its status yet: the
    # Service the operator would make for its predictor is judged instead.
    assert access.address(deployment(NAME)) == ADDRESS.replace(SERVED, NAME)
    assert not access.serving(access.address(deployment(NAME)))
    model = requests.get(access.url(ADDRESS.removesuffix("/infer")), timeout=10)
    assert model.json()["name"] == "classifier"


def test_metrics_are_the_model_servers_metrics_port_through_the_pod_proxy(
        proxied: tuple[KubeApiAccess, PortForwards, list[str]]) -> None:
    access, _, _ = proxied
    found = access.metrics_url(deployment(SERVED, ADDRESS))
    assert found == (f"{access.api}/api/v1/namespaces/{NS}/pods/"
                     f"{SERVED}-default-0-classifier-5c4b-y2:6000/proxy/prometheus")
    assert "model_infer_request_success_total" in requests.get(found, timeout=10).text
    # A deployment whose pods do not run has no metrics to read.
    assert access.metrics_url(deployment(NAME)) is None


def test_the_model_servers_version_is_read_from_its_own_port(
        proxied: tuple[KubeApiAccess, PortForwards, list[str]]) -> None:
    # The executor at the address routes only the models' paths: `/v2` is the model
    # server's, on its container's `http` port.
    access, _, _ = proxied
    found = access.server_url(deployment(SERVED, ADDRESS))
    assert found is not None
    assert found.endswith(f"/pods/{SERVED}-default-0-classifier-5c4b-y2:9000/proxy/v2")
    assert requests.get(found, timeout=10).json()["version"] == "1.3.5"
    assert access.server_url(deployment(NAME)) is None


def wait_for(condition: Callable[[], object], timeout_s: float = 30.0) -> None:
    """Wait until `condition()` is true, tolerating refused connections meanwhile."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"not true within {timeout_s}s")
