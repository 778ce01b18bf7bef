"""An upgrade on a cluster: the root module applied again over the running installation with
the `to` set's chart versions, as a user's `terraform apply` of a chart bump does; each tool
probed through its port-forward meanwhile.

A release is upgraded when its chart version changes: the chart's templates, its image tags
and its hooks (the tools' migrations run as the charts run them, e.g. MLflow's
`mlflow-db-migration` init container, JupyterHub's `hub.db.upgrade`) are the cluster's to run.

Public API:
    cluster_plan(tool, before, after) -> ToolUpgrade by the chart versions of its releases
    upgrade_cluster(target, stack, plans, tfvars, rendered, progress)
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from harness.probes import probe
from harness.report.model import ToolUpgrade
from harness.upgrade.downtime import HealthProbes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from harness.stack import Stack, ToolEntry
    from harness.static.render import Release, Rendered
    from harness.targets.base import Progress
    from harness.targets.k8s import KubernetesTarget


def cluster_plan(tool: str, before: Sequence[Release], after: Sequence[Release]) -> ToolUpgrade:
    """What happens to `tool`'s releases: each at its chart version, before and after.

    >>> from harness.static.render import Release
    >>> old = [Release("dask", "dask", "dask", "2024.1.0", "", {})]
    >>> new = [Release("dask", "dask", "dask", "2024.1.1", "", {})]
    >>> cluster_plan("dask", old, new).upgraded
    True
    """
    charts = [{r.name: r.version for r in releases if r.module == tool}
              for releases in (before, after)]
    plan = ToolUpgrade(tool=tool, from_versions=charts[0], to_versions=charts[1])
    if charts[0] == charts[1]:
        plan.note = "the same chart versions in both sets"
    else:
        plan.upgraded = True
    return plan


def _answers(tool: str, entry: ToolEntry) -> bool:
    """Whether the tool answers as itself through its forward (the checks' own probe)."""
    verdict = probe(tool, entry)
    return not (verdict.dead or verdict.other)


def upgrade_cluster(target: KubernetesTarget, stack: Stack, plans: dict[str, ToolUpgrade],
                    tfvars: dict[str, Any], rendered: Rendered, progress: Progress) -> None:
    """Apply the `to` set (`tfvars`, rendered as `rendered`) and wait for its workloads, each
    upgraded tool probed once a second through its forward; record each one's downtime.

    Raises:
        ProvisionError: the apply or the readiness gate failed; names what.
    """
    changing = [tool for tool, plan in plans.items() if plan.upgraded]
    probes = HealthProbes({tool: partial(_answers, tool, stack.tools[tool]) for tool in changing
                           if tool in stack.tools and tool not in stack.skip})
    probes.start()
    try:
        target.upgrade(tfvars, rendered, progress)
    finally:  # recorded also when the apply failed: the report shows how far it got
        downtime = probes.stop()
        for tool in changing:
            if tool in downtime:
                plans[tool].downtime_s = {tool: downtime[tool]}
