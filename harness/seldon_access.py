"""How the Seldon checks reach what a SeldonDeployment creates, on each target.

The checks create, read and delete SeldonDeployments through the Kubernetes REST paths (the
local target's stand-in speaks them; on a cluster, `kubectl proxy` serves the real API server
on loopback). What the operator then makes is reached as a user of each target would:

- the address in a deployment's status (`http://SVC.NS.svc.cluster.local:8000/v2/...`) is a
  Service inside the cluster: on a cluster it is reached through the API server's service
  proxy, and a Service serves while its Endpoints list a ready address; the stand-in's
  addresses are on this machine and serve while their port accepts;
- the model server's own metadata (`GET /v2`: its name and version) is on its container's
  `http` port: the operator puts its executor in front at the address, which routes only the
  models' paths; on a cluster it is reached through the pod proxy, on the stand-in at the
  address's server;
- a model server's metrics are on its pod's `metrics` port (MLSERVER_METRICS_ENDPOINT, as
  the operator sets it), reached through the pod proxy; the stand-in has no pods and says
  where its model server's metrics are in `status.localMetrics`;
- why a model did not start: the operator's status says only that the Deployment stopped
  progressing, so on a cluster it is read where a user would look, the storage initializer's
  container (its arguments, how it ended, its last log lines); the stand-in's status
  description carries the initializer's own words.

Public API:
    status_address(deployment) -> str             the address its status gives ("" if none)
    access_of(stack) -> SeldonAccess
    SeldonAccess.collection -> str                 SeldonDeployments of the checks' namespace
    SeldonAccess.address(deployment) -> str       where it serves (or would serve)
    SeldonAccess.url(address) -> str              an address, as this machine reaches it
    SeldonAccess.serving(address) -> bool
    SeldonAccess.listeners(deployment) -> list[str]   addresses `serving` judges, once deleted
    SeldonAccess.server_url(deployment) -> str | None   the model server's `/v2`
    SeldonAccess.metrics_url(deployment) -> str | None
    SeldonAccess.failure(deployment) -> str
    service_proxy_url(api, address) -> str
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlparse

import requests

if TYPE_CHECKING:
    from harness.stack import Stack

GROUP = "apis/machinelearning.seldon.io/v1"
SELDON_ID_LABEL = "seldon-deployment-id"  # on every pod the operator creates for a deployment
INITIALIZER_SUFFIX = "-model-initializer"  # the storage initializer's container: GRAPH-...
METRICS_PORT_NAME = "metrics"
HTTP_PORT_NAME = "http"
LOG_LINES = 8  # enough of the initializer's log to say why; a failure message stays readable
_TIMEOUT_S = 10
_CLUSTER_DOMAIN = ".svc.cluster.local"


def status_address(deployment: dict[str, Any]) -> str:
    """The address in the deployment's status: its model's V2 inference URL ("" if none)."""
    return str(((deployment.get("status") or {}).get("address") or {}).get("url") or "")


def access_of(stack: Stack) -> SeldonAccess:
    """The access the stack's target gives: through the API server on a cluster."""
    entry = stack.tools["seldon"]
    kind = KubeApiAccess if stack.hosts.backend == "kubectl" else SeldonAccess
    return kind(entry.endpoints["api"], str(entry.expect["namespace"]))


class SeldonAccess:
    """The local target's: the stand-in's model servers listen on this machine."""

    def __init__(self, api: str, namespace: str) -> None:
        self.api, self.namespace = api.rstrip("/"), namespace

    @property
    def collection(self) -> str:
        """URL of the SeldonDeployment collection in the namespace models go to."""
        return f"{self.api}/{GROUP}/namespaces/{self.namespace}/seldondeployments"

    def address(self, deployment: dict[str, Any]) -> str:
        """Where the deployment serves: the address in its status."""
        return status_address(deployment)

    def url(self, address: str) -> str:
        """`address` (a deployment's status address) as this machine reaches it."""
        return address

    def serving(self, address: str) -> bool:
        """Whether anything accepts TCP connections at the address's host and port."""
        parsed = urlparse(address)
        with socket.socket() as sock:
            sock.settimeout(2)
            return sock.connect_ex((parsed.hostname or "127.0.0.1", parsed.port or 80)) == 0

    def listeners(self, deployment: dict[str, Any]) -> list[str]:
        """Every address the deployment's server listens at: the model's and its metrics'."""
        return [url for url in (self.address(deployment), self.metrics_url(deployment)) if url]

    def server_url(self, deployment: dict[str, Any]) -> str | None:
        """The model server's metadata (`/v2`): the stand-in serves it at the address."""
        address = self.address(deployment)
        if not address:
            return None
        parsed = urlparse(address)
        return f"{parsed.scheme}://{parsed.netloc}/v2"

    def metrics_url(self, deployment: dict[str, Any]) -> str | None:
        """Where the deployment's model server counts what it served."""
        found = (deployment.get("status") or {}).get("localMetrics")
        return str(found) if found else None

    def failure(self, deployment: dict[str, Any]) -> str:
        """Why the deployment's model did not start, in the words of what fetched it."""
        return str((deployment.get("status") or {}).get("description", ""))


def _service_of(address: str) -> tuple[str, str, int]:
    """(namespace, Service, port) of an in-cluster Service URL, else AssertionError."""
    parsed = urlparse(address)
    service, _, namespace = (parsed.hostname or "").removesuffix(_CLUSTER_DOMAIN).partition(".")
    if not service or not namespace or "." in namespace:
        msg = f"seldon: {address!r} is not a Service address inside the cluster (SVC.NS)"
        raise AssertionError(msg)
    return namespace, service, parsed.port or 80


def service_proxy_url(api: str, address: str) -> str:
    """An in-cluster Service URL (`http://SVC.NS.svc.cluster.local:PORT/PATH`) as the API
    server's service proxy serves it.

    >>> service_proxy_url("http://127.0.0.1:8001",
    ...                   "http://m-default.ml.svc.cluster.local:8000/v2/models/c/infer")
    'http://127.0.0.1:8001/api/v1/namespaces/ml/services/http:m-default:8000/proxy/v2/models/c/infer'
    """
    namespace, service, port = _service_of(address)
    parsed = urlparse(address)
    return (f"{api.rstrip('/')}/api/v1/namespaces/{namespace}/services/"
            f"{parsed.scheme or 'http'}:{service}:{port}/proxy{parsed.path}")


class KubeApiAccess(SeldonAccess):
    """A cluster's: everything through the API server (`kubectl proxy` at `api`)."""

    def address(self, deployment: dict[str, Any]) -> str:
        """The status address, or, before the operator writes one (it does once the
        predictor's Service exists, which a deployment that never became ready may lack), the
        address it would write: Service `NAME-PREDICTOR` (names of up to 63 characters).
        """
        if found := status_address(deployment):
            return found
        predictor = deployment["spec"]["predictors"][0]
        return (f"http://{deployment['metadata']['name']}-{predictor['name']}.{self.namespace}"
                f"{_CLUSTER_DOMAIN}:8000/v2/models/{predictor['graph']['name']}/infer")

    def url(self, address: str) -> str:
        """The Service behind `address`, through the API server's service proxy."""
        return service_proxy_url(self.api, address)

    def serving(self, address: str) -> bool:
        """Whether the Service behind `address` exists and its Endpoints list a ready pod."""
        namespace, service, _ = _service_of(address)
        response = requests.get(f"{self.api}/api/v1/namespaces/{namespace}/endpoints/{service}",
                                timeout=_TIMEOUT_S)
        if response.status_code == 404:
            return False
        response.raise_for_status()
        return any(subset.get("addresses") for subset in response.json().get("subsets") or [])

    def listeners(self, deployment: dict[str, Any]) -> list[str]:
        """The deployment's Service address: its Endpoints list every pod that serves."""
        return [self.address(deployment)]

    def _pods(self, name: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.api}/api/v1/namespaces/{self.namespace}/pods",
                                params={"labelSelector": f"{SELDON_ID_LABEL}={name}"},
                                timeout=_TIMEOUT_S)
        response.raise_for_status()
        pods: list[dict[str, Any]] = response.json().get("items") or []
        return pods

    def _model_server(self, deployment: dict[str, Any], port_name: str, env_port: str,
                      ) -> tuple[str, int | str, dict[str, str]] | None:
        """A running pod's model server container (named after the graph): the pod's name,
        the port named `port_name` (else the one in variable `env_port`), its environment.
        """
        graph = deployment["spec"]["predictors"][0]["graph"]["name"]
        for pod in self._pods(deployment["metadata"]["name"]):
            if (pod.get("status") or {}).get("phase") != "Running":
                continue
            container = next((c for c in pod["spec"]["containers"] if c["name"] == graph), None)
            if container is None:
                continue
            env = {e["name"]: e.get("value", "") for e in container.get("env") or []}
            port = next((p["containerPort"] for p in container.get("ports") or []
                         if p.get("name") == port_name), env.get(env_port))
            if port:
                return pod["metadata"]["name"], port, env
        return None

    def _pod_proxy(self, pod: str, port: int | str, path: str) -> str:
        return f"{self.api}/api/v1/namespaces/{self.namespace}/pods/{pod}:{port}/proxy{path}"

    def server_url(self, deployment: dict[str, Any]) -> str | None:
        """The model server container's `http` port, through the pod proxy."""
        found = self._model_server(deployment, HTTP_PORT_NAME, "MLSERVER_HTTP_PORT")
        return self._pod_proxy(found[0], found[1], "/v2") if found else None

    def metrics_url(self, deployment: dict[str, Any]) -> str | None:
        """The `metrics` port of the model server's container in a running pod, at the
        endpoint the operator set (MLSERVER_METRICS_ENDPOINT), through the pod proxy.
        """
        found = self._model_server(deployment, METRICS_PORT_NAME, "MLSERVER_METRICS_PORT")
        if found is None:
            return None
        pod, port, env = found
        return self._pod_proxy(pod, port, env.get("MLSERVER_METRICS_ENDPOINT") or "/metrics")

    def failure(self, deployment: dict[str, Any]) -> str:
        """The operator's description, then per pod its storage initializer: the arguments
        it was given, how it ended (or why it waits) and its last log lines.
        """
        said = [super().failure(deployment)]
        for pod in self._pods(deployment["metadata"]["name"]):
            name = pod["metadata"]["name"]
            args = {c["name"]: c.get("args") or [] for c in pod["spec"].get("initContainers") or []}
            for status in (pod.get("status") or {}).get("initContainerStatuses") or []:
                if not status["name"].endswith(INITIALIZER_SUFFIX):
                    continue
                ended = (status.get("state") or {}).get("terminated") or \
                    (status.get("lastState") or {}).get("terminated") or {}
                waiting = ((status.get("state") or {}).get("waiting") or {}).get("reason", "")
                said.append(
                    f"pod {name}: {status['name']} {' '.join(args.get(status['name'], []))}"
                    f" exited {ended.get('exitCode', '?')}"
                    f"{f' ({waiting})' if waiting else ''}: "
                    f"{ended.get('message') or self._log(name, status)}")
        return "; ".join(part for part in said if part)

    def _log(self, pod: str, status: dict[str, Any]) -> str:
        previous = "true" if status.get("restartCount") else "false"
        response = requests.get(
            f"{self.api}/api/v1/namespaces/{self.namespace}/pods/{quote(pod)}/log",
            params={"container": status["name"], "previous": previous,
                    "tailLines": str(LOG_LINES)}, timeout=_TIMEOUT_S)
        if response.status_code != 200:
            return f"(no log: HTTP {response.status_code})"
        return " | ".join(line for line in response.text.splitlines() if line.strip())
