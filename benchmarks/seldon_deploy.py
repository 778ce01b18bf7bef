"""Benchmark Seldon on the local target: time from a deploy request to a model that answers.

Usage: python benchmarks/seldon_deploy.py [--repeat N]
Keeps an MLflow + Seldon stack (`run --keep`, no checks selected), registers one model,
deploys it N times (request -> `Available` -> first V2 prediction), then stops the stack.
Prints a Markdown table. Not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import requests
from mlflow.models import infer_signature
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

GROUP = "apis/machinelearning.seldon.io/v1"


def mlops(*args: str) -> None:
    """Run the harness's command; fail loudly with its stderr."""
    result = subprocess.run([sys.executable, "-m", "harness.cli", *args],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"mlops-conformance {args[0]} exited {result.returncode}")


def register_model(tracking: str) -> tuple[str, list[dict[str, Any]]]:
    """Register a small scikit-learn model; return its `models:/` URI and V2 inputs for it."""
    mlflow.set_tracking_uri(tracking)
    raw, labels = make_classification(n_samples=60, n_features=4, random_state=3)
    features = pd.DataFrame(raw, columns=["f0", "f1", "f2", "f3"])
    model = LogisticRegression(max_iter=200).fit(features, labels)
    name = f"bench-{uuid.uuid4().hex[:6]}"
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model, name="model", pip_requirements=["scikit-learn"],
            signature=infer_signature(features, model.predict(features)))
    mlflow.register_model(info.model_uri, name)
    sample = features.head(3)
    inputs = [{"name": column, "datatype": "FP64", "shape": [len(sample), 1],
               "data": sample[column].tolist()} for column in sample.columns]
    return f"models:/{name}/1", inputs


def deploy_once(collection: str, model_uri: str,
                inputs: list[dict[str, Any]]) -> dict[str, float]:
    """Deploy, wait for `Available`, predict once, delete; return the two durations."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    graph = {"name": "classifier", "implementation": "MLFLOW_SERVER", "modelUri": model_uri}
    body = {"apiVersion": "machinelearning.seldon.io/v1", "kind": "SeldonDeployment",
            "metadata": {"name": name},
            "spec": {"protocol": "v2",
                     "predictors": [{"name": "default", "replicas": 1, "graph": graph}]}}
    started = time.monotonic()
    requests.post(collection, json=body, timeout=30).raise_for_status()
    try:
        while True:
            found: dict[str, Any] = requests.get(f"{collection}/{name}", timeout=10).json()
            state = found["status"]["state"]
            if state != "Creating":
                break
            time.sleep(0.1)
        if state != "Available":
            raise SystemExit(f"deployment {name} ended {state}")
        available_s = time.monotonic() - started
        url = f"{found['status']['address']['url']}/v2/models/classifier/infer"
        requests.post(url, json={"inputs": inputs}, timeout=30).raise_for_status()
        return {"available_s": available_s, "first_prediction_s": time.monotonic() - started}
    finally:
        requests.delete(f"{collection}/{name}", timeout=60)


def main() -> None:
    """Keep a stack, time the deployments, stop the stack, print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        run_dir = Path(directory) / "bench-seldon"
        mlops("run", "--reports-dir", directory, "--run-id", run_dir.name, "--keep",
              "--tools", "mlflow,seldon", "-k", "no-check-is-named-like-this")
        try:
            stack = json.loads((run_dir / "stack.json").read_text(encoding="utf-8"))
            seldon = stack["tools"]["seldon"]
            collection = (f"{seldon['endpoints']['api']}/{GROUP}/namespaces/"
                          f"{seldon['expect']['namespace']}/seldondeployments")
            model_uri, inputs = register_model(stack["tools"]["mlflow"]["endpoints"]["tracking"])
            times = [deploy_once(collection, model_uri, inputs) for _ in range(args.repeat)]
        finally:
            mlops("down", str(run_dir))
    print(f"Deployments: {len(times)} (median, max); model: scikit-learn via MLFLOW_SERVER")
    print("\n| measure | median s | max s |\n|---|---|---|")
    for key, label in (("available_s", "deploy request to `Available`"),
                       ("first_prediction_s", "deploy request to first V2 prediction")):
        values = [t[key] for t in times]
        print(f"| {label} | {statistics.median(values):.1f} | {max(values):.1f} |")


if __name__ == "__main__":
    main()
