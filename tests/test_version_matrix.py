"""`run --versions`: each scenario runs with each version set's chart versions, one column
per scenario and set, in one report (here the static stage alone, `--tools none`: the charts
of each set rendered and judged).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import CLI

pytestmark = [pytest.mark.charts, pytest.mark.slow]
CHARTS = os.environ.get("HARNESS_CHARTS", "")


def _chart_labels(manifests: Path) -> set[str]:
    """Every chart label (`helm.sh/chart`, or older charts' `chart`) of the rendered
    manifests under `manifests`.
    """
    labels = set()
    for path in manifests.glob("*/*.yaml"):
        for obj in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            labels_of = (obj or {}).get("metadata", {}).get("labels") or {}
            label = labels_of.get("helm.sh/chart") or labels_of.get("chart")
            if label:
                labels.add(str(label))
    return labels


def test_each_version_set_is_a_column_rendering_its_charts(tmp_path: Path) -> None:
    if not CHARTS:
        pytest.skip("HARNESS_CHARTS is not set: the previous charts come from the mirror")
    done = subprocess.run(
        [*CLI, "run", "--scenario", "defaults", "--versions", "current,previous", "--tools",
         "none", "--reports-dir", str(tmp_path), "--run-id", "sets"],
        capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "sets" / "report.json").read_text(encoding="utf-8"))
    assert [(r["scenario"], r["version_set"]) for r in report["runs"]] == [
        ("defaults", "current"), ("defaults", "previous")]
    current = _chart_labels(tmp_path / "sets" / "defaults@current" / "manifests")
    previous = _chart_labels(tmp_path / "sets" / "defaults@previous" / "manifests")
    assert {"mlflow-1.6.0", "jupyterhub-3.3.8"} <= previous  # versions/previous.yaml's
    assert not {"mlflow-1.6.0", "jupyterhub-3.3.8"} & current
    assert "| | defaults@current | defaults@previous |" in \
        (tmp_path / "sets" / "report.md").read_text(encoding="utf-8")
