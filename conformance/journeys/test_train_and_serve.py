"""The journey the architecture exists for: features on Dask via Prefect, into Feast, a model
trained on them in MLflow, served by Seldon, predicting on online features from Feast.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from conformance.test_seldon import (
    deployment_body,
    expect_available,
    model_url,
    settled,
    store_uri,
    v2_inputs,
    wait_deleted,
)
from harness.checks import expect, expect_equal
from harness.seldon_access import access_of
from harness.wait import wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator

    from harness.stack import Stack

pytestmark = pytest.mark.journey
# The checks this module runs; collection fails unless they match its checks exactly.
CHECK_IDS = (
    "journey.train-and-serve",
)
# Run on Feast's worker, before test_feast.py: the journey adds its view to the one project the
# feature server serves, and that module's `feast apply` replaces the project's objects.
WORK_UNIT = "feast"
FLOWS = Path(__file__).parent / "flows"
NEEDED = ("prefect", "dask", "feast", "mlflow", "seldon")
RIDERS, SEED = 40, 20261126
FEATURES = ["avg_distance_km", "trip_count"]
RUN_TIMEOUT_S = 300.0  # the worker starts a fresh interpreter per run: slow on two cores


@contextlib.contextmanager
def step(number: int, name: str, tool: str) -> Iterator[None]:
    """Name the step and the tool in any failure inside it."""
    __tracebackhide__ = True
    try:
        yield
    except pytest.skip.Exception:
        raise
    except Exception as exc:
        raise AssertionError(f"journey step {number} ({name}) failed in {tool}: "
                             f"{type(exc).__name__}: {exc}") from exc


@pytest.fixture
def journey_stack(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Skip unless Prefect has a worker and Feast a feature server; point Prefect's
    client at the stack and Feast's at its stores; yield a working directory.
    """
    if not stack.tools["prefect"].expect.get("worker"):
        pytest.skip("the journey needs a Prefect worker (agent_enabled)")
    if "feature_server" not in stack.tools["feast"].endpoints:
        pytest.skip("the journey needs Feast's feature server (feast_online_serving_enabled)")
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    feast = stack.tools["feast"]
    env = {var: stack.secret("feast", name) for var, name in feast.expect["password_env"].items()
           if name in feast.credentials}
    saved = {var: os.environ.get(var) for var in env}
    os.environ.update(env)
    work = tmp_path_factory.mktemp("journey")
    updates = {PREFECT_API_URL: stack.tools["prefect"].endpoints["api"],
               PREFECT_HOME: work / "prefect-home"}
    try:
        with temporary_settings(updates=updates):
            yield work
    finally:
        for var, old in saved.items():
            os.environ.pop(var, None) if old is None else os.environ.update({var: old})


def compute_features(stack: Stack, data: Path, event_time: datetime) -> None:
    """Deploy the feature flow, run it through the worker, wait until it completed."""
    from prefect import flow
    from prefect.deployments import run_deployment

    prefect = stack.tools["prefect"].expect
    name = f"journey-{uuid.uuid4().hex[:8]}"
    queue = next(iter(prefect["work_queues"]), None)
    flow.from_source(source=str(FLOWS), entrypoint="rider_features.py:rider_features").deploy(
        name=name, work_pool_name=prefect["work_pool"], work_queue_name=queue, build=False,
        push=False, print_next_steps=False, ignore_warnings=True)
    run = run_deployment(
        f"rider-features/{name}", timeout=RUN_TIMEOUT_S, poll_interval=1, as_subflow=False,
        parameters={"scheduler": stack.tools["dask"].endpoints["scheduler"], "out_dir": str(data),
                    "riders": RIDERS, "seed": SEED, "event_time": event_time.isoformat()})
    expect_equal("prefect", f"state of flow run {run.name}", "COMPLETED",
                 run.state.type.value if run.state else None)
    expect("prefect", (data / "rider_stats.parquet").is_file(), "the flow's feature file")


def register_in_feast(stack: Stack, work: Path, data: Path, event_time: datetime) -> Any:
    """Register the rider view (a partial apply: other checks' objects stay) and materialize."""
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64, Int64

    (work / "feature_store.yaml").write_text(stack.tools["feast"].expect["feature_store_yaml"],
                                             encoding="utf-8")
    store = FeatureStore(repo_path=str(work))
    rider = Entity(name="journey_rider", join_keys=["rider_id"], value_type=ValueType.INT64)
    view = FeatureView(
        name="journey_rider_stats", entities=[rider], ttl=timedelta(days=2), online=True,
        schema=[Field(name="avg_distance_km", dtype=Float64),
                Field(name="trip_count", dtype=Int64)],
        source=FileSource(name="journey_rider_source", path=str(data / "rider_stats.parquet"),
                          timestamp_field="event_timestamp"))
    store.apply([rider, view])
    store.materialize(start_date=event_time - timedelta(hours=1),
                      end_date=event_time + timedelta(minutes=5))
    return store


def train_and_register(stack: Stack, store: Any, data: Path) -> tuple[Any, str]:
    """Train on features read back from the offline store; log and register the model.
    Return the model and where Seldon fetches the registered version: its place in the store.
    """
    import mlflow
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    labels = pd.read_parquet(data / "labels.parquet")
    labels["event_timestamp"] += timedelta(minutes=1)
    frame = store.get_historical_features(
        entity_df=labels, features=[f"journey_rider_stats:{f}" for f in FEATURES]).to_df()
    expect_equal("feast", "rows joined from the offline store", RIDERS,
                 int(frame[FEATURES].notna().all(axis=1).sum()))
    # As doubles: an integer column in a signature cannot take a missing value when served.
    inputs = frame[FEATURES].astype("float64")
    model = LogisticRegression(max_iter=500).fit(inputs, frame["long_distance"])
    tracking = stack.tools["mlflow"].endpoints["tracking"]
    mlflow.set_tracking_uri(tracking)
    mlflow.set_experiment("conformance-journey")
    name = f"journey-riders-{uuid.uuid4().hex[:8]}"
    with mlflow.start_run():
        mlflow.log_metric("train_accuracy", float(model.score(inputs, frame["long_distance"])))
        info = mlflow.sklearn.log_model(
            model, name="model", pip_requirements=["scikit-learn"],
            signature=infer_signature(inputs, model.predict(inputs)))
    version = mlflow.register_model(info.model_uri, name)
    client = mlflow.MlflowClient(tracking)
    client.set_registered_model_alias(name, "production", version.version)
    production = client.get_model_version_by_alias(name, "production")
    return model, store_uri(client, name, production.version,
                            stack.tools["seldon"].expect.get("model_store"))


def online_features(stack: Stack, riders: list[int]) -> dict[str, list[Any]]:
    """Features of `riders` from Feast's feature server, indexed by name (results are unordered)."""
    url = f"{stack.tools['feast'].endpoints['feature_server']}/get-online-features"
    body = {"features": [f"journey_rider_stats:{f}" for f in FEATURES],
            "entities": {"rider_id": riders}}
    seen: dict[str, Any] = {}

    def answered() -> bool:
        response = requests.post(url, json=body, timeout=30)
        if response.status_code != 200:  # until the server's registry refresh sees the view
            seen["last"] = f"{response.status_code} {response.text[:200]}"
            return False
        payload = response.json()
        names = payload["metadata"]["feature_names"]
        seen.update({n: r["values"] for n, r in zip(names, payload["results"], strict=True)})
        return all(v is not None for f in FEATURES for v in seen.get(f, [None]))

    wait_until(answered, timeout_s=120, what="online features from the feature server")
    return {f: seen[f] for f in FEATURES}


@pytest.mark.check("journey.train-and-serve", requires=NEEDED)
def test_train_and_serve(stack: Stack, journey_stack: Path) -> None:
    """Prefect runs a flow that computes features on Dask; Feast stores them; a model trained
    on them is registered in MLflow and served by Seldon, predicting on online features
    exactly as the model does locally.
    """
    import pandas as pd

    work, data = journey_stack, journey_stack / "data"
    data.mkdir()
    event_time = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with step(1, "compute features on Dask through a Prefect deployment", "prefect/dask"):
        compute_features(stack, data, event_time)
    with step(2, "register and materialize the features", "feast"):
        store = register_in_feast(stack, work, data, event_time)
    with step(3, "train on offline features, log and register the model", "feast/mlflow"):
        model, model_uri = train_and_register(stack, store, data)
    access = access_of(stack)
    collection = access.collection
    name = f"journey-{uuid.uuid4().hex[:8]}"
    try:
        with step(4, "deploy the registered model", "seldon"):
            requests.post(collection, json=deployment_body(name, model_uri, graph="riders"),
                          timeout=30).raise_for_status()
            deployed = settled(collection, name)
            expect_available(deployed["status"], "deployment state")
        riders = list(range(0, RIDERS, 3))
        with step(5, "fetch online features", "feast"):
            features = pd.DataFrame(online_features(stack, riders))
            written = pd.read_parquet(data / "rider_stats.parquet").set_index("rider_id")
            expect_equal("feast", "online features vs the values the flow wrote",
                         written.loc[riders, FEATURES].to_dict("list"),
                         features[FEATURES].to_dict("list"))
        with step(6, "predict online and compare with the local model", "seldon"):
            online = features[FEATURES].astype("float64")
            answer = requests.post(f"{model_url(access, deployed)}/infer",
                                   json={"inputs": v2_inputs(online)}, timeout=60)
            answer.raise_for_status()
            served = [int(v) for v in answer.json()["outputs"][0]["data"]]
            expect_equal("seldon", f"predictions for riders {riders}",
                         [int(v) for v in model.predict(online)], served)
    finally:
        requests.delete(f"{collection}/{name}", timeout=60)
        with contextlib.suppress(Exception):
            wait_deleted(collection, name)
