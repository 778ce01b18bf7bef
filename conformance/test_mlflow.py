"""MLflow: tracking (experiments, params, metrics, tags, artifacts) and the model registry."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import numpy as np
import pytest
import requests

from harness.checks import expect, expect_equal
from harness.versioning import expect_versions

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mlflow import MlflowClient

    from harness.stack import Stack

pytestmark = pytest.mark.mlflow
# The checks this module runs; collection fails unless they match its checks exactly.
CHECK_IDS = (
    "mlflow.health",
    "mlflow.experiment",
    "mlflow.log-run",
    "mlflow.artifact-roundtrip",
    "mlflow.model-registry",
    "mlflow.search-runs",
)


@pytest.fixture(scope="module")
def tracking_uri(stack: Stack) -> str:
    """The tracking server's URL."""
    return stack.tools["mlflow"].endpoints["tracking"]


@pytest.fixture(scope="module")
def client(tracking_uri: str) -> MlflowClient:
    """An MLflow client bound to the stack's tracking server."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.MlflowClient(tracking_uri)


@pytest.fixture(scope="module")
def experiment_id(client: MlflowClient) -> str:
    """A fresh experiment for this session's checks."""
    return client.create_experiment(f"conformance-{uuid.uuid4().hex[:10]}")


@pytest.mark.check("mlflow.health")
def test_health_and_version(
    stack: Stack, tracking_uri: str, record_version: Callable[[str, str, str], None]
) -> None:
    """The server answers its health and version endpoints; the version it reports is the one
    the target says it runs, and of the client library's series.
    """
    health = requests.get(f"{tracking_uri}/health", timeout=10)
    expect_equal("mlflow", "GET /health status", 200, health.status_code)
    version = requests.get(f"{tracking_uri}/version", timeout=10)
    expect_equal("mlflow", "GET /version status", 200, version.status_code)
    reported = version.text.strip()
    expect("mlflow", reported[:1].isdigit(), "a version number from /version", reported)
    import mlflow

    record_version("mlflow", "client", mlflow.__version__)
    record_version("mlflow", "server", reported)
    expect_versions("mlflow", "server's /version", reported,
                    claimed=stack.tools["mlflow"].versions.get("server"), client=mlflow.__version__)


@pytest.mark.check("mlflow.experiment")
def test_create_experiment(client: MlflowClient) -> None:
    """An experiment created through the API is found by name with the same id and tags."""
    name = f"conformance-exp-{uuid.uuid4().hex[:10]}"
    created = client.create_experiment(name, tags={"suite": "conformance"})
    found = client.get_experiment_by_name(name)
    expect("mlflow", found is not None, f"experiment {name!r} to be found by name")
    assert found is not None
    expect_equal("mlflow", "experiment id", created, found.experiment_id)
    expect_equal("mlflow", "experiment tag suite", "conformance", found.tags.get("suite"))


@pytest.mark.check("mlflow.log-run")
def test_log_run(client: MlflowClient, experiment_id: str) -> None:
    """Params, metrics with steps and tags logged to a run read back identical."""
    run = client.create_run(experiment_id, tags={"team": "platform"})
    run_id = run.info.run_id
    params = {"learning_rate": "0.01", "optimizer": "adam"}
    losses = [0.9, 0.5, 0.25]
    for key, value in params.items():
        client.log_param(run_id, key, value)
    for step, loss in enumerate(losses):
        client.log_metric(run_id, "loss", loss, step=step)
    client.set_tag(run_id, "stage", "conformance")
    client.set_terminated(run_id, "FINISHED")

    stored = client.get_run(run_id)
    expect_equal("mlflow", "params", params, stored.data.params)
    expect_equal("mlflow", "tag stage", "conformance", stored.data.tags.get("stage"))
    expect_equal("mlflow", "tag team", "platform", stored.data.tags.get("team"))
    history = sorted(client.get_metric_history(run_id, "loss"), key=lambda m: m.step)
    expect_equal("mlflow", "loss history (step, value)", list(enumerate(losses)),
                 [(m.step, m.value) for m in history])
    expect_equal("mlflow", "run status", "FINISHED", stored.info.status)


@pytest.mark.check("mlflow.artifact-roundtrip")
def test_artifact_roundtrip(client: MlflowClient, experiment_id: str, tmp_path: Path) -> None:
    """An artifact uploaded through the server downloads byte-identical."""
    run_id = client.create_run(experiment_id).info.run_id
    payload = np.random.default_rng().bytes(256 * 1024)
    source = tmp_path / "upload" / "blob.bin"
    source.parent.mkdir()
    source.write_bytes(payload)
    client.log_artifact(run_id, str(source), artifact_path="data")
    listed = [item.path for item in client.list_artifacts(run_id, "data")]
    expect_equal("mlflow", "artifacts listed under data/", ["data/blob.bin"], listed)
    downloaded = client.download_artifacts(run_id, "data/blob.bin", str(tmp_path))
    with open(downloaded, "rb") as handle:
        expect("mlflow", handle.read() == payload, "downloaded artifact byte-identical to upload")


@pytest.mark.check("mlflow.model-registry")
def test_register_and_load_model(client: MlflowClient, experiment_id: str) -> None:
    """A logged scikit-learn model, registered and aliased, loads by alias and predicts alike."""
    import mlflow
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    features, labels = make_classification(n_samples=200, n_features=4, random_state=7)
    model = LogisticRegression(max_iter=200).fit(features, labels)
    name = f"conformance-model-{uuid.uuid4().hex[:8]}"
    with mlflow.start_run(experiment_id=experiment_id):
        # Explicit requirements skip MLflow's ~10 s requirement inference.
        info = mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
    version = mlflow.register_model(info.model_uri, name)
    client.set_registered_model_alias(name, "champion", version.version)
    aliased = client.get_model_version_by_alias(name, "champion")
    expect_equal("mlflow", f"version behind {name}@champion", version.version, aliased.version)
    loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    expected = model.predict(features)
    actual = np.asarray(loaded.predict(features))
    expect("mlflow", np.array_equal(expected, actual),
           "predictions of the loaded model equal the original's",
           f"{int((expected != actual).sum())} of {len(expected)} differ")


@pytest.mark.check("mlflow.search-runs")
def test_search_finds_run(client: MlflowClient, experiment_id: str) -> None:
    """Searching by a tag finds exactly the run that carries it."""
    marker = uuid.uuid4().hex
    run_id = client.create_run(experiment_id, tags={"marker": marker}).info.run_id
    client.log_metric(run_id, "accuracy", 0.93)
    found = client.search_runs([experiment_id], filter_string=f"tags.marker = '{marker}'")
    expect_equal("mlflow", "runs found by tag", [run_id], [r.info.run_id for r in found])
    better = client.search_runs([experiment_id], filter_string="metrics.accuracy > 0.9")
    expect("mlflow", run_id in {r.info.run_id for r in better},
           "the run found by `metrics.accuracy > 0.9`")
