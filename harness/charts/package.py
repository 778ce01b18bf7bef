"""The data files of a packaged chart, read straight from its `.tgz`: `Chart.yaml`,
`values.yaml` and the values schema at the top of the chart's folder (not its subcharts').

Public API:
    read_package(path) -> PackageData   raises PackageError for an archive that is no chart
    chart_meta(path) -> dict            its Chart.yaml; raises ValueError for no chart
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from pathlib import Path

_SCHEMAS = ("values.schema.json", "values.schema.yaml")


class PackageError(RuntimeError):
    """The file is not a readable chart package; the message names it and why."""


@dataclass(frozen=True)
class PackageData:
    """A chart package's metadata, default values and values schema (None without one)."""

    meta: dict[str, Any]
    values: dict[str, Any]
    schema: dict[str, Any] | None


def read_package(path: Path) -> PackageData:
    """The data files of the chart package at `path` (parsed once per file version).

    Raises:
        PackageError: not a gzipped tar, or no `<chart>/Chart.yaml` at its top.

    """
    stat = path.stat()
    return _read(path, stat.st_mtime_ns, stat.st_size)


@cache
def _read(path: Path, _mtime_ns: int, _size: int) -> PackageData:
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                parts = member.name.split("/")
                # `<chart>/Chart.yaml`; subcharts live deeper, in `<chart>/charts/...`.
                if len(parts) == 2 and member.isfile() and parts[1] in {
                        "Chart.yaml", "values.yaml", *_SCHEMAS}:
                    handle = archive.extractfile(member)
                    if handle is not None:
                        files[parts[1]] = handle.read()
    except (OSError, tarfile.TarError) as exc:
        msg = f"{path}: not a chart package ({exc})"
        raise PackageError(msg) from exc
    if "Chart.yaml" not in files:
        msg = f"{path}: not a chart package (no <chart>/Chart.yaml at its top)"
        raise PackageError(msg)
    schema = next((_parse(path, name, files[name]) for name in _SCHEMAS if name in files), None)
    return PackageData(_parse(path, "Chart.yaml", files["Chart.yaml"]),
                       _parse(path, "values.yaml", files.get("values.yaml", b"")), schema)


def _parse(path: Path, name: str, data: bytes) -> dict[str, Any]:
    try:
        parsed = yaml.safe_load(data.decode("utf-8"))  # JSON parses as YAML
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        msg = f"{path}: {name} does not parse ({exc})"
        raise PackageError(msg) from exc
    return parsed if isinstance(parsed, dict) else {}


def chart_meta(path: Path) -> dict[str, Any]:
    """The package's top-level `Chart.yaml`.

    Raises:
        ValueError: not a chart package (the message says why).

    """
    try:
        return read_package(path).meta
    except PackageError as exc:
        raise ValueError(str(exc)) from exc
