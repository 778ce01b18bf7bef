"""The workloads one run installs: those of the rendered manifests (`<run>/manifests/`, written
by the static stage for the scenario's own namespaces), moved into the run's namespaces, which
is all that differs when the modules are applied with `<tool>_namespace` set per run.

Public API:
    run_workloads(manifests_dir, releases, namespaces) -> list[Workload]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from harness.k8s.readiness import Workload, workloads
from harness.manifests.model import Manifests, RenderedRelease

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from harness.static.render import Release


def run_workloads(manifests_dir: Path, releases: Sequence[Release],
                  namespaces: dict[str, str]) -> list[Workload]:
    """The workloads of every release of a tool given a run namespace (`namespaces`: tool to
    namespace), read from `manifests_dir/<namespace>/<release>.yaml`.

    Raises:
        FileNotFoundError: a release to install was not rendered (no chart at hand): what it
            creates is unknown, so readiness could not be judged.
    """
    moved = []
    for release in releases:
        run_namespace = namespaces.get(release.module)
        if run_namespace is None:
            continue
        path = manifests_dir / release.namespace / f"{release.name}.yaml"
        if not path.is_file():
            msg = (f"{release.module}/{release.name}: no rendered manifests at {path}; the "
                   "readiness gate needs them (make the chart available: `mlops-conformance "
                   "charts pull`, or --charts DIR)")
            raise FileNotFoundError(msg)
        objects = [_moved(obj, release.namespace, run_namespace)
                   for obj in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                   if isinstance(obj, dict)]
        moved.append(RenderedRelease(release.module, release.name, run_namespace,
                                     release.chart, release.version, tuple(objects)))
    return workloads(Manifests(tuple(moved)))


def _moved(obj: dict[str, Any], rendered: str, run: str) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    if meta.get("namespace") == rendered:
        return {**obj, "metadata": {**meta, "namespace": run}}
    return obj
