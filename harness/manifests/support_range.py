"""Placeholder until the validate branch lands: the Kubernetes versions under test."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.charts.source import ChartSource
    from harness.static.render import Rendered


def support_range(rendered: Rendered, source: ChartSource) -> tuple[str, ...]:
    """The oldest and newest Kubernetes versions the scenario's charts support."""
    del rendered, source
    return ("1.28", "1.34")


def parse_kube_versions(text: str) -> tuple[str, ...]:
    """`1.28,1.34` -> ("1.28", "1.34"), oldest first."""
    return tuple(sorted({v.strip() for v in text.split(",") if v.strip()},
                        key=lambda v: tuple(int(x) for x in v.split("."))))
