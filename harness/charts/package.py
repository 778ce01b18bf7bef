"""What a chart package (`<name>-<version>.tgz`) says about itself, read without unpacking it.

Public API:
    chart_meta(path) -> dict   the chart's own Chart.yaml (not its subcharts'), parsed
"""

from __future__ import annotations

import tarfile
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from pathlib import Path


def chart_meta(path: Path) -> dict[str, Any]:
    """The package's top-level `Chart.yaml`.

    Raises:
        ValueError: the archive holds no top-level Chart.yaml (not a chart package).
        OSError, tarfile.TarError: the file cannot be read as a gzipped tar archive.

    """
    stat = path.stat()
    return _read_meta(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@cache
def _read_meta(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    # Cached per file version: mtime and size are part of the key.
    del mtime_ns, size
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            # `<chart>/Chart.yaml`; subcharts sit deeper, in `<chart>/charts/<sub>/Chart.yaml`.
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                handle = archive.extractfile(member)
                if handle is None:
                    break
                data = yaml.safe_load(handle.read())
                return data if isinstance(data, dict) else {}
    msg = f"{path} holds no <chart>/Chart.yaml: not a Helm chart package"
    raise ValueError(msg)
