"""A canary data set: objects a tool holds, written through its public API before an upgrade
and read back after it. Each object is one reading under a name that says what it is (e.g.
`run 3f2a1b0c… metric loss@step 3`), so a lost or changed one is named in the failure.

Public API:
    Canaries: per tool, the readings written (`expected`) and how to read them again
    CanaryError: a tool refused to take its canaries
    compare(expected, found) -> CanaryCount with the names of the lost and changed objects
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from harness.stack import Stack


class CanaryError(Exception):
    """Canaries could not be written, for a reason the tool gave (its message says which)."""


class Canaries(Protocol):
    """One tool's canaries: `write` creates them and returns the readings it expects, keeping
    the ids the tool gave them; `read` reads those objects again from the running tool
    (a reading whose object is gone is left out). `why_none` says why `write` wrote nothing,
    when it did not.
    """

    TOOL: str
    why_none: str

    def write(self, stack: Stack, label: str) -> dict[str, Any]:
        """Create the objects (names carry `label`, unique per run); `{reading: value}`."""

    def read(self, stack: Stack) -> dict[str, Any]:
        """Read every object `write` created; `{reading: value}`."""


@dataclass
class CanaryCount:
    """How many canaries of one tool came back as written, and which did not."""

    written: int
    lost: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def present(self) -> int:
        """Readings found with the value written."""
        return self.written - len(self.lost) - len(self.changed)

    def problems(self, limit: int = 10) -> list[str]:
        """One line per lost or changed reading (at most `limit`, then how many more)."""
        lines = [f"{name} missing" for name in self.lost] + self.changed
        more = len(lines) - limit
        return lines[:limit] + ([f"... and {more} more"] if more > 0 else [])


def compare(expected: dict[str, Any], found: dict[str, Any]) -> CanaryCount:
    """Each expected reading against what was read back.

    >>> count = compare({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 5})
    >>> count.present, count.lost, count.changed
    (1, ['c'], ['b: wrote 2, read 5'])
    """
    count = CanaryCount(written=len(expected))
    for name, value in expected.items():
        if name not in found:
            count.lost.append(name)
        elif found[name] != value:
            count.changed.append(f"{name}: wrote {value!r}, read {found[name]!r}")
    return count
