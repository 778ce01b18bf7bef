"""The static stage renders every release with its real chart, writes the manifests with no
secret in them, and skips (with the fix) what it cannot render.
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from harness.scenario import load_scenario
from harness.secrets import run_secrets
from harness.static_stage import run_static_stage
from tests.conftest import CLI, REPO

pytestmark = pytest.mark.terraform


@pytest.mark.charts
@pytest.mark.parametrize("scenario", ["defaults", "oauth", "external-postgres",
                                      "private-registry"])
def test_every_release_is_rendered_and_written_without_secrets(
    scenario: str, charts_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HARNESS_CHARTS", str(charts_repo))
    loaded = load_scenario(scenario)
    secrets = run_secrets(loaded)
    result = run_static_stage(loaded, secrets, manifests_dir=tmp_path / "manifests")
    renders = {c.id: c for c in result.checks() if ".manifests.render." in c.id}
    releases = {f"{r.module}.manifests.render.{r.name}" for r in result.rendered.releases}
    assert set(renders) == releases
    assert all(c.status == "pass" for c in renders.values()), renders
    written = sorted(p.relative_to(tmp_path / "manifests").as_posix()
                     for p in (tmp_path / "manifests").rglob("*.yaml"))
    expected = sorted({f"{r.namespace}/{r.name}.yaml" for r in result.rendered.releases}
                      | {"_module/objects.yaml"})
    assert written == expected
    text = "".join(p.read_text() for p in (tmp_path / "manifests").rglob("*.yaml"))
    for value in secrets.values():
        assert value not in text
        assert base64.b64encode(value.encode()).decode() not in text
    # The placeholder stands where the secret was (the hub's Secret holds it in base64).
    assert base64.b64encode(b"secret-jhub-proxy-secret-token").decode()[:24] in text


def test_without_a_chart_at_hand_the_manifest_checks_are_skipped_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HARNESS_CHARTS", raising=False)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))  # nothing pulled
    loaded = load_scenario("defaults")
    result = run_static_stage(loaded, run_secrets(loaded))
    renders = [c for c in result.checks() if ".manifests.render." in c.id]
    assert renders
    assert {c.status for c in renders} == {"skip"}
    assert all("mlops-conformance charts pull" in c.message for c in renders)
    contracts = [c for c in result.checks() if ".values-contract." in c.id]
    assert contracts
    assert {c.status for c in contracts} == {"pass"}


@pytest.mark.charts
def test_render_manifests_prints_the_objects_of_a_module(charts_repo: Path) -> None:
    proc = subprocess.run([*CLI, "render", "--manifests", "--module", "mlflow",
                           "--charts", str(charts_repo)],
                          capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "# mlflow/mlflow (mlflow " in proc.stdout
    assert "kind: Deployment" in proc.stdout
    assert "ok   mlflow.manifests.render.mlflow" in proc.stdout
