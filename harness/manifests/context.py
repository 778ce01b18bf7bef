"""What the manifest checks are given: the scenario's rendered values, its manifests rendered
for each Kubernetes version under test, and where the charts came from.

Each family of checks is a module with `checks(ctx) -> list[CheckResult]` (and, where it has
them, `findings(ctx) -> list[str]`), listed in `harness/manifests/checks.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.charts.source import ChartSource
    from harness.manifests.model import Manifests
    from harness.static.render import Rendered


@dataclass(frozen=True)
class ManifestContext:
    """One scenario's manifests, for every Kubernetes version in the support range."""

    scenario: str
    tfvars: dict[str, Any] = field(repr=False)
    rendered: Rendered = field(repr=False)
    source: ChartSource
    # Kubernetes `major.minor` versions under test, oldest first; `by_version[v]` each.
    kube_versions: tuple[str, ...]
    by_version: dict[str, Manifests] = field(repr=False)
    # The root module's `endpoints` output for the scenario: {tool: {service, namespace, port,
    # secret_names}}.
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def manifests(self) -> Manifests:
        """The manifests for the newest version under test (what wiring checks read)."""
        return self.by_version[self.kube_versions[-1]]
