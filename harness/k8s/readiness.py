"""The readiness gate: wait until every workload a release creates is ready, and when one is
not, name it with its cause as read from the cluster, as soon as the cause shows.

A cause that waiting cannot cure (an image that cannot be pulled, a crash loop beyond the
restart budget, a Job that failed, a pod no node can take for longer than the grace period)
ends the wait at the poll that sees it; the others are reported at the timeout, beside every
workload still not ready.

Public API:
    Workload(kind, namespace, name, release, selector)   a workload and its pods' labels
    workloads(manifests) -> list[Workload]    what the rendered manifests create at install
    is_ready(kind, obj) -> bool               as `kubectl rollout status` / `helm --wait` see it
    progress(kind, obj) -> str                "1/3 replicas ready"
    Cause(workload, pod, container, reason, detail, fatal)   why a workload is not ready
    causes(reader, workload, restart_budget) -> list[Cause]  fatal causes first
    with_log(reader, cause) -> Cause          the cause with its container's last log lines
    WorkloadStatus(workload, ready, progress, causes)
    ReadinessGate(reader, workloads, timeout_s, restart_budget).wait()   raises ProvisionError
    ReadinessGate.status() -> list[WorkloadStatus]   one poll, for progress
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from harness.errors import ProvisionError, WaitTimeoutError
from harness.k8s.cluster import WORKLOAD_KINDS, event_time
from harness.manifests.inventory import namespace_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from kubernetes.client import CoreV1Event, V1Pod, V1Secret

    from harness.k8s.cluster import ClusterReader
    from harness.manifests.model import Manifests

LOG_LINES = 20
# A log line can be megabytes (a JSON dump): the tail is read with a byte ceiling too.
LOG_BYTES = 32_768
# Cluster autoscalers add nodes, and operators create Secrets, within about a minute.
GRACE_S = 60.0
_LINE_CHARS = 300

_IMAGE_PULL = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                         "ErrImageNeverPull"})
_CONFIG_ERRORS = frozenset({"CreateContainerConfigError", "CreateContainerError"})
# Kubelet events of a pod that cannot start its containers: volumes, network sandbox.
_SETUP_EVENTS = frozenset({"FailedMount", "FailedAttachVolume", "FailedCreatePodSandBox"})
# Only these Helm hooks run at install; test and delete hooks never do.
_INSTALL_HOOKS = frozenset({"pre-install", "post-install"})
_FIELD_CONTAINER = re.compile(r"\{([^}]+)\}")
_TRANSIENT_STATUS = frozenset({0, 408, 429})


@dataclass(frozen=True)
class Workload:
    """A workload the release creates, and the labels that select its pods."""

    kind: str
    namespace: str
    name: str
    release: str = ""
    # `spec.selector.matchLabels`; for a Job, its pod template's labels and `job-name`.
    selector: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # A hook Job deleted once it succeeded, or a Job with a TTL: absent means done.
    deleted_when_done: bool = False

    @property
    def ref(self) -> str:
        """`Kind namespace/name (release R)`, for messages."""
        where = f"{self.kind} {self.namespace}/{self.name}"
        return f"{where} (release {self.release})" if self.release else where


def workloads(manifests: Manifests) -> list[Workload]:
    """The Deployments, StatefulSets, DaemonSets and Jobs the manifests create at install,
    each once, in the order rendered; Helm hooks that do not run at install are left out.
    """
    found: dict[tuple[str, str, str], Workload] = {}
    for release, obj in manifests.objects():
        kind = str(obj.get("kind", ""))
        if kind not in WORKLOAD_KINDS:
            continue
        meta = obj.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        hooks = _words(annotations.get("helm.sh/hook"))
        if hooks and not hooks & _INSTALL_HOOKS:
            continue
        spec = obj.get("spec") or {}
        name = str(meta.get("name", ""))
        deleted = (bool(hooks) and "hook-succeeded" in _words(
            annotations.get("helm.sh/hook-delete-policy"))) or (
            kind == "Job" and spec.get("ttlSecondsAfterFinished") is not None)
        namespace = namespace_of(release, obj)
        found.setdefault((kind, namespace, name), Workload(
            kind, namespace, name, release.name if release else "",
            _pod_selector(kind, name, spec), deleted))
    return list(found.values())


def _words(value: Any) -> frozenset[str]:
    return frozenset(w.strip() for w in str(value or "").split(",") if w.strip())


def _pod_selector(kind: str, name: str, spec: dict[str, Any]) -> dict[str, str]:
    template = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    match = (spec.get("selector") or {}).get("matchLabels") or {}
    if kind == "Job" and not spec.get("manualSelector"):
        # The Job controller labels its pods `job-name`: the template's labels alone may be
        # shared with a Deployment of the same chart.
        labels = {**template, "job-name": name}
    else:
        labels = match or template
    return {str(k): str(v) for k, v in labels.items()}


# -- readiness of the workload objects ---------------------------------------------------------

def is_ready(kind: str, obj: Any) -> bool:
    """Whether `obj` (a `V1Deployment`, `V1StatefulSet`, `V1DaemonSet` or `V1Job`) is ready:
    every replica updated, ready and available (`kubectl rollout status`), a Job complete.
    """
    rules: dict[str, Callable[[Any, Any], bool]] = {
        "Deployment": _deployment_ready, "StatefulSet": _stateful_set_ready,
        "DaemonSet": _daemon_set_ready, "Job": _job_ready}
    if kind not in rules:
        raise ValueError(f"no readiness rule for kind {kind!r}")
    return obj.status is not None and rules[kind](obj, obj.status)


def _observed(obj: Any, status: Any) -> bool:
    # Until the controller has seen the current spec, its status describes an older one.
    generation = obj.metadata.generation if obj.metadata else None
    return generation is None or (status.observed_generation or 0) >= generation


def _replicas(spec: Any) -> int:
    return 1 if spec is None or spec.replicas is None else int(spec.replicas)


def _deployment_ready(obj: Any, status: Any) -> bool:
    want = _replicas(obj.spec)
    updated = status.updated_replicas or 0
    return (_observed(obj, status) and updated >= want and (status.ready_replicas or 0) >= want
            and (status.available_replicas or 0) >= want
            and (status.replicas or 0) <= updated)  # no pod of an older template left


def _stateful_set_ready(obj: Any, status: Any) -> bool:
    want = _replicas(obj.spec)
    if not _observed(obj, status) or (status.ready_replicas or 0) < want:
        return False
    strategy = obj.spec.update_strategy if obj.spec else None
    if strategy is not None and strategy.type == "OnDelete":
        return True  # pods are replaced by hand: there is no rollout to wait for
    rolling = strategy.rolling_update if strategy is not None else None
    partition = (rolling.partition if rolling is not None else None) or 0
    if (status.updated_replicas or 0) < want - partition:
        return False
    # A partitioned rollout leaves the revisions different on purpose.
    return bool(partition or not (status.current_revision and status.update_revision)
                or status.current_revision == status.update_revision)


def _daemon_set_ready(obj: Any, status: Any) -> bool:
    desired = status.desired_number_scheduled or 0
    strategy = obj.spec.update_strategy if obj.spec else None
    on_delete = strategy is not None and strategy.type == "OnDelete"
    return (_observed(obj, status) and (status.number_ready or 0) >= desired
            and (status.number_available or 0) >= desired
            and (on_delete or (status.updated_number_scheduled or 0) >= desired))


def _job_ready(obj: Any, status: Any) -> bool:
    if _condition(status, "Complete", "SuccessCriteriaMet") is not None:
        return True
    if _condition(status, "Failed", "FailureTarget") is not None:
        return False
    completions = obj.spec.completions if obj.spec else None
    return (status.succeeded or 0) >= (1 if completions is None else completions)


def progress(kind: str, obj: Any) -> str:
    """How far `obj` is: "1/3 replicas ready", "2/2 pods ready", "0/1 pods succeeded"."""
    status = obj.status
    if kind == "DaemonSet":
        desired = status.desired_number_scheduled if status else 0
        return f"{(status.number_ready if status else 0) or 0}/{desired or 0} pods ready"
    if kind == "Job":
        if status is not None and _condition(status, "Complete", "SuccessCriteriaMet"):
            return "complete"
        completions = obj.spec.completions if obj.spec else None
        done = (status.succeeded if status else 0) or 0
        return f"{done}/{1 if completions is None else completions} pods succeeded"
    ready = (status.ready_replicas if status else 0) or 0
    return f"{ready}/{_replicas(obj.spec)} replicas ready"


def _condition(status: Any, *types: str) -> Any | None:
    """The first condition of one of `types` whose status is True."""
    for condition in getattr(status, "conditions", None) or []:
        if condition.type in types and condition.status == "True":
            return condition
    return None


# -- causes --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cause:
    """Why a workload is not ready, read from one of its pods, containers or itself."""

    workload: Workload
    pod: str
    container: str
    # Short and stable: "ImagePullBackOff", "CrashLoopBackOff", "Unschedulable", ...
    reason: str
    detail: str
    # Waiting longer is pointless: the gate stops at once.
    fatal: bool
    init: bool = False
    # The container's last log lines, once `with_log` has read them.
    log: str = ""
    # Which instance's log explains the cause: "previous", "current", or none.
    log_from: str = ""

    def line(self) -> str:
        """`reason: pod P container C: detail`."""
        where = f"pod {self.pod}" if self.pod else ""
        if self.container:
            where += f" {'init container' if self.init else 'container'} {self.container}"
        return f"{self.reason}: {where.strip()}: {self.detail}" if where else (
            f"{self.reason}: {self.detail}")


def causes(reader: ClusterReader, workload: Workload, restart_budget: int, *,
           now: dt.datetime | None = None, grace_s: float = GRACE_S, read_logs: bool = True,
           obj: Any = None) -> list[Cause]:
    """Why `workload` is not ready, from its object, its pods and the namespace's events;
    fatal causes first.

    Args:
        reader: the cluster.
        workload: the workload; its object is read unless given as `obj`.
        restart_budget: restarts a container may make before it is a fatal cause.
        now: the time to measure the grace period against (default: the current time).
        grace_s: how long a pod may stay unschedulable, or fail to mount or be created,
            before that is fatal.
        read_logs: read the last log lines that explain a cause (`with_log` does it later).
        obj: the workload object, when already read.
    """
    moment = now or dt.datetime.now(dt.UTC)
    if obj is None:
        obj = reader.workload(workload.kind, workload.namespace, workload.name)
    pods = _pods_of(reader, workload)
    events = reader.events(workload.namespace)
    found = list(_own_causes(workload, obj, pods, events, moment, grace_s)) if obj else []
    for pod in pods:
        found.extend(_pod_causes(workload, pod, events, restart_budget, moment, grace_s))
    if read_logs:
        found = [with_log(reader, cause) for cause in found]
    return sorted(found, key=lambda cause: not cause.fatal)


def with_log(reader: ClusterReader, cause: Cause) -> Cause:
    """`cause` with the last log lines of its container, when they explain it."""
    if not cause.log_from or cause.log:
        return cause
    namespace = cause.workload.namespace
    order = [True, False] if cause.log_from == "previous" else [False, True]
    try:
        text = ""
        for previous in order:
            text = reader.log(namespace, cause.pod, cause.container, previous=previous,
                              tail_lines=LOG_LINES, limit_bytes=LOG_BYTES)
            if text.strip():
                break
    except Exception as exc:  # the cause stands without its log
        failure = _read_failure(exc)
        text = f"(log unavailable: {failure.text if failure else _one_line(exc)})"
    lines = [line[:_LINE_CHARS] for line in text.rstrip().splitlines()[-LOG_LINES:]]
    return replace(cause, log="\n".join(lines) or "(empty log)")


def _pods_of(reader: ClusterReader, workload: Workload) -> list[Any]:
    pods: list[Any] = reader.pods(workload.namespace, workload.selector)
    return [pod for pod in pods if _owned(pod, workload) and not pod.metadata.deletion_timestamp]


def _owned(pod: Any, workload: Workload) -> bool:
    # Labels alone may also pick a chart's test pod or another workload's pods; the owner
    # is exact. A Deployment owns its pods through a ReplicaSet `<name>-<template hash>`.
    for owner in pod.metadata.owner_references or []:
        if workload.kind == "Deployment":
            prefix = f"{workload.name}-"
            if (owner.kind == "ReplicaSet" and owner.name.startswith(prefix)
                    and "-" not in owner.name[len(prefix):]):
                return True
        elif owner.kind == workload.kind and owner.name == workload.name:
            return True
    return False


def _own_causes(workload: Workload, obj: Any, pods: list[Any], events: list[Any],
                now: dt.datetime, grace_s: float) -> Iterator[Cause]:
    status = obj.status
    if workload.kind == "Job" and status is not None:
        yield from _job_failed(workload, obj, pods)
    if workload.kind == "Deployment" and status is not None:
        for condition in status.conditions or []:
            if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
                yield Cause(workload, "", "", "ProgressDeadlineExceeded",
                            _one_line(condition.message), fatal=True)
    failed = _failed_create(workload, events)
    if failed is not None:
        yield Cause(workload, "", "", "FailedCreate", _one_line(failed.message),
                    fatal=_age_s(_first_seen(failed), now) > grace_s)


def _job_failed(workload: Workload, job: Any, pods: list[Any]) -> Iterator[Cause]:
    condition = _condition(job.status, "Failed", "FailureTarget")
    limit = job.spec.backoff_limit if job.spec and job.spec.backoff_limit is not None else 6
    if condition is None and (job.status.failed or 0) <= limit:
        return
    detail = (f"{condition.reason}: {_one_line(condition.message)}" if condition is not None
              else f"{job.status.failed} pods failed, over the backoff limit of {limit}")
    pod, container = _last_failure(pods)
    yield Cause(workload, pod, container, "JobFailed", detail, fatal=True,
                log_from="current" if container else "")


def _last_failure(pods: list[Any]) -> tuple[str, str]:
    """The latest failed pod and its failed container, or ("", "")."""
    found: list[tuple[dt.datetime, str, str]] = []
    for pod in pods:
        for status in _statuses(pod):
            ended = _terminated(status)
            if ended is not None and ended.exit_code:
                when = ended.finished_at or pod.metadata.creation_timestamp or _EPOCH
                found.append((when, pod.metadata.name, status.name))
    return max(found)[1:] if found else ("", "")


def _failed_create(workload: Workload, events: list[Any]) -> Any | None:
    """The controller's last FailedCreate event, unless a pod was created since."""
    last = None
    for event in events:
        target = event.involved_object
        if target is None or event.reason not in {"FailedCreate", "SuccessfulCreate"}:
            continue
        if workload.kind == "Deployment":
            prefix = f"{workload.name}-"
            mine = (target.kind == "ReplicaSet" and str(target.name).startswith(prefix)
                    and "-" not in str(target.name)[len(prefix):])
        else:
            mine = target.kind == workload.kind and target.name == workload.name
        if mine:
            last = event
    return last if last is not None and last.reason == "FailedCreate" else None


def _pod_causes(workload: Workload, pod: Any, events: list[Any], budget: int,
                now: dt.datetime, grace_s: float) -> Iterator[Cause]:
    mine = [e for e in events if _about(e, pod)]
    name = pod.metadata.name
    status = pod.status
    scheduled = next((c for c in (status.conditions if status else None) or []
                      if c.type == "PodScheduled"), None)
    if scheduled is not None and scheduled.status == "False" and (
            scheduled.reason == "Unschedulable"):
        event = _latest(mine, "FailedScheduling")
        message = scheduled.message or (event.message if event else "") or "no node fits"
        since = scheduled.last_transition_time or pod.metadata.creation_timestamp
        yield Cause(workload, name, "", "Unschedulable", _one_line(message),
                    fatal=_age_s(since, now) > grace_s)
        return
    specs = {c.name: c for c in [*(pod.spec.init_containers or []),
                                 *(pod.spec.containers or [])]} if pod.spec else {}
    failed_pod = status is not None and status.phase == "Failed"
    for container, init in _statuses_with_kind(pod):
        yield from _container_causes(workload, name, container, init, specs.get(container.name),
                                     mine, budget, failed_pod=failed_pod)
    if status is not None and status.phase == "Pending" and _starting(pod):
        event = next((e for e in reversed(mine) if e.reason in _SETUP_EVENTS), None)
        if event is not None:
            yield Cause(workload, name, "", str(event.reason), _one_line(event.message),
                        fatal=_age_s(_first_seen(event), now) > grace_s)


def _container_causes(workload: Workload, pod: str, status: Any, init: bool, spec: Any,
                      events: list[Any], budget: int, *,
                      failed_pod: bool) -> Iterator[Cause]:
    name = status.name
    state = status.state
    waiting = state.waiting if state else None
    reason, message = ((waiting.reason or "", waiting.message or "") if waiting else ("", ""))
    restarts = status.restart_count or 0
    over = restarts > budget

    def cause(kind: str, detail: str, fatal: bool, log_from: str = "") -> Cause:
        return Cause(workload, pod, name, kind, detail, fatal, init=init, log_from=log_from)

    if reason in _IMAGE_PULL:
        image = status.image or (spec.image if spec is not None else "") or "?"
        # Back-off messages only say "Back-off pulling image"; the kubelet's event says why.
        pulled = next((e for e in reversed(events) if e.reason == "Failed"
                       and _event_container(e) == name and "pull" in str(e.message).lower()),
                      None)
        why = (pulled.message if pulled is not None else "") or message or reason
        yield cause(reason, f"image {image}: {_one_line(why)}", fatal=True)
        return
    if reason in _CONFIG_ERRORS:
        yield cause(reason, _one_line(message or reason), fatal=True)
        return
    if reason == "CrashLoopBackOff":
        detail = f"restarted {restarts} times{_exit(status)}" + (
            f", over the budget of {budget}" if over else "")
        # Crashing while a dependency starts is normal: the budget says for how long.
        yield cause("CrashLoopBackOff", detail, fatal=over, log_from="previous")
        return
    if over:
        yield cause("RestartBudget",
                    f"restarted {restarts} times, over the budget of {budget}{_exit(status)}",
                    fatal=True, log_from="previous")
    running = state.running if state else None
    if running is not None and not status.ready:
        started = running.started_at
        probe = next((e for e in reversed(events) if e.reason == "Unhealthy"
                      and _event_container(e) in {"", name}
                      and (started is None or _event_time(e) >= started)), None)
        if probe is not None:
            # Probes fail while a server starts: fatal only with the restarts to show for it.
            yield cause("ProbeFailing", _one_line(probe.message), fatal=over)
        elif init and not (spec is not None and spec.restart_policy == "Always"):
            yield cause("InitRunning", "init container still running", fatal=False,
                        log_from="current")
    ended = state.terminated if state else None
    if ended is not None and ended.exit_code and failed_pod:
        # A Job's failed attempt: it may retry; the Job's own condition says when it stops.
        yield cause("ContainerFailed", _ended(ended), fatal=False, log_from="current")


def _statuses(pod: Any) -> list[Any]:
    return [status for status, _ in _statuses_with_kind(pod)]


def _statuses_with_kind(pod: Any) -> list[tuple[Any, bool]]:
    status = pod.status
    if status is None:
        return []
    return [(s, True) for s in status.init_container_statuses or []] + [
        (s, False) for s in status.container_statuses or []]


def _starting(pod: Any) -> bool:
    """No container has started yet: the pod is still being set up (volumes, network)."""
    statuses = _statuses(pod)
    return all(s.state is not None and s.state.waiting is not None
               and s.state.waiting.reason in {"ContainerCreating", "PodInitializing"}
               for s in statuses)


def _terminated(status: Any) -> Any | None:
    if status.state is not None and status.state.terminated is not None:
        return status.state.terminated
    return status.last_state.terminated if status.last_state is not None else None


def _exit(status: Any) -> str:
    last = status.last_state.terminated if status.last_state is not None else None
    return f", last {_ended(last)}" if last is not None else ""


def _ended(terminated: Any) -> str:
    text = f"exit code {terminated.exit_code}"
    if terminated.reason:
        text += f" ({terminated.reason})"
    if terminated.message:
        text += f": {_one_line(terminated.message)}"
    return text


# -- events ---------------------------------------------------------------------------------------

_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


def _about(event: Any, pod: Any) -> bool:
    target = event.involved_object
    if target is None or target.kind != "Pod" or target.name != pod.metadata.name:
        return False
    # A StatefulSet's pod comes back under the same name: the uid tells the instances apart.
    return not (target.uid and pod.metadata.uid and target.uid != pod.metadata.uid)


def _event_container(event: Any) -> str:
    path = event.involved_object.field_path if event.involved_object else None
    match = _FIELD_CONTAINER.search(path or "")
    return match.group(1) if match else ""


def _latest(events: list[Any], reason: str) -> Any | None:
    return next((e for e in reversed(events) if e.reason == reason), None)


def _event_time(event: Any) -> dt.datetime:
    return event_time(event) or _EPOCH


def _first_seen(event: Any) -> Any:
    return event.first_timestamp or event.event_time or event.metadata.creation_timestamp


def _age_s(since: dt.datetime | None, now: dt.datetime) -> float:
    return (now - since).total_seconds() if since is not None else 0.0


def _one_line(text: Any) -> str:
    return " ".join(str(text or "").split())[:_LINE_CHARS]


# -- the gate ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkloadStatus:
    """One workload at one poll."""

    workload: Workload
    ready: bool
    progress: str
    causes: tuple[Cause, ...] = ()

    @property
    def fatal(self) -> bool:
        """A cause says waiting longer will not help."""
        return any(cause.fatal for cause in self.causes)


class ReadinessGate:
    """Polls `workloads` until all are ready; stops at the first fatal cause.

    `clock` and `sleep` measure the timeout and pace the polls; `now` gives the wall-clock
    time the grace period is measured in (the cluster's timestamps are wall-clock).
    """

    def __init__(self, reader: ClusterReader, workloads: Sequence[Workload], timeout_s: float,
                 restart_budget: int, poll_s: float = 2.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, *,
                 now: Callable[[], dt.datetime] | None = None, grace_s: float = GRACE_S,
                 on_poll: Callable[[list[WorkloadStatus]], None] | None = None) -> None:
        self.reader = reader
        self.workloads = list(workloads)
        self.timeout_s = timeout_s
        self.restart_budget = restart_budget
        self.poll_s = poll_s
        self.clock = clock
        self.sleep = sleep
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.grace_s = grace_s
        self.on_poll = on_poll
        self.polls = 0

    def status(self) -> list[WorkloadStatus]:
        """Every workload as the cluster shows it now (one poll).

        Raises:
            ProvisionError: the cluster could not be read.
        """
        try:
            return self._poll()
        except _ReadError as exc:
            raise ProvisionError(str(exc)) from exc

    def wait(self) -> None:
        """Return once every workload is ready.

        Raises:
            ProvisionError: a fatal cause, at the poll that sees it; or the cluster refuses
                to be read (403).
            WaitTimeoutError: not all ready at the timeout; names each workload not ready.
        """
        deadline = self.clock() + self.timeout_s
        last: list[WorkloadStatus] = []
        error = ""
        while True:
            try:
                last, error = self._poll(), ""
            except _ReadError as exc:
                if exc.fatal:
                    raise ProvisionError(str(exc)) from exc
                error = str(exc)  # the API server restarting, a dropped connection: retry
            else:
                if self.on_poll is not None:
                    self.on_poll(last)
                waiting = [s for s in last if not s.ready]
                if not waiting:
                    return
                if any(s.fatal for s in waiting):
                    waiting.sort(key=lambda s: not s.fatal)
                    raise ProvisionError(self._report(
                        "workloads that cannot become ready:", waiting))
            if self.clock() >= deadline:
                headline = f"workloads not ready after {self.timeout_s:g}s:"
                if error:
                    headline += f" (the last poll failed: {error})"
                raise WaitTimeoutError(self._report(headline, [s for s in last if not s.ready]))
            self.sleep(max(0.0, min(self.poll_s, deadline - self.clock())))

    def _poll(self) -> list[WorkloadStatus]:
        self.polls += 1
        snapshot = _Snapshot(self.reader)
        moment = self.now()
        found = []
        for workload in self.workloads:
            obj = snapshot.workload(workload.kind, workload.namespace, workload.name)
            if obj is None:
                done = workload.deleted_when_done
                found.append(WorkloadStatus(workload, done, "done, and deleted" if done
                                            else "not created"))
            elif is_ready(workload.kind, obj):
                found.append(WorkloadStatus(workload, True, progress(workload.kind, obj)))
            else:
                reasons = causes(snapshot, workload, self.restart_budget, now=moment,
                                 grace_s=self.grace_s, read_logs=False, obj=obj)
                shown = progress(workload.kind, obj)
                if not _pods_of(snapshot, workload):
                    shown += ", no pod created"
                found.append(WorkloadStatus(workload, False, shown, tuple(reasons)))
        return found

    def _report(self, headline: str, statuses: Iterable[WorkloadStatus]) -> str:
        lines = [headline]
        for status in statuses:
            ref = status.workload.ref
            shown = [c for c in status.causes if c.fatal] or list(status.causes)
            if not shown:
                lines.append(f"  {ref}: {status.progress}")
            for first, others in _grouped(shown):
                cause = with_log(self.reader, first)
                more = f" (and {others} more pod{'s' if others > 1 else ''})" if others else ""
                lines.append(f"  {ref}: {cause.line()}{more}")
                lines.extend(f"      | {line}" for line in cause.log.splitlines())
        return "\n".join(lines)


def _grouped(found: list[Cause]) -> list[tuple[Cause, int]]:
    """One cause per (reason, container), with how many other pods show it too."""
    groups: dict[tuple[str, str], list[Cause]] = {}
    for cause in found:
        groups.setdefault((cause.reason, cause.container), []).append(cause)
    return [(group[0], len(group) - 1) for group in groups.values()]


# -- reading the cluster once per poll ----------------------------------------------------------

class _ReadError(Exception):
    """A read the poll needed failed: `fatal` unless retrying may help (5xx, connection)."""

    def __init__(self, verb: str, resource: str, namespace: str, why: str, fatal: bool) -> None:
        where = f"{verb} {resource} in namespace {namespace}"
        text = f"cannot {where}: {why}"
        if fatal and why.startswith(("HTTP 401", "HTTP 403")):
            text += f"; the kubeconfig context's user needs `{verb}` on `{resource}` there"
        super().__init__(text)
        self.fatal = fatal


def _read_failure(exc: BaseException) -> _Failure | None:
    """What went wrong if `exc` is the API's or the network's doing; None for anything else."""
    import urllib3  # noqa: PLC0415 - only on a failure
    from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

    if isinstance(exc, ApiException):
        status = int(exc.status or 0)
        message = _api_message(exc)
        transient = status >= 500 or status in _TRANSIENT_STATUS
        return _Failure(f"HTTP {status} {exc.reason or ''}".strip() + (
            f": {message}" if message else ""), fatal=not transient)
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return _Failure(_one_line(f"{type(exc).__name__}: {exc}"), fatal=False)
    return None


@dataclass(frozen=True)
class _Failure:
    text: str
    fatal: bool


def _api_message(exc: Any) -> str:
    # The API server explains itself in a Status object: "pods is forbidden: User ...".
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return ""
    return _one_line(body.get("message", "")) if isinstance(body, dict) else ""


class _Snapshot:
    """A `ClusterReader` that lists each namespace's pods and events once per poll, and says
    which read failed and whether to retry.
    """

    def __init__(self, reader: ClusterReader) -> None:
        self.reader = reader
        self._pods: dict[str, list[V1Pod]] = {}
        self._events: dict[str, list[CoreV1Event]] = {}

    def _read(self, verb: str, resource: str, namespace: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:
            failure = _read_failure(exc)
            if failure is None:
                raise  # a defect, not the cluster's answer
            raise _ReadError(verb, resource, namespace, failure.text, failure.fatal) from exc

    def workload(self, kind: str, namespace: str, name: str) -> Any | None:
        """See `ClusterReader.workload`."""
        return self._read("get", f"{kind.lower()}s", namespace,
                          lambda: self.reader.workload(kind, namespace, name))

    def pods(self, namespace: str, selector: dict[str, str] | None = None) -> list[V1Pod]:
        """See `ClusterReader.pods`."""
        if namespace not in self._pods:
            self._pods[namespace] = self._read("list", "pods", namespace,
                                               lambda: self.reader.pods(namespace))
        wanted = (selector or {}).items()
        return [p for p in self._pods[namespace]
                if p.metadata is not None and wanted <= (p.metadata.labels or {}).items()]

    def events(self, namespace: str) -> list[CoreV1Event]:
        """See `ClusterReader.events`."""
        if namespace not in self._events:
            self._events[namespace] = self._read("list", "events", namespace,
                                                 lambda: self.reader.events(namespace))
        return self._events[namespace]

    def log(self, namespace: str, pod: str, container: str, *, previous: bool = False,
            tail_lines: int | None = None, limit_bytes: int | None = None) -> str:
        """See `ClusterReader.log`."""
        return str(self._read("get", "pods/log", namespace, lambda: self.reader.log(
            namespace, pod, container, previous=previous, tail_lines=tail_lines,
            limit_bytes=limit_bytes)))

    def secrets(self, namespace: str, selector: dict[str, str] | None = None) -> list[V1Secret]:
        """See `ClusterReader.secrets`."""
        return list(self._read("list", "secrets", namespace,
                               lambda: self.reader.secrets(namespace, selector)))
