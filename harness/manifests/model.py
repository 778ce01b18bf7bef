"""Rendered manifests of one scenario: per release, the objects its chart renders; beside
them the objects the modules create directly (namespaces, Secrets).

Public API:
    RenderedRelease(module, name, namespace, chart, version, objects, error)
    Manifests(releases, direct, kube_version, chart_source)
    Manifests.objects() -> iterator of (owner, object) for every object
    Manifests.write(directory, secrets) -> paths   manifests/<namespace>/<release>.yaml, masked
    ref(obj) -> "Kind namespace/name"
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from harness.static.render import mask_secrets

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

# Objects the modules create with the kubernetes provider, not with a chart.
DIRECT = "(module)"


@dataclass(frozen=True)
class RenderedRelease:
    """One Helm release rendered: its objects, or why it could not be rendered."""

    module: str
    name: str
    namespace: str
    chart: str
    version: str
    objects: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    # Why there are no objects: helm's error, or the chart is not at hand (`skipped`).
    error: str = ""
    skipped: bool = False

    @property
    def label(self) -> str:
        """`module/release (chart version)`, for messages."""
        return f"{self.module}/{self.name} ({self.chart} {self.version})"


@dataclass(frozen=True)
class Manifests:
    """Everything one scenario deploys, rendered for one Kubernetes version."""

    releases: tuple[RenderedRelease, ...]
    direct: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    kube_version: str = ""
    chart_source: str = ""

    def objects(self) -> Iterator[tuple[RenderedRelease | None, dict[str, Any]]]:
        """Every object with the release that renders it (None: a module creates it)."""
        for obj in self.direct:
            yield None, obj
        for release in self.releases:
            for obj in release.objects:
                yield release, obj

    def release(self, module: str, name: str) -> RenderedRelease | None:
        """The rendered release `name` of `module`, if the scenario installs it."""
        return next((r for r in self.releases if (r.module, r.name) == (module, name)), None)

    def write(self, directory: Path, secrets: Iterable[str]) -> list[Path]:
        """Write `<namespace>/<release>.yaml` per release and `_module/objects.yaml` for the
        direct objects, with every secret (plain or base64) masked.
        """
        hidden = _with_encodings(secrets)
        written = []
        groups: list[tuple[str, str, Iterable[dict[str, Any]]]] = [
            (r.namespace, r.name, r.objects) for r in self.releases if r.objects]
        if self.direct:
            groups.append(("_module", "objects", self.direct))
        for namespace, name, objects in groups:
            path = directory / namespace / f"{name}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump_all([mask_secrets(o, hidden) for o in objects],
                                               sort_keys=False))
            written.append(path)
        return written


def ref(obj: dict[str, Any]) -> str:
    """`Kind namespace/name` (or `Kind name` for a cluster-scoped object)."""
    meta = obj.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('kind', '?')} {where}{meta.get('name', '?')}"


def _with_encodings(secrets: Iterable[str]) -> frozenset[str]:
    # Secrets' `data` holds base64: mask a secret in either form.
    plain = {s for s in secrets if s}
    return frozenset(plain | {base64.b64encode(s.encode()).decode() for s in plain})
