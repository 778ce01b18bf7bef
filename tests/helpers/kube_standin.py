"""A stand-in for the parts of a Kubernetes API server the cluster target uses so far:
`/version`, the core group's discovery, the StorageClass list, SelfSubjectAccessReviews,
listing (by label selector) and deleting namespaces; any further object a test puts in
`objects` by its path (a list filtered by label selector; a string is answered as text, as a
pod's log is); and a kubeconfig pointing at it.

It answers as a real API server does on those paths (the same JSON shapes the `kubernetes`
client deserializes; a 404 `Status` elsewhere). No cluster can run on our machines.
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import yaml

from harness.httpjson import send_json

if TYPE_CHECKING:
    from pathlib import Path


def _resource(name: str, kind: str, short: list[str], namespaced: bool = True) -> dict[str, Any]:
    return {"name": name, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
            "verbs": ["get", "list", "create", "delete"], "shortNames": short}


# Legacy discovery (kubectl falls back to it from aggregated discovery): the core group only.
_DISCOVERY: dict[str, Any] = {
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
        {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        _resource("namespaces", "Namespace", ["ns"], namespaced=False),
        _resource("pods", "Pod", ["po"]), _resource("services", "Service", ["svc"]),
        _resource("secrets", "Secret", [])]},
}


@dataclass
class ApiServerStandIn:
    """What the stand-in answers: server version, StorageClasses, allowed (verb, resource)."""

    minor: str = "30"
    storage_classes: list[tuple[str, bool]] = field(default_factory=lambda: [("standard", True)])
    denied: set[tuple[str, str]] = field(default_factory=set)
    namespaces: list[dict[str, Any]] = field(default_factory=list)
    objects: dict[str, Any] = field(default_factory=dict)  # GET path -> body
    requests: list[str] = field(default_factory=list)

    def answer(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
        """The status and JSON body for one request."""
        self.requests.append(f"{method} {path}")
        query = parse_qs(urlsplit(path).query)
        path = path.split("?", 1)[0].rstrip("/")
        if method == "GET" and path == "/version":
            return 200, {"major": "1", "minor": self.minor, "gitVersion": f"v1.{self.minor}.2",
                         "gitCommit": "0" * 40, "gitTreeState": "clean",
                         "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
                         "compiler": "gc", "platform": "linux/amd64"}
        if method == "GET" and path in _DISCOVERY:  # what kubectl reads to map `service/x`
            return 200, _DISCOVERY[path]
        if method == "GET" and path == "/apis/storage.k8s.io/v1/storageclasses":
            items = [{"metadata": {"name": name, "annotations": {
                "storageclass.kubernetes.io/is-default-class": str(default).lower()}},
                "provisioner": "k8s.io/minikube-hostpath"}
                for name, default in self.storage_classes]
            return 200, {"kind": "StorageClassList", "apiVersion": "storage.k8s.io/v1",
                         "metadata": {}, "items": items}
        if method == "POST" and path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
            assert body is not None
            attributes = body["spec"]["resourceAttributes"]
            allowed = (attributes["verb"], attributes["resource"]) not in self.denied
            return 201, {**body, "status": {"allowed": allowed}}
        if method == "GET" and path == "/api/v1/namespaces":
            wanted = dict(term.split("=", 1) for selector in query.get("labelSelector", [])
                          for term in selector.split(",") if term)
            items = [ns for ns in self.namespaces
                     if wanted.items() <= (ns["metadata"].get("labels") or {}).items()]
            return 200, {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {},
                         "items": items}
        if method == "GET" and path in self.objects:
            found = self.objects[path]
            if isinstance(found, dict) and isinstance(found.get("items"), list):
                wanted = dict(term.split("=", 1) for selector in query.get("labelSelector", [])
                              for term in selector.split(",") if term)
                found = {**found, "items": [
                    item for item in found["items"]
                    if wanted.items() <= (item["metadata"].get("labels") or {}).items()]}
            return 200, found
        if method == "DELETE" and path.startswith("/api/v1/namespaces/"):
            name = path.rsplit("/", 1)[1]
            for ns in self.namespaces:
                if ns["metadata"]["name"] == name:
                    ns["status"] = {"phase": "Terminating"}
                    return 200, ns
        return 404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                     "reason": "NotFound", "code": 404}

    def serve(self) -> tuple[http.server.ThreadingHTTPServer, str]:
        """Start serving on a free loopback port: (server, its URL)."""
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, answer = standin.answer(self.command, self.path, body)
                if isinstance(answer, str):
                    payload = answer.encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                send_json(self, HTTPStatus(status), answer)

            do_GET = do_POST = do_DELETE = _reply

            def log_message(self, format: str, *args: object) -> None:
                """Log nothing."""

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_port}"


def write_kubeconfig(path: Path, contexts: dict[str, str], current: str | None = None) -> Path:
    """A kubeconfig with one context per `{name: server URL}`, token-authenticated."""
    doc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": n, "cluster": {"server": url}} for n, url in contexts.items()],
        "users": [{"name": "tester", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "tester"}}
                     for n in contexts],
        "current-context": current or next(iter(contexts)),
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path
