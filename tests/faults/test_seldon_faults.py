"""Faults of Seldon model serving.

- A deployment that serves another model than the registered one. The check registers its
  model in MLflow and deploys it from MLflow's artifact store; the fault swaps the model's file
  in that store, as soon as it lands, for another model's file of the same signature: the
  deployment comes up Available and serves, but other predictions.
- A control plane that forgets a deleted deployment but leaves its model server running: the
  API answers the delete and no longer lists the deployment, but the server still listens.
- A failed deployment whose status says only the operator's "no longer progressing": no
  reason naming the model that could not be fetched.
- Metrics that do not count: the deployment's metrics page answers what it said first.
"""

from __future__ import annotations

import http.server
import os
import re
import threading
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from harness.httpjson import send_json
from harness.launchers.base import free_port
from tests.faults.conftest import Started, started
from tests.faults.framework import Verdict, assert_caught, broken_copy, run_check, write_stack

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.faults, pytest.mark.integration]
POLL_S = 0.05  # the swap must land before the storage initializer copies the model


@pytest.fixture(scope="module")
def seldon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """The defaults scenario's Seldon control plane and the MLflow it deploys models from."""
    with started(tmp_path_factory.mktemp("seldon"), {"seldon"}) as stack:
        yield stack


def other_model(directory: Path) -> Path:
    """An MLflow model of the check's signature that predicts the opposite class: its file."""
    import mlflow.sklearn
    import pandas as pd
    import yaml
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    raw, labels = make_classification(n_samples=120, n_features=4, random_state=11)
    features = pd.DataFrame(raw, columns=["f0", "f1", "f2", "f3"])
    model = LogisticRegression(max_iter=200).fit(features, 1 - labels)
    path = directory / "other-model"
    mlflow.sklearn.save_model(model, str(path))
    flavor = yaml.safe_load((path / "MLmodel").read_text(encoding="utf-8"))["flavors"]["sklearn"]
    return path / str(flavor["pickled_model"])


class Swapper:
    """Replaces every new file named like `replacement` under `store` with `replacement`."""

    def __init__(self, store: Path, replacement: Path) -> None:
        self.store, self.replacement = store, replacement
        self.swapped: list[Path] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        content = self.replacement.read_bytes()
        while not self._stop.wait(POLL_S):
            for found in self.store.rglob(self.replacement.name):
                if found in self.swapped:
                    continue
                staged = found.with_name(f".{found.name}.swap")
                staged.write_bytes(content)
                # Atomic: a reader sees the whole other model, never a mix of the two.
                os.replace(staged, found)
                self.swapped.append(found)

    def __enter__(self) -> Swapper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_deployment_serving_another_model(seldon: Started, tmp_path: Path) -> None:
    store = Path(seldon.stack.tools["mlflow"].expect["artifact_destination"])
    assert store.is_dir(), store
    with Swapper(store, other_model(tmp_path)) as swapper:
        verdict = run_check(seldon.stack_file, keyword="predictions_match")
    assert swapper.swapped, f"no model file appeared in {store}"
    assert_caught(verdict, "seldon.predict-v2:other-model-served", "seldon.predict-v2",
                  says=("served predictions", "the local model's", "differ"))


_ONE = re.compile(r"/seldondeployments/(?P<name>[^/?]+)$")


class ControlPlaneProxy:
    """An HTTP proxy in front of the real control plane, for a fault to change what it does:
    `intercept` may answer a request itself, `rewrite` changes each deployment it answers with.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                one = _ONE.search(self.path.split("?", 1)[0])
                if (own := proxy.intercept(self.command, one["name"] if one else None)):
                    send_json(self, HTTPStatus(own[0]), own[1])
                    return
                length = int(self.headers.get("Content-Length") or 0)
                answer = requests.request(
                    self.command, proxy.upstream + self.path, timeout=60,
                    data=self.rfile.read(length) if length else None,
                    headers={"Content-Type": self.headers.get("Content-Type", "")})
                body = answer.json()
                if isinstance(body, dict) and isinstance(body.get("items"), list):
                    shown = (proxy.rewrite(item) for item in body["items"])
                    body["items"] = [item for item in shown if item is not None]
                elif isinstance(body, dict) and body.get("kind") == "SeldonDeployment":
                    body = proxy.rewrite(body)
                send_json(self, HTTPStatus(answer.status_code), body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:
                """Log nothing."""

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def intercept(self, command: str, name: str | None) -> tuple[int, object] | None:
        """An answer of the proxy's own to `command` on deployment `name`, or None."""
        return None

    def rewrite(self, deployment: dict[str, Any]) -> dict[str, Any] | None:
        """The deployment as the fault shows it; None hides it from lists."""
        return deployment

    def __enter__(self) -> ControlPlaneProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class ForgetfulControlPlane(ControlPlaneProxy):
    """Answers a deployment's DELETE as done and from then on hides the deployment (404, left
    out of lists) without passing the DELETE on: the deployment's model server keeps running.
    """

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.forgotten = set[str]()

    def intercept(self, command: str, name: str | None) -> tuple[int, object] | None:
        """DELETE is answered and remembered; a forgotten deployment is not found."""
        if command == "DELETE" and name:
            self.forgotten.add(name)
            return 200, {"kind": "Status", "status": "Success", "code": 200}
        if name in self.forgotten:
            return 404, {"kind": "Status", "status": "Failure", "code": 404}
        return None

    def rewrite(self, deployment: dict[str, Any]) -> dict[str, Any] | None:
        """Forgotten deployments are left out."""
        return None if deployment["metadata"]["name"] in self.forgotten else deployment


class SilentControlPlane(ControlPlaneProxy):
    """Says only the operator's own words about a failed deployment: no container's reason."""

    def rewrite(self, deployment: dict[str, Any]) -> dict[str, Any] | None:
        """A Failed deployment's description, cut to the operator's sentence."""
        status = deployment.get("status") or {}
        if status.get("state") == "Failed":
            status["description"] = "Deployment is no longer progressing and not available."
        return deployment


class FrozenMetrics(ControlPlaneProxy):
    """Points each deployment's metrics at a page that no longer counts: what the model
    server's metrics said when first read, served again and again.
    """

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.snapshots: dict[str, str] = {}
        frozen = self

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = frozen.snapshots.get(self.path.lstrip("/"), "").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Log nothing."""

        self.pages = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
        threading.Thread(target=self.pages.serve_forever, daemon=True).start()

    def rewrite(self, deployment: dict[str, Any]) -> dict[str, Any] | None:
        """`status.localMetrics` moved to the frozen page of its first reading, once the
        model server answers (Available).
        """
        status = deployment.get("status") or {}
        name = deployment["metadata"]["name"]
        if status.get("localMetrics") and status.get("state") == "Available":
            if name not in self.snapshots:
                self.snapshots[name] = requests.get(status["localMetrics"], timeout=10).text
            status["localMetrics"] = f"http://127.0.0.1:{self.pages.server_port}/{name}"
        return deployment

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        self.pages.shutdown()
        self.pages.server_close()


def through(seldon: Started, proxy: ControlPlaneProxy, keyword: str, label: str) -> Verdict:
    """The verdict of the checks matching `keyword` with `proxy` in front of the control
    plane; every deployment they left is deleted from the real one afterwards.
    """
    api = seldon.stack.tools["seldon"].endpoints["api"]
    broken = broken_copy(seldon.stack)
    with proxy:
        broken.tools["seldon"].endpoints["api"] = proxy.url
        verdict = run_check(write_stack(broken, seldon.directory, label), keyword=keyword)
    collection = f"{api}/apis/machinelearning.seldon.io/v1/namespaces/" \
        f"{seldon.stack.tools['seldon'].expect['namespace']}/seldondeployments"
    for item in requests.get(collection, timeout=10).json()["items"]:
        assert requests.delete(f"{collection}/{item['metadata']['name']}",
                               timeout=60).status_code == 200
    return verdict


def test_deleted_deployment_whose_server_keeps_running(seldon: Started) -> None:
    plane = ForgetfulControlPlane(seldon.stack.tools["seldon"].endpoints["api"])
    verdict = through(seldon, plane, "undeploy", "forgetful")
    assert plane.forgotten, "the check never deleted its deployment"
    assert_caught(verdict, "seldon.undeploy:server-left-running", "seldon.undeploy",
                  says=("stop serving", "still serving at"))


def test_failed_deployment_that_does_not_say_why(seldon: Started) -> None:
    # What the operator's status alone says on a cluster: the check must find the reason
    # (there, in the storage initializer), not accept a Failed state without one.
    verdict = through(seldon, SilentControlPlane(seldon.stack.tools["seldon"].endpoints["api"]),
                      "missing_model", "silent")
    assert_caught(verdict, "seldon.missing-model:no-reason", "seldon.missing-model",
                  says=("the failure to name", "no longer progressing"))


def test_metrics_that_do_not_count(seldon: Started) -> None:
    plane = FrozenMetrics(seldon.stack.tools["seldon"].endpoints["api"])
    verdict = through(seldon, plane, "metrics_count", "frozen-metrics")
    assert plane.snapshots, "the check never read the deployment's metrics"
    assert_caught(verdict, "seldon.metrics:not-counting", "seldon.metrics",
                  says=("successful inferences counted by the model server's metrics",))
