"""The readiness gate on objects built with the `kubernetes` client's own models: each cause
named from pods and events, readiness as `kubectl rollout status` sees it, and the gate's
polling on a fake clock.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from kubernetes import client as k
from kubernetes.client.exceptions import ApiException

from harness.errors import ProvisionError, WaitTimeoutError
from harness.k8s.cluster import RecordedCluster
from harness.k8s.readiness import ReadinessGate, Workload, causes, is_ready, workloads
from harness.manifests.model import Manifests, RenderedRelease

NS = "ml"
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
WEB = Workload("Deployment", NS, "web", "web", {"app": "web"})
POD = "web-5d9f7c-x2k4p"
LOG = "".join(f"line {i}\n" for i in range(1, 31))


# -- builders --------------------------------------------------------------------------------------

def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def container(name: str = "app", *, waiting: str = "", message: str = "", running: bool = False,
              ready: bool = False, restarts: int = 0, last_exit: int | None = None,
              last_reason: str = "Error", exit_code: int | None = None,
              image: str = "repo/app:1") -> k.V1ContainerStatus:
    state = k.V1ContainerState(
        waiting=k.V1ContainerStateWaiting(reason=waiting, message=message or None)
        if waiting else None,
        running=k.V1ContainerStateRunning(started_at=ago(120)) if running else None,
        terminated=k.V1ContainerStateTerminated(exit_code=exit_code, reason="Error",
                                                finished_at=ago(5))
        if exit_code is not None else None)
    last = k.V1ContainerState(terminated=k.V1ContainerStateTerminated(
        exit_code=last_exit, reason=last_reason)) if last_exit is not None else None
    return k.V1ContainerStatus(name=name, image=image, image_id="", ready=ready,
                               restart_count=restarts, state=state, last_state=last)


def pod(*statuses: k.V1ContainerStatus, name: str = POD, owner: tuple[str, str] = (
        "ReplicaSet", "web-5d9f7c"), labels: dict[str, str] | None = None,
        phase: str = "Running", init: tuple[k.V1ContainerStatus, ...] = (),
        conditions: list[k.V1PodCondition] | None = None) -> k.V1Pod:
    return k.V1Pod(
        metadata=k.V1ObjectMeta(name=name, namespace=NS, uid=f"uid-{name}",
                                labels=labels or {"app": "web"},
                                owner_references=[k.V1OwnerReference(
                                    api_version="apps/v1", kind=owner[0], name=owner[1],
                                    uid="owner")]),
        spec=k.V1PodSpec(containers=[k.V1Container(name=s.name, image=s.image)
                                     for s in statuses]),
        status=k.V1PodStatus(phase=phase, container_statuses=list(statuses),
                             init_container_statuses=list(init) or None,
                             conditions=conditions))


def event(reason: str, message: str, *, pod_name: str = POD, kind: str = "Pod",
          container: str = "", at: dt.datetime = NOW) -> k.CoreV1Event:
    return k.CoreV1Event(
        metadata=k.V1ObjectMeta(name=f"{pod_name}.{reason}", namespace=NS),
        involved_object=k.V1ObjectReference(
            kind=kind, name=pod_name, namespace=NS,
            field_path=f"spec.containers{{{container}}}" if container else None),
        reason=reason, message=message, first_timestamp=at, last_timestamp=at)


def deployment(name: str = "web", *, replicas: int | None = 1, ready: int = 0,
               generation: int = 1, observed: int = 1) -> k.V1Deployment:
    return k.V1Deployment(
        metadata=k.V1ObjectMeta(name=name, namespace=NS, generation=generation),
        spec=k.V1DeploymentSpec(replicas=replicas,
                                selector=k.V1LabelSelector(match_labels={"app": name}),
                                template=k.V1PodTemplateSpec()),
        status=k.V1DeploymentStatus(observed_generation=observed, replicas=ready,
                                    updated_replicas=ready, ready_replicas=ready,
                                    available_replicas=ready))


def job(name: str = "migrate", *, failed: str = "", succeeded: int = 0) -> k.V1Job:
    conditions = [k.V1JobCondition(type="Failed", status="True", reason=failed,
                                   message="Job has reached the specified backoff limit")
                  ] if failed else None
    return k.V1Job(metadata=k.V1ObjectMeta(name=name, namespace=NS),
                   spec=k.V1JobSpec(template=k.V1PodTemplateSpec(), backoff_limit=1),
                   status=k.V1JobStatus(succeeded=succeeded, conditions=conditions))


def cluster(*pods: k.V1Pod, events: tuple[k.CoreV1Event, ...] = (),
            objects: dict[tuple[str, str, str], Any] | None = None,
            logs: dict[tuple[str, str, str, bool], str] | None = None) -> RecordedCluster:
    return RecordedCluster(
        workloads=objects if objects is not None else {("Deployment", NS, "web"): deployment()},
        pod_list={NS: list(pods)}, event_list={NS: list(events)}, logs=logs or {})


def only(found: list[Any]) -> Any:
    assert len(found) == 1, found
    return found[0]


# -- one test per cause ---------------------------------------------------------------------------

def test_image_pull_names_the_image_and_the_registry_answer() -> None:
    reader = cluster(pod(container(waiting="ImagePullBackOff", image="repo/app:nope",
                                   message='Back-off pulling image "repo/app:nope"')),
                     events=(event("Failed", 'Failed to pull image "repo/app:nope": not found',
                                   container="app"),))
    cause = only(causes(reader, WEB, 3, now=NOW))
    assert (cause.reason, cause.pod, cause.container, cause.fatal) == (
        "ImagePullBackOff", POD, "app", True)
    assert cause.detail == 'image repo/app:nope: Failed to pull image "repo/app:nope": not found'


def test_crash_loop_gives_the_last_log_lines_and_exit_code() -> None:
    pods = (pod(container(waiting="CrashLoopBackOff", restarts=3, last_exit=1)),)
    logs = {(NS, POD, "app", True): LOG}
    cause = only(causes(cluster(*pods, logs=logs), WEB, 2, now=NOW))
    assert (cause.reason, cause.fatal) == ("CrashLoopBackOff", True)
    assert "restarted 3 times, last exit code 1 (Error)" in cause.detail
    assert cause.log.splitlines() == [f"line {i}" for i in range(11, 31)]
    # Within the budget it may still recover (a database starting beside it).
    assert not only(causes(cluster(*pods, logs=logs), WEB, 3, now=NOW)).fatal


def test_crash_loop_without_a_previous_log_reads_the_current_one() -> None:
    reader = cluster(pod(container(waiting="CrashLoopBackOff", restarts=1, last_exit=2)),
                     logs={(NS, POD, "app", False): "panic: no config\n"})
    assert only(causes(reader, WEB, 0, now=NOW)).log == "panic: no config"


def test_unschedulable_gives_the_scheduler_message_and_is_fatal_after_the_grace() -> None:
    message = "0/3 nodes are available: 3 Insufficient memory."
    pending = pod(phase="Pending", conditions=[k.V1PodCondition(
        type="PodScheduled", status="False", reason="Unschedulable", message=message,
        last_transition_time=ago(30))])
    cause = only(causes(cluster(pending), WEB, 3, now=NOW, grace_s=60))
    assert (cause.reason, cause.detail, cause.fatal) == ("Unschedulable", message, False)
    later = NOW + dt.timedelta(seconds=31)
    assert only(causes(cluster(pending), WEB, 3, now=later, grace_s=60)).fatal


def test_unschedulable_without_a_message_reads_the_failed_scheduling_event() -> None:
    pending = pod(phase="Pending", conditions=[k.V1PodCondition(
        type="PodScheduled", status="False", reason="Unschedulable",
        last_transition_time=ago(30))])
    reader = cluster(pending, events=(event("FailedScheduling", "pod has unbound PVCs"),))
    assert only(causes(reader, WEB, 3, now=NOW)).detail == "pod has unbound PVCs"


def test_failing_probe_gives_its_output_and_is_not_fatal_by_itself() -> None:
    output = 'Readiness probe failed: Get "http://10.0.0.5:5000/health": connection refused'
    reader = cluster(pod(container(running=True)),
                     events=(event("Unhealthy", "Readiness probe failed: old", at=ago(600),
                                   container="app"),
                             event("Unhealthy", output, container="app")))
    cause = only(causes(reader, WEB, 3, now=NOW))
    assert (cause.reason, cause.detail, cause.fatal) == ("ProbeFailing", output, False)


def test_failing_probe_with_restarts_beyond_the_budget_is_fatal() -> None:
    reader = cluster(pod(container(running=True, restarts=4, last_exit=137,
                                   last_reason="Error")),
                     events=(event("Unhealthy", "Liveness probe failed: timeout",
                                   container="app"),))
    found = causes(reader, WEB, 3, now=NOW)
    assert [(c.reason, c.fatal) for c in found] == [("RestartBudget", True),
                                                    ("ProbeFailing", True)]


def test_restart_budget_names_the_last_exit_and_log() -> None:
    reader = cluster(pod(container(running=True, ready=False, restarts=5, last_exit=137,
                                   last_reason="OOMKilled")),
                     logs={(NS, POD, "app", True): "loading model\n"})
    cause = only(causes(reader, WEB, 3, now=NOW))
    assert (cause.reason, cause.fatal, cause.log) == ("RestartBudget", True, "loading model")
    assert cause.detail == ("restarted 5 times, over the budget of 3, "
                            "last exit code 137 (OOMKilled)")


def test_job_failed_gives_its_reason_and_the_failed_pod_log() -> None:
    migrate = Workload("Job", NS, "migrate", "mlflow", {"job-name": "migrate"})
    failed = pod(container("migrate", exit_code=2), name="migrate-7xk2q", phase="Failed",
                 owner=("Job", "migrate"), labels={"job-name": "migrate"})
    reader = cluster(failed, objects={("Job", NS, "migrate"): job(failed="BackoffLimitExceeded")},
                     logs={(NS, "migrate-7xk2q", "migrate", False): "relation missing\n"})
    found = causes(reader, migrate, 3, now=NOW)
    assert [(c.reason, c.fatal) for c in found] == [("JobFailed", True),
                                                    ("ContainerFailed", False)]
    assert found[0].detail == ("BackoffLimitExceeded: Job has reached the specified backoff "
                               "limit")
    assert (found[0].pod, found[0].log) == ("migrate-7xk2q", "relation missing")


def test_config_error_names_the_missing_key() -> None:
    message = 'couldn\'t find key password in Secret ml/db'
    reader = cluster(pod(container(waiting="CreateContainerConfigError", message=message)))
    cause = only(causes(reader, WEB, 3, now=NOW))
    assert (cause.reason, cause.detail, cause.fatal) == ("CreateContainerConfigError", message,
                                                         True)


def test_init_container_causes_are_named_as_init_containers() -> None:
    reader = cluster(pod(container(waiting="PodInitializing"),
                         init=(container("wait-db", waiting="ErrImagePull", image="busybox:x",
                                         message="manifest unknown"),)))
    cause = only(causes(reader, WEB, 3, now=NOW))
    assert (cause.reason, cause.container, cause.init, cause.fatal) == (
        "ErrImagePull", "wait-db", True, True)
    assert cause.line() == (f"ErrImagePull: pod {POD} init container wait-db: "
                            "image busybox:x: manifest unknown")


def test_pods_that_cannot_be_created_are_named_after_the_grace() -> None:
    refused = event("FailedCreate", 'pods "web-5d9f7c-" is forbidden: violates PodSecurity',
                    kind="ReplicaSet", pod_name="web-5d9f7c", at=ago(90))
    cause = only(causes(cluster(events=(refused,)), WEB, 3, now=NOW))
    assert (cause.reason, cause.fatal) == ("FailedCreate", True)
    assert "violates PodSecurity" in cause.detail


def test_a_missing_volume_is_named_while_the_pod_is_created() -> None:
    creating = pod(container(waiting="ContainerCreating"), phase="Pending")
    mount = event("FailedMount", 'MountVolume.SetUp failed for volume "cfg": configmap "x" '
                  "not found", at=ago(10))
    cause = only(causes(cluster(creating, events=(mount,)), WEB, 3, now=NOW))
    assert (cause.reason, cause.fatal) == ("FailedMount", False)


def test_pods_of_other_owners_are_not_blamed() -> None:
    stranger = pod(container(waiting="ImagePullBackOff"), owner=("ReplicaSet", "web-api-6c8d"))
    chart_test = pod(container(waiting="ImagePullBackOff"), owner=("Job", "web-test"))
    assert causes(cluster(stranger, chart_test), WEB, 3, now=NOW) == []


# -- readiness of the workload objects ------------------------------------------------------------

@pytest.mark.parametrize(("obj", "ready"), [
    (deployment(replicas=2, ready=2), True),
    (deployment(replicas=None, ready=1), True),  # no replicas field means one
    (deployment(replicas=2, ready=1), False),
    (deployment(ready=1, generation=2, observed=1), False),  # status of an older spec
    (deployment(replicas=0), True),
])
def test_deployment_readiness(obj: k.V1Deployment, ready: bool) -> None:
    assert is_ready("Deployment", obj) is ready


def stateful_set(ready: int, current: str = "r1", update: str = "r1") -> k.V1StatefulSet:
    return k.V1StatefulSet(
        metadata=k.V1ObjectMeta(name="db", generation=1),
        spec=k.V1StatefulSetSpec(replicas=2, selector=k.V1LabelSelector(),
                                 template=k.V1PodTemplateSpec(), service_name="db"),
        status=k.V1StatefulSetStatus(replicas=2, ready_replicas=ready, updated_replicas=ready,
                                     observed_generation=1, current_revision=current,
                                     update_revision=update))


def daemon_set(ready: int, updated: int) -> k.V1DaemonSet:
    return k.V1DaemonSet(
        metadata=k.V1ObjectMeta(name="agent", generation=1),
        spec=k.V1DaemonSetSpec(selector=k.V1LabelSelector(), template=k.V1PodTemplateSpec()),
        status=k.V1DaemonSetStatus(current_number_scheduled=3, desired_number_scheduled=3,
                                   number_misscheduled=0, number_ready=ready,
                                   number_available=ready, updated_number_scheduled=updated,
                                   observed_generation=1))


@pytest.mark.parametrize(("kind", "obj", "ready"), [
    ("StatefulSet", stateful_set(2), True),
    ("StatefulSet", stateful_set(1), False),
    ("StatefulSet", stateful_set(2, current="r1", update="r2"), False),
    ("DaemonSet", daemon_set(3, 3), True),
    ("DaemonSet", daemon_set(2, 3), False),
    ("DaemonSet", daemon_set(3, 2), False),
    ("Job", job(succeeded=1), True),
    ("Job", job(), False),
    ("Job", job(failed="BackoffLimitExceeded"), False),
])
def test_other_kinds_readiness(kind: str, obj: Any, ready: bool) -> None:
    assert is_ready(kind, obj) is ready


# -- the gate ----------------------------------------------------------------------------------------

class FakeTime:
    """A clock that moves only when the gate sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps = 0

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.t += seconds


def gate(reader: Any, *targets: Workload, timeout_s: float = 10) -> tuple[ReadinessGate,
                                                                          FakeTime]:
    fake = FakeTime()
    return ReadinessGate(reader, list(targets) or [WEB], timeout_s, 3, poll_s=2,
                         clock=fake.clock, sleep=fake.sleep, now=lambda: NOW), fake


def test_ready_workloads_pass_at_the_first_poll() -> None:
    reader = cluster(objects={("Deployment", NS, "web"): deployment(ready=1),
                              ("Job", NS, "migrate"): job(succeeded=1)})
    waiter, fake = gate(reader, WEB, Workload("Job", NS, "migrate"))
    waiter.wait()
    assert (waiter.polls, fake.sleeps) == (1, 0)


def test_a_fatal_cause_stops_the_wait_at_the_poll_that_sees_it() -> None:
    reader = cluster(pod(container(waiting="CrashLoopBackOff", restarts=1, last_exit=1)),
                     logs={(NS, POD, "app", True): "ImportError: no module named x\n"})
    waiter, fake = gate(reader, timeout_s=600)
    # Within the budget at first, the gate waits; the container restarts between polls, and
    # the poll that sees the fourth restart (one over the budget) stops the wait.
    def sleep_and_restart(seconds: float) -> None:
        fake.sleep(seconds)
        reader.pod_list[NS][0].status.container_statuses[0].restart_count += 1

    waiter.sleep = sleep_and_restart
    with pytest.raises(ProvisionError) as caught:
        waiter.wait()
    assert (waiter.polls, fake.t) == (4, 6)
    assert not isinstance(caught.value, WaitTimeoutError)
    assert str(caught.value).splitlines() == [
        "workloads that cannot become ready:",
        f"  Deployment ml/web (release web): CrashLoopBackOff: pod {POD} container app: "
        "restarted 4 times, last exit code 1 (Error), over the budget of 3",
        "      | ImportError: no module named x"]


def test_the_timeout_names_every_workload_not_ready() -> None:
    reader = cluster(pod(container(running=True)),
                     events=(event("Unhealthy", "Readiness probe failed: 503", container="app"),),
                     objects={("Deployment", NS, "web"): deployment(replicas=3, ready=0),
                              ("Deployment", NS, "api"): deployment("api", replicas=3),
                              ("Job", NS, "seed"): job("seed")})
    targets = (WEB, Workload("Deployment", NS, "api", "api", {"app": "api"}),
               Workload("Job", NS, "seed", "api", {"job-name": "seed"}),
               Workload("StatefulSet", NS, "db", "pg", {"app": "db"}))
    waiter, fake = gate(reader, *targets, timeout_s=10)
    with pytest.raises(WaitTimeoutError) as caught:
        waiter.wait()
    assert (waiter.polls, fake.t) == (6, 10)
    assert str(caught.value).splitlines() == [
        "workloads not ready after 10s:",
        f"  Deployment ml/web (release web): ProbeFailing: pod {POD} container app: "
        "Readiness probe failed: 503",
        "  Deployment ml/api (release api): 0/3 replicas ready, no pod created",
        "  Job ml/seed (release api): 0/1 pods succeeded, no pod created",
        "  StatefulSet ml/db (release pg): not created"]


def test_the_same_cause_in_several_pods_is_one_line() -> None:
    pods = [pod(container(waiting="ImagePullBackOff", image="repo/app:nope"), name=f"web-{i}")
            for i in range(3)]
    waiter, _ = gate(cluster(*pods))
    with pytest.raises(ProvisionError, match=r"image repo/app:nope: ImagePullBackOff "
                                             r"\(and 2 more pods\)$"):
        waiter.wait()


def test_a_hook_job_deleted_after_it_succeeded_is_ready() -> None:
    hook = Workload("Job", NS, "create-db", "mlflow", {"job-name": "create-db"},
                    deleted_when_done=True)
    waiter, _ = gate(cluster(objects={}), hook)
    waiter.wait()
    assert [s.progress for s in waiter.status()] == ["done, and deleted"]


class Flaky(RecordedCluster):
    """A cluster whose API server fails the first reads."""

    def __init__(self, failures: list[BaseException], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failures = failures

    def pods(self, namespace: str, selector: dict[str, str] | None = None) -> list[Any]:
        if self.failures:
            raise self.failures.pop(0)
        return super().pods(namespace, selector)


def test_transient_errors_are_retried() -> None:
    reader = Flaky([ApiException(status=503, reason="Service Unavailable"),
                    ConnectionRefusedError("connection refused")],
                   workloads={("Deployment", NS, "web"): deployment(ready=0)})
    waiter, _ = gate(reader, timeout_s=10)
    with pytest.raises(WaitTimeoutError, match="0/1 replicas ready, no pod created"):
        waiter.wait()
    assert waiter.polls == 6


def test_forbidden_is_fatal_and_names_the_permission() -> None:
    body = json.dumps({"message": 'pods is forbidden: User "ci" cannot list resource "pods"'})
    reader = Flaky([ApiException(status=403, reason="Forbidden")],
                   workloads={("Deployment", NS, "web"): deployment(ready=0)})
    reader.failures[0].body = body
    waiter, _ = gate(reader)
    with pytest.raises(ProvisionError) as caught:
        waiter.wait()
    assert waiter.polls == 1
    assert str(caught.value) == (
        'cannot list pods in namespace ml: HTTP 403 Forbidden: pods is forbidden: User "ci" '
        "cannot list resource \"pods\"; the kubeconfig context's user needs `list` on `pods` "
        "there")


# -- what the manifests create ------------------------------------------------------------------------

def obj(kind: str, name: str, **extra: Any) -> dict[str, Any]:
    meta = {"name": name, **extra.pop("metadata", {})}
    return {"apiVersion": "v1", "kind": kind, "metadata": meta, **extra}


def test_workloads_from_the_rendered_manifests() -> None:
    template = {"metadata": {"labels": {"app": "mlflow", "tier": "db"}}}
    release = RenderedRelease("mlflow", "mlflow", "ml", "mlflow", "1.0", objects=(
        obj("Service", "mlflow"),
        obj("Deployment", "mlflow", spec={"selector": {"matchLabels": {"app": "mlflow"}},
                                          "template": template}),
        obj("StatefulSet", "pg", metadata={"namespace": "db"},
            spec={"selector": {"matchLabels": {"app": "pg"}}}),
        obj("Job", "migrate", spec={"template": template, "ttlSecondsAfterFinished": 60}),
        obj("Job", "create-db", metadata={"annotations": {
            "helm.sh/hook": "pre-install,pre-upgrade",
            "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}}),
        obj("Job", "mlflow-test", metadata={"annotations": {"helm.sh/hook": "test"}}),
        obj("Job", "backup", metadata={"annotations": {"helm.sh/hook": "pre-delete"}}),
    ))
    direct = (obj("DaemonSet", "agent", metadata={"namespace": "ops"}),)
    found = workloads(Manifests((release,), direct=direct))
    assert [(w.kind, w.namespace, w.name, w.release) for w in found] == [
        ("DaemonSet", "ops", "agent", ""),
        ("Deployment", "ml", "mlflow", "mlflow"),
        ("StatefulSet", "db", "pg", "mlflow"),
        ("Job", "ml", "migrate", "mlflow"),
        ("Job", "ml", "create-db", "mlflow")]
    by_name = {w.name: w for w in found}
    assert by_name["mlflow"].selector == {"app": "mlflow"}
    assert by_name["migrate"].selector == {"app": "mlflow", "tier": "db", "job-name": "migrate"}
    assert [w.name for w in found if w.deleted_when_done] == ["migrate", "create-db"]
