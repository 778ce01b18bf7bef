"""An upgrade of a running stack: canaries written at the `from` versions, each tool started
again at the `to` versions on the same state while its health is probed, canaries read back.

Public API:
    UpgradeRequest: the two version sets and what the `to` charts deploy
    upgrade_stack(request, stack, target, console, label) -> (UpgradeSummary, checks)
    canary_verdict(tool, count, nothing_upgraded, why_none) -> the tool's canary check
"""

from __future__ import annotations

import concurrent.futures
import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import requests
import sqlalchemy

from harness.errors import BadInputError, ProvisionError, WaitTimeoutError
from harness.launchers._server_env import HARNESS_ENV_REASONS, server_requirements
from harness.report.model import CheckResult, ToolUpgrade, UpgradeSummary
from harness.targets.local import LocalTarget
from harness.upgrade.canaries import Canaries, CanaryCount, CanaryError, compare
from harness.upgrade.database_canaries import DatabaseCanaries
from harness.upgrade.downtime import HealthProbes
from harness.upgrade.feast_canaries import FeastCanaries
from harness.upgrade.jupyterhub_canaries import JupyterhubCanaries
from harness.upgrade.migrations import schema_revision
from harness.upgrade.mlflow_canaries import MlflowCanaries
from harness.upgrade.prefect_canaries import PrefectCanaries

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.stack import Stack
    from harness.static.chart_versions import ExpectedVersion
    from harness.static.render import Rendered
    from harness.targets.base import Progress, Target

CANARIES: dict[str, type[Canaries]] = {
    "mlflow": MlflowCanaries, "prefect": PrefectCanaries, "jupyterhub": JupyterhubCanaries,
    "feast": FeastCanaries, "postgres": DatabaseCanaries}


class UpgradeFailedError(ProvisionError):
    """A tool did not come back at the new versions (its environment, a migration, a server);
    carries what the upgrade had recorded until then, for the report.
    """

    def __init__(self, message: str, summary: UpgradeSummary) -> None:
        super().__init__(message)
        self.summary = summary


@dataclass
class UpgradeRequest:
    """Upgrade from version set `from_set` to `to_set`; `to_versions` is what the `to` charts
    deploy (`{tool: {component: version}}`), `expected` the same as the drift table reads it;
    `to_tfvars` and `to_rendered` the `to` scenario's variables and releases (a cluster's
    upgrade applies them).
    """

    from_set: str
    to_set: str
    to_versions: dict[str, dict[str, str]]
    expected: list[ExpectedVersion] = field(default_factory=list)
    downgrade: bool = False
    # A cluster applies the modules again: the `to` scenario's variables and its rendering.
    to_tfvars: dict[str, Any] = field(default_factory=dict)
    to_rendered: Rendered | None = None


def upgrade_stack(request: UpgradeRequest, stack: Stack, target: Target, progress: Progress,
                  label: str, between: Callable[[Stack], None] | None = None,
                  ) -> tuple[UpgradeSummary, list[CheckResult]]:
    """Write the canaries, upgrade every tool whose versions change, read the canaries back.

    `stack` gets the upgraded tools' versions. Returns the summary and one check per tool with
    canaries (`upgrade.canaries.<tool>`). `between` runs once the canaries are written, before
    anything is upgraded (the fault tests' seam: they delete a canary there).

    Raises:
        BadInputError: the target cannot upgrade a running stack.
        UpgradeFailedError: an environment, a migration or a server failed; names it.
    """
    started = time.monotonic()
    running = [tool for tool in stack.tools if tool not in stack.skip]
    summary = UpgradeSummary(from_set=request.from_set, to_set=request.to_set,
                             downgrade=request.downgrade)
    plans, upgrade = _planned(request, stack, target, running, progress)
    summary.tools = list(plans.values())
    writers, expected, checks = _write_canaries(running, stack, progress, label)
    for tool, written in expected.items():
        plans[tool].canaries_written = len(written)
    if between is not None:
        between(stack)
    try:
        upgrade()
    except ProvisionError as exc:
        summary.duration_s = round(time.monotonic() - started, 2)
        raise UpgradeFailedError(str(exc), summary) from exc
    nothing_upgraded = "" if any(plan.upgraded for plan in plans.values()) else (
        f"no tool runs other versions in {request.to_set!r} than in {request.from_set!r} "
        "here: nothing was upgraded")
    for tool, writer in writers.items():
        progress.component(tool, "canaries", "reading back")
        count = compare(expected[tool], writer.read(stack))
        plan = plans[tool]
        plan.canaries_written, plan.canaries_present = count.written, count.present
        plan.canaries_lost, plan.canaries_changed = count.lost, count.changed
        checks.append(canary_verdict(tool, count, nothing_upgraded, writer.why_none))
    summary.duration_s = round(time.monotonic() - started, 2)
    return summary, checks


def _planned(request: UpgradeRequest, stack: Stack, target: Target, running: list[str],
             progress: Progress) -> tuple[dict[str, ToolUpgrade], Callable[[], None]]:
    """What the target will do to each tool, and the upgrade itself, ready to run.

    Raises:
        BadInputError: the target cannot upgrade a running stack.
    """
    if isinstance(target, LocalTarget):
        plans = {tool: _plan(target, tool, request.to_versions.get(tool, {}))
                 for tool in running}
        return plans, partial(_upgrade, target, stack, plans, progress)
    from harness.targets.k8s import KubernetesTarget  # noqa: PLC0415 - the cluster path
    from harness.upgrade.cluster import cluster_plan, upgrade_cluster  # noqa: PLC0415

    if not isinstance(target, KubernetesTarget) or request.to_rendered is None:
        raise BadInputError(f"upgrade: target {target.url!r} cannot upgrade a running stack")
    to = request.to_rendered
    plans = {tool: cluster_plan(tool, target.releases, to.releases) for tool in target.namespaces}
    return plans, partial(upgrade_cluster, target, stack, plans, request.to_tfvars, to, progress)


def canary_verdict(tool: str, count: CanaryCount, nothing_upgraded: str = "",
                   why_none: str = "") -> CheckResult:
    """`upgrade.canaries.<tool>`: fails naming what was lost or changed; passes only when
    canaries were written, and something was upgraded that could have lost them.
    """
    if not count.written:  # nothing written is nothing proven
        return _canary_check(tool, "skip", f"{tool}: no canaries were written: "
                             + (why_none or "the stack holds nothing of it to write them to"))
    if count.lost or count.changed:
        return _canary_check(tool, "fail", (
            f"{tool}: {count.present} of {count.written} canaries came back as written "
            f"({len(count.lost)} lost, {len(count.changed)} changed): "
            + "; ".join(f"{tool} {line}" for line in count.problems())))
    if nothing_upgraded:  # canaries that nothing could have touched prove nothing
        return _canary_check(tool, "skip", f"{tool}: {nothing_upgraded}")
    return _canary_check(tool, "pass", "")


def _write_canaries(
    tools: list[str], stack: Stack, progress: Progress, label: str,
) -> tuple[dict[str, Canaries], dict[str, dict[str, Any]], list[CheckResult]]:
    """Each tool's canaries, at the `from` versions: the writers, what they wrote, and a failed
    check for each tool whose canaries could not be written.
    """
    writers: dict[str, Canaries] = {}
    expected: dict[str, dict[str, Any]] = {}
    checks: list[CheckResult] = []
    for tool in tools:
        if tool not in CANARIES:
            continue
        progress.component(tool, "canaries", "writing")
        writer = CANARIES[tool]()
        try:
            expected[tool] = writer.write(stack, label)
            writers[tool] = writer
        except (requests.RequestException, WaitTimeoutError, CanaryError) as exc:
            checks.append(_canary_check(tool, "fail", f"{tool}: could not write the canaries "
                                        f"at the `from` versions: {exc}"))
    return writers, expected, checks


def _upgrade(target: LocalTarget, stack: Stack, plans: dict[str, ToolUpgrade],
             progress: Progress) -> None:
    """Start every changing tool again at its `to` versions, side by side (as one `terraform
    apply` upgrades every release at once), its health probed each second meanwhile; record
    each one's schema revisions, downtime and new versions.
    """
    changing = [tool for tool, plan in plans.items() if plan.upgraded]
    stores = {tool: store for tool in changing
              if (store := target.launchers[tool].schema_store())}
    for tool, store in stores.items():
        plans[tool].schema_before = _revision(store)
    components = {tool: target.health_urls(tool) for tool in changing}
    probes = HealthProbes({component: url for urls in components.values()
                           for component, url in urls.items()})
    probes.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(changing))) as pool:
            futures = {tool: pool.submit(target.upgrade_tool, tool, plans[tool].to_versions,
                                         progress) for tool in changing}
            for tool, future in futures.items():
                stack.tools[tool].versions = future.result().versions
    finally:  # recorded also when a tool did not come back: the report shows how far it got
        downtime = probes.stop()
        for tool in changing:
            plans[tool].downtime_s = {component: downtime[component]
                                      for component in components[tool]}
        for tool, store in stores.items():
            plans[tool].schema_after = _revision(store)


def _plan(target: LocalTarget, tool: str, to_versions: dict[str, str]) -> ToolUpgrade:
    """What happens to `tool`: started again at the `to` versions, or left as it runs."""
    launcher = target.launchers[tool]
    current = dict(launcher.context.chart_versions)
    plan = ToolUpgrade(tool=tool, from_versions=current, to_versions={
        component: version for component, version in to_versions.items()
        if server_requirements(tool, component, version) is not None})
    if not current:
        plan.note = HARNESS_ENV_REASONS.get(tool) or (
            "runs what the harness's environment installs at both version sets")
    elif plan.to_versions == current:
        plan.note = "the same versions in both sets"
    else:
        plan.upgraded = True
    return plan


def _revision(store: str) -> str:
    try:
        return schema_revision(store)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        return f"unreadable: {type(exc).__name__}"


def _canary_check(tool: str, status: str, message: str) -> CheckResult:
    return CheckResult(id=f"upgrade.canaries.{tool}", tool=tool,
                       status=status, message=message)  # type: ignore[arg-type]
