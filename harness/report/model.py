"""The report's data model (`report.json`, schema-versioned), and how results become one."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import BadInputError

if TYPE_CHECKING:
    from collections.abc import Callable

SCHEMA_VERSION: Literal[1] = 1
Status = Literal["pass", "fail", "error", "skip", "flaky"]
STATUSES: tuple[Status, ...] = ("pass", "flaky", "fail", "error", "skip")


class CheckResult(BaseModel):
    """One check in one scenario run."""

    model_config = ConfigDict(extra="forbid")

    id: str
    tool: str
    status: Status
    duration_s: float = 0.0
    message: str = ""
    attempts: int = 1
    diagnostics: str | None = None
    step: str = ""  # where a failure happened: phase and the check's line


class VersionDrift(BaseModel):
    """A component that ran another version than the scenario's charts deploy (reported, not
    failed, until the local target runs the charts' versions).
    """

    model_config = ConfigDict(extra="forbid")

    tool: str
    component: str
    ran: str  # as the running server reported it when the checks ran
    chart: str  # what the chart deploys
    source: str  # where that expectation was read: release, chart version, values path
    reason: str = ""  # why the target ran another version, as the target explains it


class ToolUpgrade(BaseModel):
    """One tool through an upgrade: the versions, its migrations, its downtime, its canaries."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    from_versions: dict[str, str] = Field(default_factory=dict)
    to_versions: dict[str, str] = Field(default_factory=dict)
    upgraded: bool = False
    note: str = ""  # why it was not started again at other versions
    # The Alembic revision its database held before and after (read from the database).
    schema_before: str = ""
    schema_after: str = ""
    downtime_s: dict[str, float] = Field(default_factory=dict)  # per server component
    canaries_written: int = 0
    canaries_present: int = 0
    canaries_lost: list[str] = Field(default_factory=list)
    canaries_changed: list[str] = Field(default_factory=list)


class UpgradeSummary(BaseModel):
    """An upgrade of a running stack from one version set to another."""

    model_config = ConfigDict(extra="forbid")

    from_set: str
    to_set: str
    downgrade: bool = False
    duration_s: float = 0.0
    tools: list[ToolUpgrade] = Field(default_factory=list)


class ScenarioRun(BaseModel):
    """One scenario provisioned on one target, and what its checks found."""

    model_config = ConfigDict(extra="forbid")

    scenario: str
    description: str = ""
    target: str
    version_set: str = "default"
    versions: dict[str, dict[str, str]] = Field(default_factory=dict)
    version_drift: list[VersionDrift] = Field(default_factory=list)
    phases_s: dict[str, float] = Field(default_factory=dict)
    ready_s: dict[str, float] = Field(default_factory=dict)
    peak_rss_mb: float | None = None
    checks: list[CheckResult] = Field(default_factory=list)
    findings: list[str] = Field(default_factory=list)
    # The static stage's manifests: rendered for these Kubernetes versions, charts from here.
    kube_versions: list[str] = Field(default_factory=list)
    chart_source: str = ""
    infrastructure_errors: list[str] = Field(default_factory=list)
    # Per tool with a failing check: the last lines of its servers' logs, secrets masked.
    log_tails: dict[str, str] = Field(default_factory=dict)
    # An `upgrade` run: what the upgrade from one version set to the other kept.
    upgrade: UpgradeSummary | None = None
    exit_code: int = 0

    def counts(self) -> dict[str, int]:
        """Number of checks per status."""
        return {status: sum(c.status == status for c in self.checks) for status in STATUSES}


class Report(BaseModel):
    """A whole run: one or more scenario runs."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    run_id: str
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    harness_version: str = ""
    runs: list[ScenarioRun] = Field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """The worst exit code of the runs: infrastructure (3) over a failed check (1)."""
        codes = [run.exit_code for run in self.runs] or [0]
        return 3 if 3 in codes else max(codes)

    def save(self, path: Path) -> None:
        """Write `report.json`."""
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Report:
        """Read a `report.json`.

        Raises:
            BadInputError: unreadable or not a report of this schema.

        """
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, ValidationError) as exc:
            raise BadInputError(f"{path}: not a readable report.json: {exc}") from exc


def exit_code_for(
    checks: list[CheckResult], infrastructure_errors: list[str], fail_on_flaky: bool = False
) -> int:
    """0 every applicable check passed; 1 a check failed (or, with `fail_on_flaky`, passed only
    on a retry); 3 an infrastructure error.
    """
    if infrastructure_errors or any(c.status == "error" for c in checks):
        return 3
    failed = {"fail", "flaky"} if fail_on_flaky else {"fail"}
    if any(c.status in failed for c in checks):
        return 1
    return 0


def checks_from_results(
    document: dict[str, Any], diagnostics: Callable[[str], str | None]
) -> list[CheckResult]:
    """Turn the plugin's results file into check results, sorted by id.

    `diagnostics(tool)` names what to read when a check of that tool fails or errors.
    """
    checks = []
    for raw in document.get("checks", []):
        result = CheckResult(
            id=raw["id"], tool=raw["tool"], status=raw["status"],
            duration_s=raw.get("duration_s", 0.0), message=raw.get("message", ""),
            attempts=max(1, raw.get("attempts", 1)), step=raw.get("step", ""),
        )
        if result.status in {"fail", "error"}:
            result.diagnostics = diagnostics(result.tool)
        checks.append(result)
    return sorted(checks, key=lambda c: c.id)
