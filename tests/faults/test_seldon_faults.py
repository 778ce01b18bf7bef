"""Faults of Seldon model serving: a deployment that serves another model than the registered one.

The check registers its model in MLflow and deploys it from MLflow's artifact store; the fault
swaps the model's file in that store, as soon as it lands, for another model's file of the same
signature: the deployment comes up Available and serves, but other predictions.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.faults.conftest import Started, started
from tests.faults.framework import assert_caught, run_check

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
