"""The validation families on the real charts (the mirror) for the four scenarios: every
release's objects fit the Kubernetes schemas of the default support range, the harness's
SeldonDeployment fits the Seldon chart's CRD, and each chart's kubeVersion allows the range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from harness.charts.source import ChartSource
from harness.manifests import crds, kube_version, schemas
from harness.manifests.checks import build_context
from harness.manifests.support_range import scenario_kube_versions
from harness.scenario import load_scenario
from harness.secrets import run_secrets
from harness.static.render import render_scenario

if TYPE_CHECKING:
    from pathlib import Path

    from harness.manifests.context import ManifestContext

pytestmark = [pytest.mark.charts, pytest.mark.terraform]
SCENARIOS = ("defaults", "oauth", "external-postgres", "private-registry")


@pytest.fixture(scope="module", params=SCENARIOS)
def context(request: pytest.FixtureRequest, charts_repo: Path) -> ManifestContext:
    """The scenario rendered with the real charts for its default support range."""
    scenario = load_scenario(request.param)
    rendered = render_scenario(dict(scenario.tfvars), secrets=run_secrets(scenario))
    source = ChartSource(charts_repo)
    return build_context(scenario.name, dict(scenario.tfvars), rendered, source=source,
                         kube_versions=scenario_kube_versions(rendered, source))


def test_the_range_is_read_from_the_charts(context: ManifestContext) -> None:
    assert context.kube_versions == ("1.28", "1.34")


def test_every_validation_check_passes(context: ManifestContext) -> None:
    results = [*kube_version.checks(context), *schemas.checks(context), *crds.checks(context)]
    failed = [f"{r.id}: {r.message}" for r in results if r.status != "pass"]
    assert not failed, "\n".join(failed)
    releases = {(r.module, r.name) for r in context.rendered.releases}
    ids = {r.id for r in results}
    for module, name in releases:
        assert f"{module}.manifests.schema.{name}" in ids
        assert f"{module}.manifests.kube-version.{name}" in ids
    assert schemas.MODULE_OBJECTS_ID in ids
    assert ("seldon", "seldon-core-operator") not in releases \
        or "seldon.manifests.custom-resources.harness" in ids
    # Today's charts use no deprecated API in the range.
    assert schemas.findings(context) == []
