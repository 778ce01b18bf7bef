"""MLflow's canaries, through its REST API (stable across the versions an upgrade spans): an
experiment with a tag; two runs with params, a metric history, tags, a status and an
artifact; a registered model with two versions, an alias and a stage.
"""

from __future__ import annotations

import time
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from harness.stack import Stack

_API = "/api/2.0/mlflow"
_ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
_LOSS = (0.9, 0.5, 0.3, 0.2)  # the metric history: one value per step
_TIMEOUT_S = 30


class _Gone(Exception):
    """The object does not exist (any more): its readings are left out, and count as lost."""


class MlflowCanaries:
    """Writes and reads MLflow's canaries at the tracking endpoint."""

    TOOL = "mlflow"
    why_none = ""  # it always writes some, or fails saying why

    def __init__(self) -> None:
        self.experiment_id = ""
        self.runs: dict[str, str] = {}  # run id -> its artifact path in the store
        self.model = ""

    def write(self, stack: Stack, label: str) -> dict[str, Any]:
        """Create the canaries; return the readings they must give back."""
        url = stack.tools[self.TOOL].endpoints["tracking"]
        expected: dict[str, Any] = {}
        experiment = f"canary-{label}"
        self.experiment_id = _post(url, "experiments/create", {
            "name": experiment, "tags": [{"key": "purpose", "value": "upgrade canary"}],
        })["experiment_id"]
        expected[f"experiment {experiment} name"] = experiment
        expected[f"experiment {experiment} tag purpose"] = "upgrade canary"
        for index in range(2):
            run = _post(url, "runs/create", {
                "experiment_id": self.experiment_id, "run_name": f"canary-run-{index}",
                "start_time": int(time.time() * 1000),
            })["run"]["info"]
            run_id = run["run_id"]
            now = int(time.time() * 1000)
            _post(url, "runs/log-batch", {
                "run_id": run_id,
                "params": [{"key": "alpha", "value": str(0.1 * (index + 1))}],
                "metrics": [{"key": "loss", "value": value + index, "timestamp": now,
                             "step": step} for step, value in enumerate(_LOSS)],
                "tags": [{"key": "team", "value": f"canary-{index}"}],
            })
            status = "FINISHED" if index == 0 else "FAILED"
            _post(url, "runs/update", {"run_id": run_id, "status": status, "end_time": now})
            path = _artifact_path(run["artifact_uri"]) + "/canary.txt"
            body = f"canary artifact of {run_id}"
            _check(requests.put(f"{url}{_ARTIFACTS}/{path}", data=body.encode(),
                                timeout=_TIMEOUT_S))
            self.runs[run_id] = path
            expected[f"run {run_id} name"] = f"canary-run-{index}"
            expected[f"run {run_id} status"] = status
            expected[f"run {run_id} param alpha"] = str(0.1 * (index + 1))
            expected[f"run {run_id} tag team"] = f"canary-{index}"
            for step, value in enumerate(_LOSS):
                expected[f"run {run_id} metric loss@step {step}"] = value + index
            expected[f"run {run_id} artifact canary.txt"] = body
        self.model = f"canary-model-{label}"
        _post(url, "registered-models/create", {"name": self.model})
        for run_id in self.runs:
            version = _post(url, "model-versions/create", {
                "name": self.model, "run_id": run_id,
                "source": f"runs:/{run_id}/model"})["model_version"]["version"]
            expected[f"model {self.model} version {version} run"] = run_id
        _post(url, "registered-models/alias", {"name": self.model, "alias": "champion",
                                               "version": "2"})
        expected[f"model {self.model} alias champion"] = "2"
        _post(url, "model-versions/transition-stage", {
            "name": self.model, "version": "1", "stage": "Staging",
            "archive_existing_versions": False})
        expected[f"model {self.model} version 1 stage"] = "Staging"
        return expected

    def read(self, stack: Stack) -> dict[str, Any]:
        """Read every canary again; an object that is gone leaves its readings out."""
        url = stack.tools[self.TOOL].endpoints["tracking"]
        found: dict[str, Any] = {}
        with suppress(_Gone):
            experiment = _get(url, "experiments/get",
                              {"experiment_id": self.experiment_id})["experiment"]
            name = experiment["name"]
            found[f"experiment {name} name"] = name
            for tag in experiment.get("tags", []):
                found[f"experiment {name} tag {tag['key']}"] = tag["value"]
        for run_id, path in self.runs.items():
            with suppress(_Gone):
                found.update(_read_run(url, run_id))
            with suppress(_Gone):
                response = requests.get(f"{url}{_ARTIFACTS}/{path}", timeout=_TIMEOUT_S)
                _check(response)
                found[f"run {run_id} artifact canary.txt"] = response.text
        for version in ("1", "2"):
            with suppress(_Gone):
                model_version = _get(url, "model-versions/get",
                                     {"name": self.model, "version": version})["model_version"]
                found[f"model {self.model} version {version} run"] = model_version["run_id"]
                if model_version.get("current_stage", "None") != "None":
                    found[f"model {self.model} version {version} stage"] = \
                        model_version["current_stage"]
        with suppress(_Gone):
            aliased = _get(url, "registered-models/alias",
                           {"name": self.model, "alias": "champion"})["model_version"]
            found[f"model {self.model} alias champion"] = aliased["version"]
        return found


def _read_run(url: str, run_id: str) -> dict[str, Any]:
    run = _get(url, "runs/get", {"run_id": run_id})["run"]
    info, data = run["info"], run.get("data", {})
    found: dict[str, Any] = {}
    if info.get("lifecycle_stage") == "deleted":
        return found
    found[f"run {run_id} name"] = info.get("run_name")
    found[f"run {run_id} status"] = info.get("status")
    for param in data.get("params", []):
        found[f"run {run_id} param {param['key']}"] = param["value"]
    for tag in data.get("tags", []):
        if not tag["key"].startswith("mlflow."):
            found[f"run {run_id} tag {tag['key']}"] = tag["value"]
    history = _get(url, "metrics/get-history", {"run_id": run_id, "metric_key": "loss"})
    for metric in history.get("metrics", []):
        found[f"run {run_id} metric loss@step {metric.get('step', 0)}"] = metric["value"]
    return found


def _artifact_path(artifact_uri: str) -> str:
    """`mlflow-artifacts:/1/abc/artifacts` (or with a host) -> `1/abc/artifacts`."""
    rest = artifact_uri.split(":", 1)[1].lstrip("/")
    return rest.split("/", 1)[1] if artifact_uri.startswith("mlflow-artifacts://") else rest


def _check(response: requests.Response) -> None:
    """Raise `_Gone` for an object that does not exist; raise on any other error, quoting it."""
    if response.ok:
        return
    try:
        error = response.json()
    except ValueError:
        error = {}
    code, message = str(error.get("error_code", "")), str(error.get("message", ""))
    # A missing object: 404 RESOURCE_DOES_NOT_EXIST; an unknown alias is reported by some
    # versions as 400 INVALID_PARAMETER_VALUE "... not found".
    if response.status_code == 404 or code == "RESOURCE_DOES_NOT_EXIST" or (
            code == "INVALID_PARAMETER_VALUE" and "not found" in message.lower()):
        raise _Gone(message or response.text[:200])
    msg = f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}"
    raise requests.HTTPError(msg, response=response)


def _post(url: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{url}{_API}/{method}", json=body, timeout=_TIMEOUT_S)
    _check(response)
    result: dict[str, Any] = response.json()
    return result


def _get(url: str, method: str, params: dict[str, str]) -> dict[str, Any]:
    response = requests.get(f"{url}{_API}/{method}", params=params, timeout=_TIMEOUT_S)
    _check(response)
    result: dict[str, Any] = response.json()
    return result

