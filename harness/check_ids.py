"""The check ids each check module declares (`CHECK_IDS = ("tool.name", ...)`), read without
importing the modules: validating a scenario must not load MLflow, Feast or Dask.

The pytest plugin holds every module to its declaration at collection, so this list is the
list of checks that can run.
"""

from __future__ import annotations

import ast
from functools import cache
from typing import TYPE_CHECKING, Any

from harness.paths import project_dir

if TYPE_CHECKING:
    from pathlib import Path

DECLARATION = "CHECK_IDS"


def declared_ids(source: str) -> tuple[str, ...] | None:
    """The literal tuple of strings a module assigns to `CHECK_IDS`, or None without one.

    >>> declared_ids('CHECK_IDS = ("dask.connect", "dask.array")')
    ('dask.connect', 'dask.array')
    """
    declared = module_literal(source, DECLARATION)
    return None if declared is None else tuple(str(item) for item in declared)


def module_literal(source: str, name: str) -> Any:
    """The literal a module assigns to `name` at its top level, or None without one.

    >>> module_literal('WORK_UNIT = "feast"', "WORK_UNIT")
    'feast'
    """
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    return None


@cache
def known_check_ids(checks_dir: Path | None = None) -> frozenset[str]:
    """Every check id the check modules under `checks_dir` (default: conformance/) declare."""
    root = checks_dir or project_dir("conformance")
    ids: set[str] = set()
    for path in sorted(root.rglob("test_*.py")):
        ids.update(declared_ids(path.read_text(encoding="utf-8")) or ())
    return frozenset(ids)
