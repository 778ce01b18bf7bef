"""Where chart data comes from: one function, so the folder can be swapped for a chart source
(e.g. the packaged charts of a chart repository) without touching its readers.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

CHARTS_DIR = Path(__file__).with_name("charts")


@cache
def chart_file(chart: str, version: str, name: str) -> dict[str, Any]:
    """A YAML file of a chart version (`Chart.yaml`, `values.yaml`), parsed.

    Raises:
        FileNotFoundError: no such file for that chart version; names what is there.

    """
    path = CHARTS_DIR / chart / version / name
    if not path.is_file():
        have = sorted(p.name for p in (CHARTS_DIR / chart).glob("*")) if chart else []
        msg = f"no {name} for chart {chart} {version} (have: {', '.join(have) or 'none'})"
        raise FileNotFoundError(msg)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}
