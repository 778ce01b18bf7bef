"""The wiring checks on the real charts from the mirror, for the four scenarios: today's
modules wire every endpoint, reference, image and secret correctly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.charts.source import chart_source
from harness.manifests import endpoints, images, references, secret_values, unique_objects
from harness.manifests.checks import FAMILIES, build_context
from harness.manifests.context import ManifestContext
from harness.report.model import CheckResult
from harness.scenario import load_scenario
from harness.secrets import run_secrets
from harness.static.render import render_scenario

pytestmark = [pytest.mark.charts, pytest.mark.terraform]

SCENARIOS = ("defaults", "oauth", "external-postgres", "private-registry")
WIRING = (endpoints, references, images, secret_values, unique_objects)


def wiring(charts: Path, scenario: str, **overrides: Any) -> tuple[ManifestContext,
                                                                   list[CheckResult]]:
    loaded = load_scenario(scenario)
    tfvars = {**loaded.tfvars, **overrides}
    rendered = render_scenario(tfvars, secrets=run_secrets(loaded))
    ctx = build_context(scenario, tfvars, rendered, source=chart_source(charts),
                        kube_versions=("1.34",))
    return ctx, [result for family in WIRING for result in family.checks(ctx)]


def test_every_wiring_family_is_listed() -> None:
    assert {f"harness.manifests.{m.__name__.rsplit('.', 1)[1]}" for m in WIRING} <= set(FAMILIES)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_todays_modules_are_wired(charts_repo: Path, scenario: str) -> None:
    ctx, results = wiring(charts_repo, scenario)
    failed = [f"{r.id}: {r.message}" for r in results if r.status != "pass"]
    assert not failed, "\n".join(failed)
    # Every enabled tool's endpoint and every release was judged, none twice.
    ids = [r.id for r in results]
    assert len(ids) == len(set(ids))
    assert {i.split(".")[0] for i in ids if i.endswith(".wiring.endpoint")} == set(ctx.endpoints)
    assert len([i for i in ids if ".wiring.images." in i]) == len(ctx.rendered.releases)


def test_private_registry_pods_carry_pull_secrets(charts_repo: Path) -> None:
    ctx, results = wiring(charts_repo, "private-registry")
    by_id = {r.id: r for r in results}
    assert "with its pull secret" in by_id["mlflow.wiring.images.mlflow"].message
    assert "1 from registry.example.internal:5000 with its pull secret" in \
        by_id["dask.wiring.images.dask"].message
    assert "pull secret" not in by_id["prefect.wiring.images.prefect-server"].message
    assert {(u.module, u.name) for u in ctx.rendered.user_provided} == {
        ("dask", "regcred"), ("jupyterhub", "regcred")}


def test_private_registry_without_the_users_pull_secret_fails(charts_repo: Path) -> None:
    # Dask's images come from the private registry; without `worker_image_pull_secret` the
    # pods carry no pull secret at all.
    _, results = wiring(charts_repo, "private-registry", worker_image_pull_secret=[])
    failed = {r.id: r.message for r in results if r.status == "fail"}
    assert list(failed) == ["dask.wiring.images.dask"]
    assert ("Deployment dask/dask-scheduler spec.template.spec.imagePullSecrets: none, but "
            "'registry.example.internal:5000/mlops/dask:2024.1.0' comes from the private "
            "registry registry.example.internal:5000") in failed["dask.wiring.images.dask"]


def test_prefect_subchart_with_an_existing_secret_is_wired(charts_repo: Path) -> None:
    # Found by these checks: the chart rendered a Secret of the user's Secret's name (holding
    # only `connection-string`) while the bundled PostgreSQL read `password` from it.
    ctx, results = wiring(charts_repo, "defaults", postgresql_existing_secret="prefect-db")
    failed = [f"{r.id}: {r.message}" for r in results if r.status != "pass"]
    assert not failed, "\n".join(failed)
    assert ctx.endpoints["prefect"]["secret_names"] == ["prefect-db"]
