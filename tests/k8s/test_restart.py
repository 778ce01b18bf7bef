"""A tool's restart on a cluster (`harness.k8s.restart`): its pods deleted and replaced, on a
recorded cluster whose "controller" (a thread of the test) replaces deleted pods as a
ReplicaSet does, or does not.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import kubernetes.client as k
import pytest

from harness.errors import ProvisionError
from harness.k8s.cluster import RecordedCluster
from harness.k8s.readiness import ReadinessGate, Workload
from harness.k8s.restart import restart_pods

NAMESPACE = "ci-run1-mlflow"
SERVER = Workload("Deployment", NAMESPACE, "mlflow", "mlflow", {"app": "mlflow"})
DATABASE = Workload("StatefulSet", NAMESPACE, "mlflow-postgresql", "mlflow", {"app": "pg"})
MIGRATE = Workload("Job", NAMESPACE, "mlflow-migrate", "mlflow", {"job-name": "mlflow-migrate"})


def _pod(workload: Workload, name: str, *, ready: bool = True, uid: str = "") -> Any:
    status = k.V1ContainerStatus(name="main", image="i:1", image_id="", ready=ready,
                                 restart_count=0, state=k.V1ContainerState(
                                     running=k.V1ContainerStateRunning()))
    return k.V1Pod(metadata=k.V1ObjectMeta(name=name, namespace=NAMESPACE,
                                           uid=uid or uuid.uuid4().hex,
                                           labels=dict(workload.selector)),
                   status=k.V1PodStatus(phase="Running", container_statuses=[status]))


def _ready_deployment(workload: Workload) -> Any:
    return k.V1Deployment(
        metadata=k.V1ObjectMeta(name=workload.name, namespace=NAMESPACE, generation=1),
        spec=k.V1DeploymentSpec(replicas=1, selector=k.V1LabelSelector(
            match_labels=workload.selector), template=k.V1PodTemplateSpec()),
        status=k.V1DeploymentStatus(observed_generation=1, replicas=1, updated_replicas=1,
                                    ready_replicas=1, available_replicas=1))


def _ready_statefulset(workload: Workload) -> Any:
    return k.V1StatefulSet(
        metadata=k.V1ObjectMeta(name=workload.name, namespace=NAMESPACE, generation=1),
        spec=k.V1StatefulSetSpec(replicas=1, service_name=workload.name,
                                 selector=k.V1LabelSelector(match_labels=workload.selector),
                                 template=k.V1PodTemplateSpec()),
        status=k.V1StatefulSetStatus(observed_generation=1, replicas=1, ready_replicas=1,
                                     updated_replicas=1, current_replicas=1,
                                     available_replicas=1))


class Controller:
    """Deletes pods as the API does and, unless told not to, replaces each after a moment."""

    def __init__(self, cluster: RecordedCluster, *, replaces: bool = True) -> None:
        self.cluster = cluster
        self.replaces = replaces
        self.deleted: list[str] = []

    def delete(self, namespace: str, name: str) -> None:
        pods = self.cluster.pod_list[namespace]
        (pod,) = [p for p in pods if p.metadata.name == name]
        self.deleted.append(name)

        def later() -> None:
            time.sleep(0.5)  # the old pod terminates, then the controller creates a new one
            pods.remove(pod)
            if self.replaces:  # a StatefulSet's pod comes back under its name
                workload = next(w for w in (SERVER, DATABASE)
                                if w.selector == pod.metadata.labels)
                again = name if workload is DATABASE else f"{name}-new"
                pods.append(_pod(workload, again, uid=f"2222{name}"))

        threading.Thread(target=later, daemon=True).start()


@pytest.fixture
def cluster() -> RecordedCluster:
    return RecordedCluster(
        workloads={("Deployment", NAMESPACE, "mlflow"): _ready_deployment(SERVER),
                   ("StatefulSet", NAMESPACE, "mlflow-postgresql"): _ready_statefulset(DATABASE)},
        pod_list={NAMESPACE: [_pod(SERVER, "mlflow-7c9d-abcde", uid="1111-server"),
                              _pod(DATABASE, "mlflow-postgresql-0", uid="1111-db")]})


def _gate(cluster: RecordedCluster) -> Any:
    return lambda chosen: ReadinessGate(cluster, chosen, 10, 3, poll_s=0.2).wait()


def test_every_pod_of_the_tool_is_replaced(cluster: RecordedCluster) -> None:
    controller = Controller(cluster)
    replaced = restart_pods(cluster, controller.delete, [SERVER, DATABASE, MIGRATE],
                            _gate(cluster), timeout_s=20)
    assert sorted(controller.deleted) == ["mlflow-7c9d-abcde", "mlflow-postgresql-0"]
    assert replaced == {  # the Job's pods are done: not restarted
        "mlflow": {"before": ["mlflow-7c9d-abcde (uid 1111-ser)"],
                   "after": ["mlflow-7c9d-abcde-new (uid 2222mlfl)"]},
        # Same name, another pod: told apart by its uid, so a check sees the change.
        "mlflow-postgresql": {"before": ["mlflow-postgresql-0 (uid 1111-db)"],
                              "after": ["mlflow-postgresql-0 (uid 2222mlfl)"]}}


def test_pods_that_do_not_come_back_fail_the_restart_naming_the_workload(
        cluster: RecordedCluster) -> None:
    controller = Controller(cluster, replaces=False)
    with pytest.raises(ProvisionError, match=r"restart: .*1 new ready pod\(s\) of Deployment "
                       rf"{NAMESPACE}/mlflow"):
        restart_pods(cluster, controller.delete, [SERVER], _gate(cluster), timeout_s=3)


def test_a_new_pod_that_never_gets_ready_is_not_a_restart(cluster: RecordedCluster) -> None:
    def delete(namespace: str, name: str) -> None:
        pods = cluster.pod_list[namespace]
        pods[:] = [p for p in pods if p.metadata.name != name]
        pods.append(_pod(SERVER, f"{name}-new", ready=False))

    with pytest.raises(ProvisionError, match="new ready pod"):
        restart_pods(cluster, delete, [SERVER], _gate(cluster), timeout_s=3)


def test_a_workload_without_pods_cannot_be_restarted(cluster: RecordedCluster) -> None:
    cluster.pod_list[NAMESPACE] = []
    with pytest.raises(ProvisionError, match=rf"Deployment {NAMESPACE}/mlflow.*no pod to "
                       "restart"):
        restart_pods(cluster, Controller(cluster).delete, [SERVER], _gate(cluster), 5)
    with pytest.raises(ProvisionError, match="no Deployment or StatefulSet to restart"):
        restart_pods(cluster, Controller(cluster).delete, [MIGRATE], _gate(cluster), 5)
