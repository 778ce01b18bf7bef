"""Compare two reports: which checks got worse (a regression), stopped being checked (lost
coverage) or got better, per scenario column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.report.render import column

if TYPE_CHECKING:
    from harness.report.model import Report

# Higher is better; a move down this scale is a regression.
_RANK = {"error": 0, "fail": 1, "flaky": 2, "pass": 3}
_CHECKED = {"pass", "flaky"}
_UNCHECKED = {"skip", "missing"}


@dataclass(frozen=True)
class Change:
    """One check whose status differs between the two reports."""

    column: str
    check: str
    before: str
    after: str

    @property
    def regression(self) -> bool:
        """True when the check got worse while still running."""
        if self.before in _UNCHECKED or self.after in _UNCHECKED:
            return False
        return _RANK[self.after] < _RANK[self.before]

    @property
    def lost_coverage(self) -> bool:
        """True when a check that passed is skipped or gone: the run checks less than before."""
        return self.before in _CHECKED and self.after in _UNCHECKED

    @property
    def kind(self) -> str:
        """`regression`, `lost coverage` or `changed`."""
        if self.regression:
            return "regression"
        return "lost coverage" if self.lost_coverage else "changed"

    def __str__(self) -> str:
        return f"{self.column} {self.check}: {self.before} -> {self.after}"


def compare(before: Report, after: Report) -> list[Change]:
    """Every check whose status changed, in columns present in both reports.

    >>> from harness.report.model import Report
    >>> compare(Report(run_id="a"), Report(run_id="b"))
    []
    """
    old = {(column(r), c.id): c.status for r in before.runs for c in r.checks}
    new = {(column(r), c.id): c.status for r in after.runs for c in r.checks}
    shared = {col for col, _ in old} & {col for col, _ in new}
    changes = []
    for key in sorted(set(old) | set(new)):
        if key[0] not in shared:
            continue
        was, now = old.get(key, "missing"), new.get(key, "missing")
        if was != now:
            changes.append(Change(key[0], key[1], was, now))
    return changes
