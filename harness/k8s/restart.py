"""A tool's restart on a cluster, when a check asks for one through the control endpoint
(`harness.control`), as the local target restarts its processes: the pods of the tool's
long-running workloads are deleted, and the restart answers once none of them is left, the
workloads are ready again and as many new pods are ready as there were before. The caller then
waits for the tool to answer through its port-forward again (kubectl's forward ends with its
pod; the forward manager starts it again on the same port).

Public API:
    restart_pods(reader, delete_pod, workloads, wait_ready, timeout_s) -> {workload: {...}}
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from harness.errors import ProvisionError, WaitTimeoutError
from harness.wait import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from harness.k8s.cluster import ClusterReader
    from harness.k8s.readiness import Workload

RESTARTED_KINDS = ("Deployment", "StatefulSet")  # a Job's pods are done; nothing to restart


def _ready(pod: Any) -> bool:
    statuses = (pod.status.container_statuses or []) if pod.status else []
    return bool(statuses) and all(s.ready for s in statuses) and \
        pod.metadata.deletion_timestamp is None


def _uid(pod: Any) -> str:
    return str(pod.metadata.uid)


def _name(pod: Any) -> str:
    return str(pod.metadata.name)


def _instance(pod: Any) -> str:
    # A StatefulSet's new pod has the old one's name: the uid tells them apart.
    return f"{_name(pod)} (uid {_uid(pod)[:8]})"


def restart_pods(reader: ClusterReader, delete_pod: Callable[[str, str], None],
                 workloads: Sequence[Workload], wait_ready: Callable[[list[Workload]], None],
                 timeout_s: float) -> dict[str, dict[str, list[str]]]:
    """Delete the pods of `workloads` (Deployments and StatefulSets) and wait for their
    replacements; per workload, the pods before and after (`name (uid …)`).

    Raises:
        ProvisionError: a workload has no pod to restart, its old pods do not go, or its new
            pods do not become ready within `timeout_s` (named, with the gate's cause).
    """
    chosen = [w for w in workloads if w.kind in RESTARTED_KINDS]
    if not chosen:
        raise ProvisionError("no Deployment or StatefulSet to restart")
    before = {w: reader.pods(w.namespace, w.selector) for w in chosen}
    for workload, pods in before.items():
        if not pods:
            msg = f"{workload.ref}: no pod to restart"
            raise ProvisionError(msg)
    for workload, pods in before.items():
        for pod in pods:
            delete_pod(workload.namespace, _name(pod))
    old = {_uid(pod) for pods in before.values() for pod in pods}

    def pods_now(workload: Workload) -> tuple[list[Any], bool]:
        """The workload's new pods, and whether one of the old ones is still there."""
        now: list[Any] = reader.pods(workload.namespace, workload.selector)
        return [p for p in now if _uid(p) not in old], any(_uid(p) in old for p in now)

    deadline = time.monotonic() + timeout_s
    for workload in chosen:  # gone first: before that the workload may still look ready
        _wait(lambda w=workload: not pods_now(w)[1], deadline,  # type: ignore[misc]
              f"the old pods of {workload.ref} to go")
    wait_ready(chosen)  # names a cause (CrashLoopBackOff, a failing probe) as at `up`
    for workload in chosen:
        count = len(before[workload])
        _wait(lambda w=workload, n=count: sum(map(_ready, pods_now(w)[0])) >= n,  # type: ignore[misc]
              deadline, f"{count} new ready pod(s) of {workload.ref}")
    return {w.name: {"before": sorted(map(_instance, before[w])),
                     "after": sorted(map(_instance, pods_now(w)[0]))}
            for w in chosen}


def _wait(predicate: Callable[[], bool], deadline: float, what: str) -> None:
    try:
        wait_until(predicate, timeout_s=max(deadline - time.monotonic(), 1.0), what=what,
                   interval_s=1)
    except WaitTimeoutError as exc:
        raise ProvisionError(f"restart: {exc}") from exc
