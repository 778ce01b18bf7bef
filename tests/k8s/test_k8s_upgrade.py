"""`upgrade` on the kubernetes target, short of a cluster: Dask's release applied at the
`previous` version set, then the root module applied again over it at `current`.

Real: the charts rendered for both sets, Terraform with the offline test provider (real
provider schemas; every create and update recorded), the readiness gate reading objects built
with the `kubernetes` client's models, a port-forward (the kubectl stand-in) to a real Dask
scheduler, probed once a second through the forward during the apply. What only a cluster
shows (pods replaced, forwards dropping, the charts' migrations) is the nightly workflow's.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
import yaml

from harness.scenario import load_scenario
from harness.secrets import run_secrets
from harness.static.render import render_scenario
from harness.targets.local import chart_versions
from harness.upgrade.perform import UpgradeRequest, upgrade_stack
from harness.version_sets import apply_version_set, load_version_set
from tests.k8s.test_k8s_up import Deployed, _all_ready, _deploy

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness.report.model import CheckResult, UpgradeSummary

pytestmark = [pytest.mark.terraform, pytest.mark.slow]


def _scenario_at(base: Path, version_set: str) -> Path:
    """`defaults` with a version set's chart versions, as a scenario file."""
    data = yaml.safe_load((load_scenario("defaults").path).read_text(encoding="utf-8"))
    data["tfvars"] = apply_version_set(dict(data["tfvars"]), load_version_set(version_set))
    path = base / f"defaults-{version_set}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def upgraded(offline_terraform: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory,
             scheduler: tuple[str, int],
             ) -> Iterator[tuple[Deployed, UpgradeSummary, list[CheckResult]]]:
    base = tmp_path_factory.mktemp("upgrade")
    before = _scenario_at(base, "previous")
    after = load_scenario(str(_scenario_at(base, "current")))
    with pytest.MonkeyPatch.context() as patch:
        found = _deploy(base, patch, _all_ready, scheduler[1], scenario_name=str(before))
        stack = found.target.up(load_scenario(str(before)), found.run_dir, found.progress)
        rendered = render_scenario(dict(after.tfvars), secrets=run_secrets(after))
        request = UpgradeRequest(from_set="previous", to_set="current",
                                 to_versions=chart_versions(rendered),
                                 to_tfvars=after.effective_tfvars(), to_rendered=rendered)
        try:
            summary, checks = upgrade_stack(request, stack, found.target, found.progress,
                                            found.run_dir.name)
            found.forward_pid = found.target.forwards.pid("dask")  # type: ignore[attr-defined, union-attr]
        finally:
            found.problems = found.target.down(found.progress)  # type: ignore[attr-defined]
        yield found, summary, checks
        found.server.shutdown()  # type: ignore[attr-defined]


def test_the_release_is_updated_in_place_at_the_new_chart_version(
        upgraded: tuple[Deployed, UpgradeSummary, list[CheckResult]]) -> None:
    found, summary, _ = upgraded
    namespace = found.target.namespaces["dask"]
    (created,) = found.recorded("helm_release", "create")
    (updated,) = found.recorded("helm_release", "update")
    assert (created["version"], updated["version"]) == ("2024.1.0", "2024.1.1")
    assert created["namespace"] == updated["namespace"] == namespace
    # One namespace for the run, created once and kept through the upgrade.
    assert len(found.recorded("kubernetes_namespace_v1", "create")) == 1
    assert found.recorded("kubernetes_namespace_v1", "update") == []
    (dask,) = summary.tools
    assert dask.upgraded
    assert (dask.from_versions, dask.to_versions) == ({"dask": "2024.1.0"}, {"dask": "2024.1.1"})


def test_the_variables_file_names_the_new_versions_and_no_secret(
        upgraded: tuple[Deployed, UpgradeSummary, list[CheckResult]]) -> None:
    found, _, _ = upgraded
    text = (found.run_dir / "terraform" / "run.auto.tfvars.json").read_text(encoding="utf-8")
    assert json.loads(text)["dask_chart_version"] == "2024.1.1"
    for value in run_secrets(load_scenario("defaults")).values():
        assert value not in text


def test_the_readiness_gate_judges_the_new_charts_workloads(
        upgraded: tuple[Deployed, UpgradeSummary, list[CheckResult]]) -> None:
    found, _, _ = upgraded
    rendered = found.run_dir / "manifests-upgraded"
    (release,) = rendered.glob("*/dask.yaml")
    assert "2024.1.1" in release.read_text(encoding="utf-8")  # the chart's own labels
    assert {w.namespace for w in found.target.workloads} == {found.target.namespaces["dask"]}


def test_the_tool_was_probed_through_its_forward_and_nothing_was_lost(
        upgraded: tuple[Deployed, UpgradeSummary, list[CheckResult]]) -> None:
    found, summary, checks = upgraded
    (dask,) = summary.tools
    # The stand-in's scheduler never went away: probed, and never down.
    assert dask.downtime_s == {"dask": 0.0}
    assert found.forward_pid is not None  # type: ignore[attr-defined]
    assert checks == []  # Dask keeps no canaries
    assert found.problems == []  # type: ignore[attr-defined]
