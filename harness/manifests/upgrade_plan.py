"""Upgrades, judged statically: render one scenario with two version sets and say, per object
and per release, what `helm upgrade` from the first to the second would do (see
`upgrade_rules` for the verdicts), which images change (so the reader sees which database
migrations run) and which values the modules set that the new chart no longer accepts.

Both renderings get the same secrets, so secret-derived fields do not show as changes. Charts
that generate random values when no live object can be looked up (`helm template` has no
cluster) still render new ones; a real upgrade reads the live ones back.

Public API:
    upgrade_plan(scenario, from_set, to_set, *, source, kube_version) -> UpgradePlan
    plan_between(before, after, *, source, kube_version, ...) -> UpgradePlan  (two renderings)
    UpgradePlan.verdict, .exit_code, .to_json(); ReleasePlan.verdict
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from harness.errors import ExitCode
from harness.manifests.kube_api import full_version
from harness.manifests.render import render_manifests
from harness.manifests.upgrade_rules import (
    RANK,
    ObjectPlan,
    images,
    judge,
    migration_steps,
    object_key,
)
from harness.static.render import MASK, Rendered

if TYPE_CHECKING:
    from harness.charts.source import ChartSource
    from harness.manifests.model import RenderedRelease
    from harness.scenario import Scenario
    from harness.version_sets import VersionSet

# Charts whose server brings its database schema to its own version when it starts (or runs
# the migration on upgrade): a rollback to the old image needs a backup.
MIGRATING = {"mlflow": "MLflow", "prefect-server": "Prefect", "jupyterhub": "JupyterHub"}


@dataclass(frozen=True)
class ReleasePlan:
    """One release's upgrade: its objects' verdicts, its own failures and what to know."""

    module: str
    name: str
    namespace: str
    chart: str
    from_version: str
    to_version: str
    objects: tuple[ObjectPlan, ...] = ()
    failures: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # Why it could not be compared (a chart not at hand, with the fix); empty when it was.
    skipped: str = ""

    @property
    def label(self) -> str:
        """`module/release (chart from -> to)`."""
        return (f"{self.module}/{self.name} ({self.chart} {self.from_version} -> "
                f"{self.to_version})")

    @property
    def verdict(self) -> str:
        """`skipped`, else the worst of its objects', `fail` with a failure of its own."""
        if self.skipped:
            return "skipped"
        if self.failures:
            return "fail"
        return max((o.verdict for o in self.objects), key=RANK.__getitem__, default="ok")

    def counts(self) -> dict[str, int]:
        """Objects per verdict, mildest first."""
        return {v: n for v in RANK if (n := sum(o.verdict == v for o in self.objects))}

    def failure_messages(self) -> list[str]:
        """Every failure of the release, each naming the object (or the release)."""
        return [*(f"{self.label}: {f}" for f in self.failures),
                *(f"{o.ref}: {f}" for o in self.objects for f in o.failures)]


@dataclass(frozen=True)
class UpgradePlan:
    """A scenario's upgrade from one version set to another, release by release."""

    scenario: str
    from_set: str
    to_set: str
    kube_version: str
    releases: tuple[ReleasePlan, ...]

    @property
    def verdict(self) -> str:
        """The worst release verdict; `skipped` when no release could be compared."""
        compared = [r.verdict for r in self.releases if r.verdict != "skipped"]
        return max(compared, key=RANK.__getitem__) if compared else "skipped"

    @property
    def exit_code(self) -> ExitCode:
        """1 on any failure, 3 when nothing could be rendered, else 0."""
        if self.verdict == "fail":
            return ExitCode.CHECK_FAILED
        if self.verdict == "skipped":
            return ExitCode.INFRASTRUCTURE
        return ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        """The plan as plain data (for `--json`)."""
        return {
            "scenario": self.scenario, "from": self.from_set, "to": self.to_set,
            "kube_version": self.kube_version, "verdict": self.verdict,
            "releases": [{
                "module": r.module, "release": r.name, "namespace": r.namespace,
                "chart": r.chart, "from_version": r.from_version, "to_version": r.to_version,
                "verdict": r.verdict, "skipped": r.skipped, "failures": list(r.failures),
                "notes": list(r.notes),
                "objects": [{"kind": o.kind, "namespace": o.namespace, "name": o.name,
                             "verdict": o.verdict, "failures": list(o.failures),
                             "changes": list(o.changes)}
                            for o in r.objects],
            } for r in self.releases],
        }


def upgrade_plan(scenario: Scenario, from_set: VersionSet, to_set: VersionSet, *,
                 source: ChartSource, kube_version: str) -> UpgradePlan:
    """Render `scenario` with each version set (the same secrets for both) and compare.

    Raises:
        InvalidTfvarsError: Terraform rejects a version of a set (bad input).
        RenderError: the modules' values do not render.

    """
    from harness.secrets import run_secrets  # noqa: PLC0415 - Terraform only when planning
    from harness.static.render import render_scenario  # noqa: PLC0415
    from harness.version_sets import apply_version_set  # noqa: PLC0415

    secrets = run_secrets(scenario)
    before = render_scenario(apply_version_set(dict(scenario.tfvars), from_set), secrets=secrets)
    after = render_scenario(apply_version_set(dict(scenario.tfvars), to_set), secrets=secrets)
    return plan_between(before, after, source=source, kube_version=kube_version,
                        scenario=scenario.name, from_set=from_set.name, to_set=to_set.name)


def plan_between(before: Rendered, after: Rendered, *, source: ChartSource, kube_version: str,
                 scenario: str = "", from_set: str = "", to_set: str = "") -> UpgradePlan:
    """Compare two renderings of the same scenario, release by release."""
    full = full_version(kube_version)
    old = render_manifests(before, source=source, kube_version=full)
    new = render_manifests(after, source=source, kube_version=full)
    contract, unchecked = _contract_failures(after)
    hidden = before.secret_strings | after.secret_strings
    old_by = {(r.module, r.name): r for r in old.releases}
    new_by = {(r.module, r.name): r for r in new.releases}
    plans = []
    for key in [*new_by, *(k for k in old_by if k not in new_by)]:
        plan = _release_plan(old_by.get(key), new_by.get(key), contract.get(key, []))
        if key in unchecked:
            plan = replace(plan, notes=(*plan.notes, f"values contract not checked: "
                                                      f"{unchecked[key]}"))
        plans.append(_masked(plan, hidden))
    return UpgradePlan(scenario, from_set, to_set, kube_version, tuple(plans))


def _release_plan(old: RenderedRelease | None, new: RenderedRelease | None,
                  contract: list[str]) -> ReleasePlan:
    either = new or old
    assert either is not None
    head = (either.module, either.name, either.namespace, either.chart,
            old.version if old else "(none)", new.version if new else "(none)")
    for side, release in (("new", new), ("old", old)):
        if release is not None and release.skipped:
            return ReleasePlan(*head, skipped=f"{side} chart not at hand: {release.error}")
    if new is not None and new.error:
        return ReleasePlan(*head, failures=(f"the new chart does not render the module's "
                                            f"values: {_one_line(new.error)}", *contract))
    if old is not None and old.error:
        # Today's modules may set values the old chart refuses: no old state to start from.
        return ReleasePlan(*head, skipped=f"the old chart does not render the module's "
                                          f"values, nothing to compare: {_one_line(old.error)}")
    before = _keyed(old)
    after = _keyed(new)
    objects = tuple(judge(key, before.get(key), after.get(key))
                    for key in [*after, *(k for k in before if k not in after)])
    return ReleasePlan(*head, objects=objects, failures=tuple(contract),
                       notes=tuple(_notes(either.chart, before, after)))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _keyed(release: RenderedRelease | None) -> dict[tuple[str, str, str], dict[str, Any]]:
    if release is None:
        return {}
    return {object_key(obj, release.namespace): obj for obj in release.objects}


def _notes(chart: str, before: dict[Any, dict[str, Any]],
           after: dict[Any, dict[str, Any]]) -> list[str]:
    """Image changes release-wide (`repo:old -> repo:new`, per container of each object), and
    the database migrations they bring.
    """
    pairs = set()
    for key in before.keys() & after.keys():
        old, new = images(before[key]), images(after[key])
        pairs |= {(old[c], new[c]) for c in old.keys() & new.keys() if old[c] != new[c]}
    old_all = {i for obj in before.values() for i in images(obj).values()}
    new_all = {i for obj in after.values() for i in images(obj).values()}
    notes = [f"image {was} -> {now}" for was, now in sorted(pairs)]
    notes += [f"new image {i}" for i in sorted(new_all - old_all - {n for _, n in pairs})]
    notes += [f"image {i} no longer used"
              for i in sorted(old_all - new_all - {w for w, _ in pairs})]
    steps = [f"{obj.get('kind')} {(obj.get('metadata') or {}).get('name')}: {step}"
             for obj in after.values() for step in migration_steps(obj)]
    if chart in MIGRATING and new_all - old_all:
        how = f" ({'; '.join(steps)})" if steps else ""
        notes.append(f"{MIGRATING[chart]} migrates its database schema to the new version "
                     f"on upgrade{how}: back the database up first, a rollback to the old "
                     "image does not downgrade it")
    elif steps and new_all - old_all:
        notes.append(f"database migrations run: {'; '.join(steps)}")
    return notes


def _contract_failures(after: Rendered) -> tuple[dict[tuple[str, str], list[str]],
                                                 dict[tuple[str, str], str]]:
    """Values the modules set that the new chart no longer accepts, per release, from the
    values contract; and the releases whose chart data the contract cannot read, with why.
    """
    from harness.static.contract import chart_data, check_contracts  # noqa: PLC0415

    readable = []
    unchecked = {}
    for release in after.releases:
        try:
            chart_data(release.chart, release.version)
        except FileNotFoundError as exc:
            unchecked[release.module, release.name] = str(exc)
            continue
        readable.append(release)
    found: dict[tuple[str, str], list[str]] = {}
    for verdict in check_contracts(Rendered(tuple(readable), after.secret_strings)):
        if not verdict.passed:
            where = f" at {verdict.key_path}" if verdict.key_path else ""
            found.setdefault((verdict.module, verdict.release), []).append(
                f"values contract of {verdict.chart} {verdict.chart_version}{where}: "
                f"{verdict.message}")
    return found, unchecked


def _masked(plan: ReleasePlan, hidden: frozenset[str]) -> ReleasePlan:
    """The plan with every secret the renderings hold replaced by `(sensitive)`."""
    if not hidden:
        return plan

    def clean(texts: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(MASK if any(s in t for s in hidden) else t for t in texts)

    return ReleasePlan(
        plan.module, plan.name, plan.namespace, plan.chart, plan.from_version, plan.to_version,
        tuple(ObjectPlan(o.kind, o.namespace, o.name, o.verdict, clean(o.failures),
                         clean(o.changes)) for o in plan.objects),
        clean(plan.failures), clean(plan.notes),
        MASK if any(s in plan.skipped for s in hidden) else plan.skipped)
