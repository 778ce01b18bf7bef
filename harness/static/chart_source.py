"""Where chart data comes from: one function, so the folder can be swapped for a chart source
(e.g. the packaged charts of a chart repository) without touching its readers.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

CHARTS_DIR = Path(__file__).with_name("charts")


def _folder(chart: str, version: str) -> Path:
    folder = CHARTS_DIR / chart / version
    if not folder.is_dir():
        have = sorted(p.name for p in (CHARTS_DIR / chart).glob("*")) if chart else []
        msg = f"no chart data for {chart} {version} (have: {', '.join(have) or 'none'})"
        raise FileNotFoundError(msg)
    return folder


@cache
def chart_file(chart: str, version: str, name: str) -> dict[str, Any]:
    """A YAML file of a chart version (`Chart.yaml`, `values.yaml`), parsed.

    Raises:
        FileNotFoundError: no such file for that chart version; names what is there.

    """
    path = _folder(chart, version) / name
    if not path.is_file():
        msg = f"no {name} for chart {chart} {version}"
        raise FileNotFoundError(msg)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


@cache
def chart_schema(chart: str, version: str) -> dict[str, Any] | None:
    """The chart version's values schema (JSON or YAML; JSON parses as YAML), or None.

    Raises:
        FileNotFoundError: no data for that chart version.

    """
    folder = _folder(chart, version)
    for name in ("values.schema.json", "values.schema.yaml"):
        if (folder / name).is_file():
            return chart_file(chart, version, name)
    return None
