"""Faults of Seldon model serving.

- A deployment that serves another model than the registered one. The check registers its
  model in MLflow and deploys it from MLflow's artifact store; the fault swaps the model's file
  in that store, as soon as it lands, for another model's file of the same signature: the
  deployment comes up Available and serves, but other predictions.
- A control plane that forgets a deleted deployment but leaves its model server running: the
  API answers the delete and no longer lists the deployment, but the server still listens.
"""

from __future__ import annotations

import http.server
import os
import re
import threading
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from harness.httpjson import send_json
from harness.launchers.base import free_port
from tests.faults.conftest import Started, started
from tests.faults.framework import assert_caught, broken_copy, run_check, write_stack

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


class ForgetfulControlPlane:
    """An HTTP proxy in front of the real control plane that answers a deployment's DELETE as
    done and from then on hides the deployment (404, left out of lists) without passing the
    DELETE on: the deployment's model server keeps running.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream, self.forgotten = upstream.rstrip("/"), set[str]()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                path = self.path.split("?", 1)[0]
                one = _ONE.search(path)
                if self.command == "DELETE" and one:
                    proxy.forgotten.add(one["name"])
                    self._send(200, {"kind": "Status", "status": "Success", "code": 200})
                    return
                if one and one["name"] in proxy.forgotten:
                    self._send(404, {"kind": "Status", "status": "Failure", "code": 404})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                answer = requests.request(
                    self.command, proxy.upstream + self.path, timeout=60,
                    data=self.rfile.read(length) if length else None,
                    headers={"Content-Type": self.headers.get("Content-Type", "")})
                body = answer.json()
                if isinstance(body, dict) and isinstance(body.get("items"), list):
                    body["items"] = [item for item in body["items"]
                                     if item["metadata"]["name"] not in proxy.forgotten]
                self._send(answer.status_code, body)

            def _send(self, code: int, body: object) -> None:
                send_json(self, HTTPStatus(code), body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:
                """Log nothing."""

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> ForgetfulControlPlane:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_deleted_deployment_whose_server_keeps_running(seldon: Started) -> None:
    api = seldon.stack.tools["seldon"].endpoints["api"]
    broken = broken_copy(seldon.stack)
    with ForgetfulControlPlane(api) as plane:
        broken.tools["seldon"].endpoints["api"] = plane.url
        verdict = run_check(write_stack(broken, seldon.directory, "forgetful"),
                            keyword="undeploy")
    assert plane.forgotten, "the check never deleted its deployment"
    # The real control plane still has it: delete it there, so the stack is as it was.
    collection = f"{api}/apis/machinelearning.seldon.io/v1/namespaces/" \
        f"{seldon.stack.tools['seldon'].expect['namespace']}/seldondeployments"
    for name in plane.forgotten:
        assert requests.delete(f"{collection}/{name}", timeout=60).status_code == 200
    assert_caught(verdict, "seldon.undeploy:server-left-running", "seldon.undeploy",
                  says=("stop serving", "still serving at"))
