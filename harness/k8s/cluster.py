"""What the cluster target reads from a cluster, as one small interface.

The readiness gate and the diagnostics bundle read objects through `ClusterReader`, so they
are tested on objects built with the `kubernetes` client's own models (a recorded cluster)
and run on a real one through `ApiReader`, which wraps the client's typed APIs.

Public API:
    ClusterReader                       the protocol
    ApiReader(api_client)               a live cluster, through the `kubernetes` client
    RecordedCluster(...)                objects held in memory (tests, replays)
    WORKLOAD_KINDS                      the kinds the readiness gate waits on
    event_time(event)                   when an event last happened, whoever wrote it
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kubernetes.client import ApiClient, CoreV1Event, V1Pod, V1Secret

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")
# A call that hangs is a cluster problem to report, not a reason to hang the run.
REQUEST_TIMEOUT_S = 30


class ClusterReader(Protocol):
    """Read-only access to the objects of a cluster the target needs."""

    def workload(self, kind: str, namespace: str, name: str) -> Any | None:
        """The workload object (a `V1Deployment`, `V1StatefulSet`, `V1DaemonSet` or `V1Job`),
        or None while it does not exist.
        """

    def pods(self, namespace: str, selector: dict[str, str] | None = None) -> list[V1Pod]:
        """The namespace's pods, those whose labels include `selector` when given."""

    def events(self, namespace: str) -> list[CoreV1Event]:
        """The namespace's events (core/v1), oldest first."""

    def log(self, namespace: str, pod: str, container: str, *, previous: bool = False,
            tail_lines: int | None = None, limit_bytes: int | None = None) -> str:
        """A container's log (its previous instance's with `previous`); "" when there is
        none.
        """

    def secrets(self, namespace: str, selector: dict[str, str] | None = None) -> list[V1Secret]:
        """The namespace's Secrets, those whose labels include `selector` when given."""


def _selector(labels: dict[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (labels or {}).items())


def _has_labels(obj: Any, labels: dict[str, str] | None) -> bool:
    own = obj.metadata.labels or {}
    return all(own.get(k) == v for k, v in (labels or {}).items())


class ApiReader:
    """`ClusterReader` over a live cluster's API (a configured `kubernetes.client.ApiClient`)."""

    def __init__(self, api_client: ApiClient) -> None:
        from kubernetes import client  # noqa: PLC0415 - heavy; only the cluster target needs it

        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)

    def workload(self, kind: str, namespace: str, name: str) -> Any | None:
        """See `ClusterReader.workload`."""
        from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

        read = {"Deployment": self.apps.read_namespaced_deployment,
                "StatefulSet": self.apps.read_namespaced_stateful_set,
                "DaemonSet": self.apps.read_namespaced_daemon_set,
                "Job": self.batch.read_namespaced_job}[kind]
        try:
            return read(name, namespace, _request_timeout=REQUEST_TIMEOUT_S)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def pods(self, namespace: str, selector: dict[str, str] | None = None) -> list[V1Pod]:
        """See `ClusterReader.pods`."""
        return list(self.core.list_namespaced_pod(
            namespace, label_selector=_selector(selector),
            _request_timeout=REQUEST_TIMEOUT_S).items)

    def events(self, namespace: str) -> list[CoreV1Event]:
        """See `ClusterReader.events`."""
        items = self.core.list_namespaced_event(namespace,
                                                _request_timeout=REQUEST_TIMEOUT_S).items
        return sorted(items, key=_sort_key)

    def log(self, namespace: str, pod: str, container: str, *, previous: bool = False,
            tail_lines: int | None = None, limit_bytes: int | None = None) -> str:
        """See `ClusterReader.log`."""
        from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

        options: dict[str, Any] = {"container": container, "previous": previous,
                                   "_request_timeout": REQUEST_TIMEOUT_S}
        if tail_lines is not None:
            options["tail_lines"] = tail_lines
        if limit_bytes is not None:
            options["limit_bytes"] = limit_bytes
        try:
            return str(self.core.read_namespaced_pod_log(pod, namespace, **options))
        except ApiException as exc:
            if exc.status in {400, 404}:  # no previous instance, or not started yet
                return ""
            raise

    def secrets(self, namespace: str, selector: dict[str, str] | None = None) -> list[V1Secret]:
        """See `ClusterReader.secrets`."""
        return list(self.core.list_namespaced_secret(
            namespace, label_selector=_selector(selector),
            _request_timeout=REQUEST_TIMEOUT_S).items)


def event_time(event: CoreV1Event) -> Any:
    """When an event last happened, or None: events carry different timestamps depending on
    who wrote them (core/v1 `lastTimestamp`, events.k8s.io's series and `eventTime`).
    """
    series = event.series.last_observed_time if event.series is not None else None
    return (event.last_timestamp or series or event.event_time or event.first_timestamp
            or (event.metadata.creation_timestamp if event.metadata else None))


def _sort_key(event: CoreV1Event) -> Any:
    import datetime  # noqa: PLC0415

    return event_time(event) or datetime.datetime.min.replace(tzinfo=datetime.UTC)


@dataclass
class RecordedCluster:
    """`ClusterReader` over objects held in memory: `workloads[(kind, ns, name)]`,
    `pod_list[ns]`, `event_list[ns]`, `logs[(ns, pod, container, previous)]`,
    `secret_list[ns]`.
    """

    workloads: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    pod_list: dict[str, list[Any]] = field(default_factory=dict)
    event_list: dict[str, list[Any]] = field(default_factory=dict)
    logs: dict[tuple[str, str, str, bool], str] = field(default_factory=dict)
    secret_list: dict[str, list[Any]] = field(default_factory=dict)

    def workload(self, kind: str, namespace: str, name: str) -> Any | None:
        """See `ClusterReader.workload`."""
        return self.workloads.get((kind, namespace, name))

    def pods(self, namespace: str, selector: dict[str, str] | None = None) -> list[V1Pod]:
        """See `ClusterReader.pods`."""
        return [p for p in self.pod_list.get(namespace, []) if _has_labels(p, selector)]

    def events(self, namespace: str) -> list[CoreV1Event]:
        """See `ClusterReader.events`."""
        return sorted(self.event_list.get(namespace, []), key=_sort_key)

    def log(self, namespace: str, pod: str, container: str, *, previous: bool = False,
            tail_lines: int | None = None, limit_bytes: int | None = None) -> str:
        """See `ClusterReader.log`."""
        text = self.logs.get((namespace, pod, container, previous), "")
        if tail_lines is not None:
            text = "".join(text.splitlines(keepends=True)[-tail_lines:]) if tail_lines else ""
        if limit_bytes is not None:  # the API stops after that many bytes, as here
            text = text.encode()[:limit_bytes].decode("utf-8", "replace")
        return text

    def secrets(self, namespace: str, selector: dict[str, str] | None = None) -> list[V1Secret]:
        """See `ClusterReader.secrets`."""
        return [s for s in self.secret_list.get(namespace, []) if _has_labels(s, selector)]
