"""Render a Report as JUnit XML, a Markdown matrix and one self-contained HTML page.

Never imports pytest or targets: a saved `report.json` can be re-rendered anywhere.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

import jinja2

from harness.report.model import STATUSES

if TYPE_CHECKING:
    from pathlib import Path

    from harness.report.model import CheckResult, Report, ScenarioRun, ToolUpgrade

SYMBOLS = {"pass": "✅ pass", "flaky": "⚠️ flaky", "fail": "❌ fail", "error": "💥 error",
           "skip": "⏭️ skip"}


def column(run: ScenarioRun) -> str:
    """The matrix column a run fills."""
    return run.scenario if run.version_set == "default" else f"{run.scenario}@{run.version_set}"


def matrix(report: Report) -> tuple[list[str], list[str], dict[tuple[str, str], str]]:
    """Rows (check ids), columns, and the status in each cell."""
    columns = [column(run) for run in report.runs]
    rows = sorted({check.id for run in report.runs for check in run.checks})
    cells: dict[tuple[str, str], str] = {
        (check.id, column(run)): check.status for run in report.runs for check in run.checks}
    return rows, columns, cells


def to_junit(report: Report) -> str:
    """One testsuite per scenario; `classname` is `scenario.tool`, `name` the check id."""
    suites = ET.Element("testsuites", name=f"mlops-conformance {report.run_id}")
    for run in report.runs:
        counts = run.counts()
        suite = ET.SubElement(
            suites, "testsuite", name=column(run), tests=str(len(run.checks)),
            failures=str(counts["fail"]), errors=str(counts["error"]),
            skipped=str(counts["skip"]), time=f"{sum(c.duration_s for c in run.checks):.3f}",
            timestamp=report.created_at,
        )
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="target", value=run.target)
        for tool, components in sorted(run.versions.items()):
            for component, version in sorted(components.items()):
                ET.SubElement(props, "property", name=f"version.{tool}.{component}", value=version)
        for drift in run.version_drift:
            ET.SubElement(props, "property", name=f"version-drift.{drift.tool}.{drift.component}",
                          value=f"ran {drift.ran}; chart deploys {drift.chart} ({drift.source})"
                          + (f"; {drift.reason}" if drift.reason else ""))
        for check in run.checks:
            case = ET.SubElement(suite, "testcase", classname=f"{run.scenario}.{check.tool}",
                                 name=check.id, time=f"{check.duration_s:.3f}")
            if check.status in {"fail", "error"}:
                tag = "failure" if check.status == "fail" else "error"
                node = ET.SubElement(case, tag, message=check.message.splitlines()[0][:500]
                                     if check.message else check.status)
                node.text = check.message + (f"\n\ndiagnostics: {check.diagnostics}"
                                             if check.diagnostics else "")
            elif check.status == "skip":
                ET.SubElement(case, "skipped", message=check.message)
            elif check.status == "flaky":
                ET.SubElement(case, "system-out").text = (
                    check.message or f"passed on attempt {check.attempts}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    """The compatibility matrix: versions on top, then checks as rows and scenarios as columns."""
    rows, columns, cells = matrix(report)
    lines = [f"# Conformance report `{report.run_id}`", "",
             f"Created {report.created_at} by mlops-conformance {report.harness_version}.", ""]
    lines += ["| | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    lines.append("| target | " + " | ".join(f"`{r.target}`" for r in report.runs) + " |")
    lines.append("| result | " + " | ".join(_summary(r) for r in report.runs) + " |")
    components = sorted({(t, c) for r in report.runs for t, cs in r.versions.items() for c in cs})
    for tool, component in components:
        values = [r.versions.get(tool, {}).get(component, "–") for r in report.runs]
        lines.append(f"| {tool} {component} | " + " | ".join(f"`{v}`" for v in values) + " |")
    lines += ["", "## Checks", "", "| check | " + " | ".join(columns) + " |",
              "|---|" + "---|" * len(columns)]
    for tool, ids in _groups(rows):
        lines.append(f"| **{tool}** |" + " |" * len(columns))
        lines += [f"| `{row}` | " + " | ".join(
            SYMBOLS.get(cells.get((row, col), ""), "–") for col in columns) + " |"
            for row in ids]
    lines += _drift_markdown(report)
    lines += _upgrade_markdown(report)
    notes = [(column(r), c) for r in report.runs for c in r.checks
             if c.status in {"fail", "error", "skip", "flaky"}]
    if notes:
        lines += ["", "## Details", ""]
        lines += [f"- **{col}** `{c.id}` {c.status}: {_escape(c.message) or '(no message)'}"
                  + (f" (step: {_escape(c.step)})" if c.step else "")
                  + (f" (read: {_escape(c.diagnostics)})" if c.diagnostics else "")
                  for col, c in notes]
    for run in report.runs:
        extra = [f"- infrastructure: {_escape(e)}" for e in run.infrastructure_errors]
        extra += [f"- flaky: `{c.id}`: {_escape(c.message)}" for c in run.checks
                  if c.status == "flaky"]
        extra += [f"- finding: {_escape(f)}" for f in run.findings]
        if run.kube_versions:
            extra.append(f"- manifests: `manifests/<namespace>/<release>.yaml`, judged for "
                         f"Kubernetes {', '.join(run.kube_versions)}; charts from "
                         f"{_escape(run.chart_source)}")
        if extra:
            lines += ["", f"## {column(run)}", "", *extra]
    return "\n".join(lines) + "\n"


def _drift_markdown(report: Report) -> list[str]:
    rows = [(column(r), d) for r in report.runs for d in r.version_drift]
    if not rows:
        return []
    lines = ["", "## Version drift", "",
             "Components that ran another version than the scenario's charts deploy "
             "(reported, not failed).", "",
             "| scenario | tool | component | ran | chart deploys | from | why |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {col} | {d.tool} | {d.component} | `{d.ran}` | `{d.chart}` | "
              f"{_escape(d.source)} | {_escape(d.reason) or '–'} |" for col, d in rows]
    return lines


def _upgrade_markdown(report: Report) -> list[str]:
    lines: list[str] = []
    for run in report.runs:
        if run.upgrade is None:
            continue
        upgrade = run.upgrade
        lines += ["", f"## Upgrade {upgrade.from_set} → {upgrade.to_set} ({column(run)})", "",
                  f"{'A downgrade, allowed by --allow-downgrade. ' if upgrade.downgrade else ''}"
                  f"{upgrade.duration_s:.0f} s from the first canary written to the last "
                  "read back; the checks above ran on the upgraded stack.", "",
                  "| tool | versions | schema (Alembic revision) | unavailable | canaries |",
                  "|---|---|---|---|---|"]
        lines += [f"| {tool.tool} | {_upgrade_versions(tool)} | {_upgrade_schema(tool)} | "
                  f"{_upgrade_downtime(tool)} | {_upgrade_canaries(tool)} |"
                  for tool in upgrade.tools]
    return lines


def _upgrade_versions(tool: ToolUpgrade) -> str:
    if not tool.upgraded:
        return f"not started again: {_escape(tool.note)}"
    return ", ".join(f"{component} `{tool.from_versions.get(component, '?')}` → `{version}`"
                     for component, version in tool.to_versions.items())


def _upgrade_schema(tool: ToolUpgrade) -> str:
    if not tool.schema_before:
        return "–"
    if tool.schema_before == tool.schema_after:
        return f"`{tool.schema_before}` (no migration)"
    return f"`{tool.schema_before}` → `{tool.schema_after}`"


def _upgrade_downtime(tool: ToolUpgrade) -> str:
    return ", ".join(f"{component} {seconds:.0f} s"
                     for component, seconds in tool.downtime_s.items()) or "–"


def _upgrade_canaries(tool: ToolUpgrade) -> str:
    if not tool.canaries_written:
        return "–"
    text = f"{tool.canaries_present}/{tool.canaries_written} present"
    if tool.canaries_lost or tool.canaries_changed:
        text += f" ({len(tool.canaries_lost)} lost, {len(tool.canaries_changed)} changed)"
    return text


def _summary(run: ScenarioRun) -> str:
    return _tally(run.checks) or "no checks"


@dataclass(frozen=True)
class Verdict:
    """The page's first line: passed or failed, the counts, the time, the drift."""

    word: str
    counts: dict[str, int]
    duration_s: float
    drift: int


def verdict(report: Report) -> Verdict:
    """`PASSED` when every column's run exited 0 (it checked something, and nothing failed),
    else `FAILED`; check counts over all columns; the runs' summed phase times.
    """
    counts: dict[str, int] = {status: sum(run.counts()[status] for run in report.runs)
                              for status in STATUSES}
    passed = bool(report.runs) and all(run.exit_code == 0 and run.checks for run in report.runs)
    return Verdict("PASSED" if passed else "FAILED", counts,
                   sum(sum(run.phases_s.values()) for run in report.runs),
                   sum(len(run.version_drift) for run in report.runs))


def _problems(report: Report) -> list[tuple[str, ScenarioRun, CheckResult]]:
    """Failing and erring checks, then flaky ones, each with its column and run."""
    found = [(column(run), run, check) for run in report.runs for check in run.checks
             if check.status in {"fail", "error", "flaky"}]
    return sorted(found, key=lambda item: (item[2].status == "flaky", item[0], item[2].id))


def _groups(rows: list[str]) -> list[tuple[str, list[str]]]:
    """Check ids grouped by the tool their id starts with, in order."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row.split(".", 1)[0], []).append(row)
    return list(groups.items())


def _by_tool(run: ScenarioRun) -> list[tuple[str, list[CheckResult]]]:
    groups: dict[str, list[CheckResult]] = {}
    for check in run.checks:
        groups.setdefault(check.tool, []).append(check)
    return sorted(groups.items())


def _tally(checks: list[CheckResult]) -> str:
    counts = {status: sum(c.status == status for c in checks) for status in STATUSES}
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n)


def to_html(report: Report) -> str:
    """One self-contained page (inline CSS, no scripts or external assets): the verdict,
    failures first, the matrix grouped by tool, then each column's phases and tools.
    """
    rows, columns, _ = matrix(report)
    cells = {(check.id, column(run)): check for run in report.runs for check in run.checks}
    template = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
        resources.files("harness.report").joinpath("templates/report.html.j2").read_text("utf-8"))
    components = sorted({(t, c) for r in report.runs for t, cs in r.versions.items() for c in cs})
    infrastructure = [(column(run), error) for run in report.runs
                      for error in run.infrastructure_errors]
    return template.render(report=report, groups=_groups(rows), columns=columns, cells=cells,
                           components=components, column=column, summary=_summary,
                           verdict=verdict(report), problems=_problems(report),
                           infrastructure=infrastructure, by_tool=_by_tool, tally=_tally)


def write_all(report: Report, directory: Path) -> list[Path]:
    """Write report.json, junit.xml, report.md and report.html into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    report.save(directory / "report.json")
    outputs = {"junit.xml": to_junit(report), "report.md": to_markdown(report),
               "report.html": to_html(report)}
    for name, text in outputs.items():
        (directory / name).write_text(text, encoding="utf-8")
    return [directory / "report.json", *(directory / name for name in outputs)]
