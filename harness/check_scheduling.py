"""How pytest-xdist shares the checks among its workers: one work unit per tool.

A work unit runs on one worker, its checks in collection order. The unit of a check module is
its `WORK_UNIT` if it declares one, else the tool its first declared check id names
(`CHECK_IDS`); both are read without importing. So the checks that act on one tool's shared
state run one after another, in the order a serial run gives them: `test_external_postgres.py`,
which restarts MLflow, never does so under `test_mlflow.py`'s checks, and the journey, which
adds its view to Feast's one project, runs before `test_feast.py`'s `feast apply` replaces
that project's objects. Different units run side by side.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xdist.scheduler import LoadScopeScheduling

from harness.check_ids import declared_ids, module_literal

if TYPE_CHECKING:
    import pytest


DECLARATION = "WORK_UNIT"


def work_unit(nodeid: str, rootdir: Path) -> str:
    """The work unit of the check `nodeid` (relative to `rootdir`): its module's `WORK_UNIT`,
    else its module's first tool, else (a module that declares no checks) the module itself.
    """
    module = nodeid.split("::", 1)[0]
    return _unit_of(rootdir / module) or module


@cache
def _unit_of(path: Path) -> str | None:
    try:
        source = path.read_text(encoding="utf-8")
        unit = module_literal(source, DECLARATION)
        declared = declared_ids(source)
    except (OSError, SyntaxError, ValueError):
        return None
    if unit is not None:
        return str(unit)
    return declared[0].split(".", 1)[0] if declared else None


class ToolScheduling(LoadScopeScheduling):  # type: ignore[misc] # xdist ships no types
    """pytest-xdist's scope scheduling with a tool, not a module or class, as the scope."""

    def __init__(self, config: pytest.Config, log: Any = None) -> None:
        super().__init__(config, log)
        self.rootdir = Path(config.rootpath)

    def _split_scope(self, nodeid: str) -> str:
        return work_unit(nodeid, self.rootdir)
