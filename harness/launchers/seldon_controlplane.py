"""Local stand-in for the cluster API + Seldon operator: SeldonDeployments served by MLServer.

It speaks the Kubernetes REST shape for `machinelearning.seldon.io/v1` SeldonDeployments
(create, get, list, delete under `/apis/.../namespaces/NS/seldondeployments`), so checks that
deploy through it work unchanged against a cluster. Like the operator, it fetches each model
with the storage initializer (`rclone copy MODEL_URI /mnt/models`, a `pvc://CLAIM/PATH` read
from the claim's directory) and serves the copy. Run as
`python -m harness.launchers.seldon_controlplane --port P --python ENV_PYTHON --rclone RCLONE ...`.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.httpjson import send_json
from harness.launchers._mlserver import ModelServer
from harness.launchers._storage_initializer import Initializer

GROUP_VERSION = "machinelearning.seldon.io/v1"
_PATH = re.compile(r"^/apis/machinelearning\.seldon\.io/v1/namespaces/([a-z0-9-]+)"
                   r"/seldondeployments(?:/([a-z0-9.-]+))?/?$")
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_VERSION_PACKAGES = ("mlserver", "mlserver-mlflow", "mlflow", "scikit-learn")


class InvalidDeploymentError(ValueError):
    """The SeldonDeployment is not one this operator serves; the message says why."""


class ControlPlane:
    """Deployments by (namespace, name), each with its model server."""

    def __init__(self, python: Path, initializer: Initializer, state_dir: Path,
                 ready_timeout_s: float) -> None:
        self.python, self.state_dir = python, state_dir
        self.initializer = initializer
        # A pod gets no MLflow tracking server: the model comes from /mnt/models only.
        self.environment: dict[str, str] = {}
        self.ready_timeout_s = ready_timeout_s
        self.objects: dict[tuple[str, str], tuple[dict[str, Any], ModelServer]] = {}
        self.lock = threading.Lock()
        self.versions = {**_package_versions(python), "rclone": initializer.version()}

    def create(self, namespace: str, body: Any) -> dict[str, Any]:
        """Validate and store `body`, start its model server; return the object with status."""
        name, graph = _validate(body)
        server = ModelServer(model_name=graph["name"], model_uri=graph["modelUri"],
                             directory=self.state_dir / namespace / name,
                             initializer=self.initializer)
        with self.lock:
            if (namespace, name) in self.objects:
                raise FileExistsError(name)
            self.objects[namespace, name] = (body, server)
        server.start(self.python, self.environment, self.ready_timeout_s)
        return self.render(namespace, name)

    def render(self, namespace: str, name: str) -> dict[str, Any]:
        """The stored object with its current status (KeyError if there is none)."""
        body, server = self.objects[namespace, name]
        metadata = {**body.get("metadata", {}), "namespace": namespace}
        return {**body, "metadata": metadata, "status": server.status()}

    def list(self, namespace: str) -> list[dict[str, Any]]:
        """Every object in `namespace`, with its status."""
        with self.lock:
            names = [n for ns, n in self.objects if ns == namespace]
            return [self.render(namespace, n) for n in names]

    def delete(self, namespace: str, name: str) -> None:
        """Stop the model server and forget the object (KeyError if there is none)."""
        with self.lock:
            _, server = self.objects.pop((namespace, name))
        server.stop()

    def shutdown(self) -> None:
        """Stop every model server."""
        with self.lock:
            servers = [server for _, server in self.objects.values()]
            self.objects.clear()
        for server in servers:
            server.stop()


def _validate(body: Any) -> tuple[str, dict[str, Any]]:
    """Return the name and graph of a SeldonDeployment this operator serves, else raise."""
    if not isinstance(body, dict):
        raise InvalidDeploymentError("the body must be a SeldonDeployment object")
    if body.get("apiVersion") != GROUP_VERSION or body.get("kind") != "SeldonDeployment":
        raise InvalidDeploymentError(f"expected apiVersion {GROUP_VERSION}, kind SeldonDeployment")
    name = str(body.get("metadata", {}).get("name", ""))
    if not _DNS_NAME.match(name):
        raise InvalidDeploymentError(f"metadata.name {name!r} is not a DNS-1123 label")
    spec = body.get("spec", {})
    if spec.get("protocol") != "v2":
        raise InvalidDeploymentError(f"spec.protocol {spec.get('protocol')!r}: only 'v2' is served")
    predictors = spec.get("predictors", [])
    if len(predictors) != 1:
        raise InvalidDeploymentError("spec.predictors: exactly one predictor is served")
    graph = predictors[0].get("graph", {})
    if graph.get("implementation") != "MLFLOW_SERVER" or graph.get("children"):
        raise InvalidDeploymentError("graph: one MLFLOW_SERVER node without children is served")
    if not graph.get("name") or not graph.get("modelUri"):
        raise InvalidDeploymentError("graph: `name` and `modelUri` are required")
    return name, graph


def _package_versions(python: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, platform, sys; print(json.dumps("
            "{'python': platform.python_version(), **{p: m.version(p) for p in sys.argv[1:]}}))")
    done = subprocess.run([str(python), "-c", code, *_VERSION_PACKAGES], capture_output=True,
                          text=True, check=True, timeout=60)
    versions: dict[str, str] = json.loads(done.stdout)
    return versions


def _status(code: HTTPStatus, message: str) -> dict[str, Any]:
    # A Kubernetes `Status` object, as the API server answers errors.
    return {"apiVersion": "v1", "kind": "Status", "status": "Failure", "message": message,
            "reason": code.phrase.replace(" ", ""), "code": int(code)}


class _Handler(BaseHTTPRequestHandler):
    plane: ControlPlane

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(HTTPStatus.OK, {"status": "ok"})
            return
        if self.path == "/version":
            self._send(HTTPStatus.OK, self.plane.versions)
            return
        route = self._route()
        if route is None:
            return
        namespace, name = route
        if name is None:
            self._send(HTTPStatus.OK, {"apiVersion": GROUP_VERSION,
                                       "kind": "SeldonDeploymentList",
                                       "items": self.plane.list(namespace)})
            return
        try:
            self._send(HTTPStatus.OK, self.plane.render(namespace, name))
        except KeyError:
            self._not_found(name)

    def do_POST(self) -> None:
        route = self._route()
        if route is None:
            return
        try:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"null")
            self._send(HTTPStatus.CREATED, self.plane.create(route[0], body))
        except (InvalidDeploymentError, json.JSONDecodeError) as exc:
            self._send(HTTPStatus.UNPROCESSABLE_ENTITY,
                       _status(HTTPStatus.UNPROCESSABLE_ENTITY, f"invalid: {exc}"))
        except FileExistsError as exc:
            self._send(HTTPStatus.CONFLICT,
                       _status(HTTPStatus.CONFLICT, f"seldondeployment {exc} already exists"))

    def do_DELETE(self) -> None:
        route = self._route()
        if route is None or route[1] is None:
            return
        try:
            self.plane.delete(route[0], route[1])
        except KeyError:
            self._not_found(route[1])
            return
        self._send(HTTPStatus.OK, {**_status(HTTPStatus.OK, "deleted"), "status": "Success"})

    def _route(self) -> tuple[str, str | None] | None:
        match = _PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._send(HTTPStatus.NOT_FOUND, _status(HTTPStatus.NOT_FOUND, f"no route {self.path}"))
            return None
        return match.group(1), match.group(2)

    def _not_found(self, name: str) -> None:
        message = f'seldondeployments "{name}" not found'
        self._send(HTTPStatus.NOT_FOUND, _status(HTTPStatus.NOT_FOUND, message))

    def _send(self, code: HTTPStatus, document: dict[str, Any]) -> None:
        send_json(self, code, document)


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM/SIGINT, then stop every model server before exiting."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--python", type=Path, required=True, help="MLServer env's interpreter")
    parser.add_argument("--rclone", type=Path, required=True, help="the initializer's rclone")
    parser.add_argument("--claim", action="append", default=[], metavar="NAME=DIR",
                        help="a persistent volume claim pvc://NAME/... reads, as a directory")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--ready-timeout-s", type=float, default=300.0)
    args = parser.parse_args(argv)
    claims = dict(claim.split("=", 1) for claim in args.claim)
    initializer = Initializer(args.rclone, {k: Path(v) for k, v in claims.items()})
    plane = ControlPlane(args.python, initializer, args.state_dir, args.ready_timeout_s)
    handler = type("Handler", (_Handler,), {"plane": plane})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True

    def stop(_signum: int, _frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        plane.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
