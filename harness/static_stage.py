"""The static stage of a run: render every module's Helm values and check the charts' contracts.

Runs before anything is provisioned: a bad tfvars value is bad input (exit 2); values that
break a chart's contract are a module defect, reported as failed checks (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.errors import BadInputError, ModuleDefectError
from harness.report.model import CheckResult

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from harness.manifests.context import ManifestContext
    from harness.scenario import Scenario
    from harness.static.contract import Verdict
    from harness.static.render import Rendered, RenderError


@dataclass(frozen=True)
class StaticResult:
    """What the static stage found: the rendered values and one verdict per contract check."""

    rendered: Rendered
    verdicts: list[Verdict]
    # Checks beyond the contracts (harness/static/registry.py, the manifest checks of
    # harness/manifests/); a failure here does not stop the run before provisioning, it fails
    # the run at the end (exit 1).
    extra: list[CheckResult] = field(default_factory=list)
    # What the manifests show that is worth a reader's attention, not a failure.
    findings: list[str] = field(default_factory=list)
    manifests: ManifestContext | None = None

    @property
    def failures(self) -> list[Verdict]:
        """The verdicts that failed."""
        return [v for v in self.verdicts if not v.passed]

    def checks(self) -> list[CheckResult]:
        """One check result per release: `<module>.values-contract.<release>`."""
        from harness.static.contract import offline_note  # noqa: PLC0415 - as run_static_stage

        results: dict[str, CheckResult] = {}
        for verdict in self.verdicts:
            ident = f"{verdict.module}.values-contract.{verdict.release}"
            note = f" {offline_note(verdict.offline_origin)}" if verdict.offline_origin else ""
            result = results.setdefault(ident, CheckResult(
                id=ident, tool=verdict.module, status="pass",
                message=f"{verdict.chart} {verdict.chart_version}{note}"))
            if not verdict.passed:
                problems = [] if result.status == "pass" else [result.message]
                result.status = "fail"
                result.message = "; ".join([*problems, str(verdict)])
        return sorted([*results.values(), *self.extra], key=lambda c: c.id)


def run_static_stage(scenario: Scenario, secrets: Mapping[str, str], *,
                     kube_versions: tuple[str, ...] | None = None,
                     manifests_dir: Path | None = None) -> StaticResult:
    """Render the scenario's values with Terraform and check each release's chart contract;
    then render every release with its chart for each Kubernetes version under test
    (`kube_versions`, default: the charts' support range) and check the manifests, writing
    them (secrets replaced by their names) under `manifests_dir` when given.

    Raises:
        BadInputError: Terraform rejected a tfvars value; names the file and variable.
        ModuleDefectError: the modules could not be rendered at all.
    """
    from harness.charts.source import chart_source  # noqa: PLC0415
    from harness.launchers.chart_values import terraform_dir  # noqa: PLC0415
    from harness.manifests.checks import build_context, manifest_checks  # noqa: PLC0415
    from harness.manifests.support_range import scenario_kube_versions  # noqa: PLC0415
    from harness.static.contract import check_contracts  # noqa: PLC0415 - loads Terraform
    from harness.static.registry import registry_checks  # noqa: PLC0415
    from harness.static.render import RenderError, render_scenario  # noqa: PLC0415

    try:
        rendered = render_scenario(dict(scenario.tfvars), secrets=dict(secrets),
                                   terraform_dir=terraform_dir())
    except RenderError as exc:
        raise render_failure(scenario, exc) from exc
    extra = registry_checks(scenario.tfvars, rendered, secrets)
    source = chart_source()
    context = build_context(scenario.name, dict(scenario.tfvars), rendered, source=source,
                            kube_versions=kube_versions or scenario_kube_versions(rendered, source))
    checks, findings = manifest_checks(context)
    if manifests_dir is not None:
        context.manifests.write(manifests_dir, rendered.secret_strings)
    return StaticResult(rendered, check_contracts(rendered), [*extra, *checks], findings,
                        context)


def render_failure(scenario: Scenario, exc: RenderError) -> BadInputError | ModuleDefectError:
    """What a rendering failure is: a tfvars value Terraform rejects is bad input, naming the
    field; anything else is a defect of the modules.
    """
    from harness.static.render import InvalidTfvarsError  # noqa: PLC0415

    if isinstance(exc, InvalidTfvarsError):
        return BadInputError(f"{scenario.path}: field 'tfvars.{exc.variable}': {exc.detail}")
    return ModuleDefectError(f"terraform/: cannot render the modules' values: {exc}")
