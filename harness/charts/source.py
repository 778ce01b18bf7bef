"""Where chart packages come from: a directory of `<name>-<version>.tgz` (`--charts`,
`HARNESS_CHARTS`; an `index.yaml` there, if any, names each version's file), or by default the
upstream repositories the modules name, pulled once into the cache by `mlops-conformance charts
pull`. A run only reads what is at hand: it never reaches the network.

Public API:
    chart_source(setting=None) -> ChartSource   (the setting, else HARNESS_CHARTS, else upstream)
    ChartSource.locate(chart, version, repository="") -> Path of the .tgz
    ChartSource.versions(chart) -> list[str]     the versions at hand
    ChartSource.pull(chart, version, repository) -> Path   (helm pull, the only network access)
    ChartUnavailableError(reason, fix)         what is missing and the command that fixes it
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import yaml

from harness.charts.helm import cache_root, helm_binary
from harness.config import ENV_CHARTS

PULL_FIX = ("run `mlops-conformance charts pull` on a machine with network (then copy its "
            f"cache, or the directory given to --charts), or point --charts / {ENV_CHARTS} "
            "at a directory of chart packages")
# A pull is an explicit command, so it may wait for a slow repository, but never forever.
PULL_TIMEOUT_S = 120


class ChartUnavailableError(RuntimeError):
    """A chart package is not at hand; `fix` is the command that makes it so."""

    def __init__(self, reason: str, fix: str) -> None:
        self.reason = reason
        self.fix = fix
        super().__init__(f"{reason} (fix: {fix})")


@dataclass(frozen=True)
class ChartSource:
    """A directory of chart packages; `upstream` when it is the cache of pulled charts."""

    directory: Path
    upstream: bool = False

    def describe(self) -> str:
        """Where charts come from, for reports and `charts list`."""
        if self.upstream:
            return f"upstream chart repositories, cached in {self.directory}"
        return f"directory {self.directory}"

    def file_name(self, chart: str, version: str) -> str:
        """The package's file name: the one `index.yaml` lists, else `<chart>-<version>.tgz`."""
        for entry in _index(self.directory / "index.yaml").get(chart) or []:
            if isinstance(entry, dict) and str(entry.get("version")) == version:
                urls = entry.get("urls") or []
                if urls:
                    # Relative or absolute, the URL's last segment is the file beside the index.
                    return PurePosixPath(urlparse(str(urls[0])).path).name
        return f"{chart}-{version}.tgz"

    def versions(self, chart: str) -> list[str]:
        """The versions of `chart` the directory holds (by its index, else by file name)."""
        listed = [str(e.get("version")) for e in _index(self.directory / "index.yaml").get(chart)
                  or [] if isinstance(e, dict)]
        if listed:
            return [v for v in listed if (self.directory / self.file_name(chart, v)).is_file()]
        prefix = f"{chart}-"
        return [path.name[len(prefix):-len(".tgz")]
                for path in sorted(self.directory.glob(f"{chart}-*.tgz"))
                if path.name[len(prefix)].isdigit()]

    def locate(self, chart: str, version: str, repository: str = "") -> Path:
        """The package of `chart` `version`, from the directory (never from the network).

        Raises:
            ChartUnavailableError: it is not in the directory (or not pulled yet).

        """
        path = self.directory / self.file_name(chart, version)
        if path.is_file():
            return path
        if self.upstream:
            where = f" from {repository}" if repository else ""
            raise ChartUnavailableError(
                f"chart {chart} {version}{where} has not been pulled into {self.directory}",
                PULL_FIX)
        raise ChartUnavailableError(
            f"chart {chart} {version} is not in {self.directory} (no {path.name})",
            f"put {path.name} there, or point --charts / {ENV_CHARTS} at a directory that "
            "has it, or run `mlops-conformance charts pull --charts DIR` on a machine with "
            "network")

    def pull(self, chart: str, version: str, repository: str) -> Path:
        """Fetch `chart` `version` from `repository` into the directory (kept if already there).

        Raises:
            ChartUnavailableError: helm could not fetch it (offline, or no such version).

        """
        try:
            return self.locate(chart, version, repository)
        except ChartUnavailableError:
            pass
        if not repository:
            raise ChartUnavailableError(f"chart {chart} {version}: the module names no "
                                        "repository to pull it from", PULL_FIX)
        self.directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="helm-pull-") as work:
            _helm_pull(chart, version, repository, Path(work))
            pulled = sorted((Path(work) / "out").glob("*.tgz"))
            if not pulled:
                raise ChartUnavailableError(
                    f"helm pull of {chart} {version} from {repository} wrote no package",
                    PULL_FIX)
            target = self.directory / f"{chart}-{version}.tgz"
            partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
            partial.write_bytes(pulled[0].read_bytes())
            partial.replace(target)  # atomic: a concurrent run never reads half a package
        return target


def _helm_pull(chart: str, version: str, repository: str, work: Path) -> None:
    """`helm pull` into `work/out`, with helm's homes private to `work` (no user config)."""
    if repository.startswith("oci://"):
        args = ["pull", f"{repository.rstrip('/')}/{chart}", "--version", version]
    else:
        args = ["pull", "--repo", repository, chart, "--version", version]
    (work / "out").mkdir()
    # The user's HELM_* settings (repository files, registry logins) are left out too.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HELM_")},
           "HELM_CACHE_HOME": str(work / "cache"),
           "HELM_CONFIG_HOME": str(work / "config"), "HELM_DATA_HOME": str(work / "data")}
    try:
        done = subprocess.run([str(helm_binary()), *args, "--destination", str(work / "out")],
                              capture_output=True, text=True, env=env, timeout=PULL_TIMEOUT_S,
                              check=False)
    except subprocess.TimeoutExpired:
        msg = (f"helm pull of {chart} {version} from {repository} gave no answer in "
               f"{PULL_TIMEOUT_S} s")
        raise ChartUnavailableError(msg, PULL_FIX) from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        why = lines[-1] if lines else f"exit code {done.returncode}"
        raise ChartUnavailableError(
            f"helm pull of {chart} {version} from {repository} failed: {why}", PULL_FIX)


def _index(path: Path) -> dict[str, Any]:
    """The `entries` of a chart repository index, or {} without a readable one."""
    try:
        return _read_index(path, path.stat().st_mtime_ns)
    except OSError:
        return {}


@cache
def _read_index(path: Path, _mtime_ns: int) -> dict[str, Any]:
    # Parsed once per version of the file: every locate() consults it.
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    entries = data.get("entries") if isinstance(data, dict) else None
    return entries if isinstance(entries, dict) else {}


def chart_source(setting: str | Path | None = None) -> ChartSource:
    """The chart source: `setting`, else `HARNESS_CHARTS`, else the upstream cache."""
    chosen = setting or os.environ.get(ENV_CHARTS)
    if chosen:
        return ChartSource(Path(chosen).expanduser().resolve())
    return ChartSource(cache_root() / "charts", upstream=True)
