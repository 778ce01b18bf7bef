"""The results file of checks run by several pytest-xdist workers: one part per worker, merged.

Each worker records only the checks it ran, so each writes its own part beside the results
file (`results.json.gw0`, ...), as often as the serial run writes the whole file; the
controller merges the parts into the results file after every check and at the end. A run
stopped half way thus still says which selected checks never reported, as a serial one does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.verdicts import fold


def part_path(results: str | Path, worker: str) -> Path:
    """Where worker `worker` (xdist's `gw0`, ...) writes its part of `results`."""
    return Path(f"{results}.{worker}")


def write_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write JSON so that a reader never sees half a file."""
    partial = Path(f"{path}.partial")
    partial.write_text(json.dumps(document, indent=2), encoding="utf-8")
    partial.replace(path)


def merge(results: str | Path, *, final: bool = False) -> dict[str, Any]:
    """Merge the workers' parts into `results` (verdicts folded again over all nodes); with
    `final`, the parts are removed afterwards.
    """
    parts = sorted(Path(results).parent.glob(f"{Path(results).name}.gw*"))
    documents = [_read(part) for part in parts if not part.name.endswith(".partial")]
    # Every worker collects every check: their selections agree; take the first one found.
    selected: list[dict[str, Any]] = next(
        (doc["selected"] for doc in documents if doc.get("selected")), [])
    # In collection order, the order a serial run records them in.
    order = {entry["nodeid"]: index for index, entry in enumerate(selected)}
    nodes = sorted((node for doc in documents for node in doc.get("nodes", [])),
                   key=lambda node: order.get(node["nodeid"], len(order)))
    errors = {e["nodeid"]: e for doc in documents for e in doc.get("collection_errors", [])}
    versions: dict[str, dict[str, str]] = {}
    for doc in documents:
        for tool, components in doc.get("versions", {}).items():
            versions.setdefault(tool, {}).update(components)
    document = {"checks": fold(nodes, selected), "selected": selected, "nodes": nodes,
                "collection_errors": list(errors.values()), "versions": versions}
    write_atomically(Path(results), document)
    if final:
        for part in parts:
            part.unlink(missing_ok=True)
    return document


def _read(path: Path) -> dict[str, Any]:
    try:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return document
