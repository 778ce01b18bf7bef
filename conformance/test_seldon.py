"""Seldon: MLflow models deployed as SeldonDeployments (MLFLOW_SERVER, V2 protocol) and served.

The same checks on every target: what differs (where a deployment's address, its metrics and
its failure's cause are reached) is `harness.seldon_access`'s.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlparse

import pytest
import requests

from harness.checks import expect, expect_equal
from harness.errors import WaitTimeoutError
from harness.manifests.seldon_deployment import seldon_deployment
from harness.seldon_access import SeldonAccess, access_of, status_address
from harness.versioning import expect_versions
from harness.wait import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import pandas as pd

    from harness.stack import Stack

pytestmark = pytest.mark.seldon
# The checks this module runs; collection fails unless they match its checks exactly.
CHECK_IDS = (
    "seldon.deploy",
    "seldon.predict-v2",
    "seldon.missing-model",
    "seldon.undeploy",
    "seldon.metrics",
)
# A model server's start on a busy two-core machine, or its image's first pull on a cluster.
READY_TIMEOUT_S = 600.0
# How long a deployment whose model cannot be fetched keeps trying before the operator calls
# it Failed (its Deployments' progressDeadlineSeconds): its pods are then crash-looping.
FAILING_DEADLINE_S = 60
DELETED = (200, 202)  # the API server answers 202 while a deletion waits for finalizers


class DeployFunc(Protocol):
    """Creates a SeldonDeployment serving `model_uri`; returns the object the API answered."""

    def __call__(self, name: str, model_uri: str,
                 progress_deadline_s: int | None = None) -> dict[str, Any]:
        """Deploy `model_uri` as SeldonDeployment `name`."""


@dataclass(frozen=True)
class RegisteredModel:
    """A scikit-learn model registered in the stack's MLflow, with data and its predictions.

    `uri` is where Seldon's storage initializer fetches it: its place in the artifact store.
    """

    uri: str
    registered: str
    features: pd.DataFrame
    predictions: list[int]


@pytest.fixture(scope="module")
def access(stack: Stack) -> SeldonAccess:
    """How this target reaches SeldonDeployments and what they create."""
    return access_of(stack)


@pytest.fixture(scope="module")
def collection(access: SeldonAccess) -> str:
    """URL of the SeldonDeployment collection in the namespace models go to."""
    return access.collection


def get_deployment(collection: str, name: str) -> dict[str, Any] | None:
    """The deployment's current object, or None once it is gone."""
    response = requests.get(f"{collection}/{name}", timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def deployment_body(name: str, model_uri: str, graph: str = "classifier",
                    progress_deadline_s: int | None = None) -> dict[str, Any]:
    """A SeldonDeployment serving `model_uri` with MLFLOW_SERVER over the V2 protocol (the one
    builder the static stage judges against the Seldon chart's CRD, too).
    """
    return seldon_deployment(name, model_uri, graph=graph,
                             progress_deadline_s=progress_deadline_s)


def state_of(found: dict[str, Any]) -> str:
    """The deployment's state; `Creating` until the operator first writes a status."""
    return str((found.get("status") or {}).get("state") or "Creating")


def v2_inputs(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """V2 inference inputs for `frame`: one FP64 column tensor per column, named after it."""
    return [{"name": column, "datatype": "FP64", "shape": [len(frame), 1],
             "data": frame[column].tolist()} for column in frame.columns]


def settled(collection: str, name: str) -> dict[str, Any]:
    """Wait until the deployment is no longer `Creating`; return it."""
    def done() -> dict[str, Any] | None:
        found = get_deployment(collection, name)
        return found if found and state_of(found) != "Creating" else None

    return wait_until(done, timeout_s=READY_TIMEOUT_S, what=f"seldondeployment {name}",
                      interval_s=0.5)


def expect_available(status: dict[str, Any], what: str) -> None:
    """The deployment is Available; if not, the failure quotes why its status says it is not."""
    expect_equal("seldon", f"{what} (its status says: "
                 f"{status.get('description') or 'nothing more'})", "Available", status["state"])


def wait_deleted(collection: str, name: str) -> None:
    """Wait until the API no longer knows the deployment."""
    wait_until(lambda: get_deployment(collection, name) is None, timeout_s=60,
               what=f"deletion of seldondeployment {name}")


@pytest.fixture(scope="module")
def deploy(collection: str) -> Iterator[DeployFunc]:
    """Factory: deploy a model URI; every deployment is deleted (and waited for) afterwards."""
    created: list[str] = []

    def create(name: str, model_uri: str, progress_deadline_s: int | None = None
               ) -> dict[str, Any]:
        response = requests.post(collection, json=deployment_body(
            name, model_uri, progress_deadline_s=progress_deadline_s), timeout=30)
        expect_equal("seldon", f"create seldondeployment {name}: HTTP status", 201,
                     response.status_code)
        created.append(name)
        answered: dict[str, Any] = response.json()
        return answered

    yield create
    for name in created:
        requests.delete(f"{collection}/{name}", timeout=60)
        wait_deleted(collection, name)


@pytest.fixture(scope="module")
def model_store(stack: Stack) -> str | None:
    """How a modelUri names MLflow's artifact store (e.g. `pvc://CLAIM`, `s3://bucket/root`)."""
    store: str | None = stack.tools["seldon"].expect.get("model_store")
    return store


@pytest.fixture(scope="module")
def registered_model(stack: Stack, model_store: str | None) -> RegisteredModel:
    """A logistic regression with a column signature, registered as `NAME@champion`."""
    return register_model(stack.tools["mlflow"].endpoints["tracking"], "conformance-seldon",
                          model_store)


def store_uri(client: Any, name: str, version: str, model_store: str | None) -> str:
    """Where a model version's files are, as Seldon's storage initializer fetches them.

    MLflow answers with its artifact store's URI (e.g. `s3://...`), which the initializer reads
    as is, or, when MLflow proxies the store, with `mlflow-artifacts:/PATH`: a path in the store
    that the initializer reads as `model_store/PATH`.
    """
    location = str(client.get_model_version_download_uri(name, version))
    if not location.startswith("mlflow-artifacts:"):
        return location
    path = location.removeprefix("mlflow-artifacts:").lstrip("/")
    if not model_store:
        pytest.fail(f"seldon: MLflow proxies its artifact store ({location}) and the stack does "
                    "not say how Seldon reaches it: set seldon's expect.model_store")
    return f"{model_store.rstrip('/')}/{path}"


def register_model(tracking: str, prefix: str, model_store: str | None) -> RegisteredModel:
    """Train a logistic regression on four columns, log it with its signature to the MLflow
    at `tracking` (experiment `prefix`), register it and alias it `champion`.
    """
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(tracking)
    raw, labels = make_classification(n_samples=120, n_features=4, random_state=11)
    features = pd.DataFrame(raw, columns=["f0", "f1", "f2", "f3"])
    model = LogisticRegression(max_iter=200).fit(features, labels)
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    mlflow.set_experiment(prefix)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", pip_requirements=["scikit-learn"],
            signature=infer_signature(features, model.predict(features)))
    version = mlflow.register_model(info.model_uri, name)
    client = mlflow.MlflowClient(tracking)
    client.set_registered_model_alias(name, "champion", version.version)
    return RegisteredModel(store_uri(client, name, version.version, model_store),
                           f"models:/{name}@champion", features,
                           [int(p) for p in model.predict(features)])


@pytest.fixture(scope="module")
def deployment(deploy: DeployFunc, collection: str,
               registered_model: RegisteredModel) -> dict[str, Any]:
    """The registered model, deployed and settled."""
    name = f"conformance-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    deploy(name, registered_model.uri)
    found = settled(collection, name)
    print(f"seldon: {name} settled as {state_of(found)} "
          f"{time.monotonic() - started:.1f}s after the deploy request")
    return found


def model_url(access: SeldonAccess, deployment: dict[str, Any]) -> str:
    """The V2 URL of the deployment's model (its address without `/infer`), reachable here."""
    graph = deployment["spec"]["predictors"][0]["graph"]["name"]
    address = status_address(deployment)
    expect("seldon", urlparse(address).path == f"/v2/models/{graph}/infer",
           f"the status address to be the V2 inference URL of model {graph!r}", address)
    return access.url(address.removesuffix("/infer"))


@pytest.mark.check("seldon.deploy")
def test_deploy_becomes_ready(stack: Stack, access: SeldonAccess, deployment: dict[str, Any],
                              registered_model: RegisteredModel,
                              record_version: Callable[[str, str, str], None]) -> None:
    """A registered model becomes Available; its metadata lists the signature's inputs; its
    model server reports the MLServer version the target says it runs.
    """
    status = deployment["status"]
    expect_available(status, "deployment state")
    ready = requests.get(f"{model_url(access, deployment)}/ready", timeout=10)
    expect_equal("seldon", "GET model /ready status", 200, ready.status_code)
    metadata = requests.get(model_url(access, deployment), timeout=10).json()
    inputs = {item["name"]: item["datatype"] for item in metadata.get("inputs", [])}
    expected = dict.fromkeys(registered_model.features.columns, "FP64")
    expect_equal("seldon", "model metadata inputs (name: datatype)", expected, inputs)
    metadata_url = access.server_url(deployment)
    expect("seldon", metadata_url, "the model server's own endpoint (its `http` port)",
           metadata_url)
    assert metadata_url is not None
    server = requests.get(metadata_url, timeout=10).json()
    reported = str(server.get("version", ""))
    record_version("seldon", "mlserver", reported)
    expect_versions("seldon", f"model server ({server.get('name')})", reported,
                    claimed=stack.tools["seldon"].versions.get("mlserver"))


@pytest.mark.check("seldon.predict-v2")
def test_predictions_match(access: SeldonAccess, deployment: dict[str, Any],
                           registered_model: RegisteredModel) -> None:
    """Predictions over the V2 REST protocol equal the model's own predictions."""
    frame = registered_model.features
    response = requests.post(f"{model_url(access, deployment)}/infer",
                             json={"inputs": v2_inputs(frame)}, timeout=60)
    expect_equal("seldon", "POST /infer status", 200, response.status_code)
    outputs = response.json()["outputs"]
    expect_equal("seldon", "number of outputs", 1, len(outputs))
    served = [int(value) for value in outputs[0]["data"]]
    differing = sum(a != b for a, b in zip(served, registered_model.predictions, strict=False))
    shown = 12  # enough predictions to see what differs, few enough to read in one line
    expect(
        "seldon", served == registered_model.predictions,
        f"{len(frame)} served predictions equal the local model's "
        f"(first {shown}: {registered_model.predictions[:shown]})",
        f"{differing} differ, {len(served)} returned (first {shown}: {served[:shown]})")


@pytest.mark.check("seldon.missing-model")
def test_missing_model_fails_cleanly(access: SeldonAccess, deploy: DeployFunc, collection: str,
                                     model_store: str | None,
                                     registered_model: RegisteredModel) -> None:
    """A modelUri the storage initializer cannot fetch ends Failed, the cause names the URI,
    and nothing serves at its address: a path with no model in the store, and the registry's
    `models:/` URI (the initializer fetches from storage; it does not ask MLflow's registry).
    """
    missing = f"{(model_store or 'gs://conformance-no-such-bucket').rstrip('/')}" \
        f"/conformance-missing-{uuid.uuid4().hex[:8]}"
    # Only a store the stack names is known to say "not found"; a bucket nobody owns may
    # answer with an authorization error instead, depending on the provider.
    unfetchable = {f"missing-{uuid.uuid4().hex[:8]}": (missing, "not found" if model_store
                                                       else ""),
                   f"registry-{uuid.uuid4().hex[:8]}": (registered_model.registered, "")}
    for name, (uri, _) in unfetchable.items():
        deploy(name, uri, progress_deadline_s=FAILING_DEADLINE_S)
    for name, (uri, says) in unfetchable.items():
        found = settled(collection, name)
        status = found["status"]
        expect_equal("seldon", f"state of a deployment of {uri}", "Failed", status["state"])
        cause = access.failure(found)
        expect("seldon", uri in cause and says in cause.lower(),
               f"the failure to name {uri!r}" + (f" and say {says!r}" if says else ""), cause)
        replicas = sum(s.get("availableReplicas", 0)
                       for s in (status.get("deploymentStatus") or {}).values())
        expect_equal("seldon", f"available replicas of the failed deployment of {uri}", 0,
                     replicas)
        expect("seldon", not access.serving(access.address(found)),
               f"nothing serving at the failed deployment's address ({uri})",
               access.address(found))


@pytest.mark.check("seldon.metrics")
def test_metrics_count_requests(access: SeldonAccess, deployment: dict[str, Any],
                                registered_model: RegisteredModel) -> None:
    """The model server's metrics (its pod's `metrics` port, at the path the operator sets)
    count the inference requests sent.
    """
    metrics_url = access.metrics_url(deployment)
    expect("seldon", metrics_url, "the model server's metrics endpoint", metrics_url)
    assert metrics_url is not None
    model = model_url(access, deployment).rsplit("/", 1)[1]
    counter = f'model_infer_request_success_total{{model="{model}"'

    def successes() -> float:
        text = requests.get(metrics_url, timeout=10).text
        lines = [line for line in text.splitlines() if line.startswith(counter)]
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines)

    before = successes()
    inputs = v2_inputs(registered_model.features.iloc[:1])
    for _ in range(3):
        requests.post(f"{model_url(access, deployment)}/infer", json={"inputs": inputs},
                      timeout=60).raise_for_status()
    expect_equal("seldon", "successful inferences counted by the model server's metrics",
                 before + 3, successes())


@pytest.mark.check("seldon.undeploy")
def test_undeploy_frees_server(access: SeldonAccess, deployment: dict[str, Any],
                               collection: str) -> None:
    """Deleting a deployment removes it from the API and stops its server: nothing serves
    at its address any more.

    It deletes the module's own deployment, last: starting a model server only to delete it
    would cost a server start per run.
    """
    name = deployment["metadata"]["name"]
    status = get_deployment(collection, name)
    expect("seldon", status is not None, f"{name} to be listed before the delete", status)
    assert status is not None
    expect_available(status["status"], "deployment state before delete")
    addresses = access.listeners(status)
    serving = [url for url in addresses if access.serving(url)]
    expect("seldon", serving == addresses, "the server to serve at its addresses",
           f"serving at {serving} of {addresses}")
    response = requests.delete(f"{collection}/{name}", timeout=60)
    expect("seldon", response.status_code in DELETED, f"DELETE status in {DELETED}",
           response.status_code)
    wait_deleted(collection, name)
    listed = [item["metadata"]["name"] for item in requests.get(collection, timeout=10)
              .json()["items"]]
    expect("seldon", name not in listed, f"{name} gone from the deployment list", listed)
    # A server left running after the API forgot it is the tool's fault: a failed expectation
    # naming the addresses, not a timeout of the harness.
    with contextlib.suppress(WaitTimeoutError):
        wait_until(lambda: not any(access.serving(url) for url in addresses), timeout_s=60,
                   what=f"servers of {name} to stop")
    still = [url for url in addresses if access.serving(url)]
    expect("seldon", not still, f"the server of deleted {name} to stop serving within 60s",
           f"still serving at {still}")
