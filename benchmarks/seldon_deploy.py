"""Benchmark Seldon on the local target: time from a deploy request to a model that answers.

Usage: python benchmarks/seldon_deploy.py [--repeat N]
Keeps an MLflow + Seldon stack (`run --keep`, no checks selected), registers one model,
deploys it N times (request -> `Available` -> first V2 prediction), then stops the stack.
`Available` is polled as the Seldon checks poll it, every 0.5 s.
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

import requests

from conformance.test_seldon import GROUP, deployment_body, register_model, settled, v2_inputs


def mlops(*args: str) -> None:
    """Run the harness's command; fail loudly with its stderr."""
    result = subprocess.run([sys.executable, "-m", "harness.cli", *args],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"mlops-conformance {args[0]} exited {result.returncode}")


def deploy_once(collection: str, model_uri: str,
                inputs: list[dict[str, Any]]) -> dict[str, float]:
    """Deploy, wait for `Available`, predict once, delete; return the two durations."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    requests.post(collection, json=deployment_body(name, model_uri),
                  timeout=30).raise_for_status()
    try:
        found = settled(collection, name)
        if found["status"]["state"] != "Available":
            raise SystemExit(f"deployment {name} ended {found['status']['state']}")
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
            model = register_model(stack["tools"]["mlflow"]["endpoints"]["tracking"],
                                   "bench-seldon", seldon["expect"].get("model_store"))
            inputs = v2_inputs(model.features.head(3))
            times = [deploy_once(collection, model.uri, inputs) for _ in range(args.repeat)]
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
