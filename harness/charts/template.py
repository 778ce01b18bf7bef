"""`helm template` of one release, cached by what determines its output: the chart package's
digest, the values, release name, namespace, kube version and API versions, and helm's version.

Public API:
    TemplateRequest(release, namespace, chart_path, values, kube_version, api_versions)
    template(request) -> list[dict]            the rendered objects, in helm's order
    template_all(requests) -> list[list[dict]]  in parallel, one thread per release
    HelmTemplateError                          helm refused (message: helm's stderr)
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.charts.helm import HelmUnavailableError, cache_root, helm_binary, helm_version

if TYPE_CHECKING:
    from collections.abc import Sequence


_MEMO: dict[str, list[dict[str, Any]]] = {}


class HelmTemplateError(RuntimeError):
    """`helm template` failed; the message is helm's own error."""


@dataclass(frozen=True)
class TemplateRequest:
    """Everything `helm template` is given for one release."""

    release: str
    namespace: str
    chart_path: Path
    values: dict[str, Any] = field(repr=False)
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    include_crds: bool = True
    # Values holding the run's secrets are rendered again rather than kept on disk.
    sensitive: bool = False
    # Render anew, neither reading nor filling the cache: what differs from a cached render of
    # the same request is what helm generates each time (random passwords, certificates).
    fresh: bool = False

    def digest(self) -> str:
        """What the output depends on, hashed (the cache key)."""
        chart = hashlib.sha256(self.chart_path.read_bytes()).hexdigest()
        key = json.dumps([chart, self.release, self.namespace, self.values, self.kube_version,
                          sorted(self.api_versions), self.include_crds,
                          helm_version(helm_binary())], sort_keys=True, default=str)
        return hashlib.sha256(key.encode()).hexdigest()

    def argv(self, values_file: Path) -> list[str]:
        """The command line (values in a file: they may hold secrets)."""
        args = [str(helm_binary()), "template", self.release, str(self.chart_path),
                "--namespace", self.namespace, "--values", str(values_file)]
        if self.kube_version:
            args += ["--kube-version", self.kube_version]
        for api in self.api_versions:
            args += ["--api-versions", api]
        if self.include_crds:
            args.append("--include-crds")
        return args


def template(request: TemplateRequest) -> list[dict[str, Any]]:
    """The objects helm renders for the request (from the cache when rendered before).

    Raises:
        HelmTemplateError: helm failed; its message names the template and the problem.

    """
    digest = request.digest()
    if digest in _MEMO and not request.fresh:
        return _MEMO[digest]
    cached = _cache_dir() / f"{digest}.json"
    if not request.sensitive and not request.fresh and cached.is_file():
        loaded: list[dict[str, Any]] = json.loads(cached.read_text())
        return loaded
    with tempfile.TemporaryDirectory(prefix="mlops-helm-") as tmp:
        values_file = Path(tmp) / "values.json"  # JSON is YAML
        values_file.write_text(json.dumps(request.values))
        values_file.chmod(0o600)
        env = {**os.environ, "HELM_CACHE_HOME": str(Path(tmp) / "cache"),
               "HELM_CONFIG_HOME": str(Path(tmp) / "config"),
               "HELM_DATA_HOME": str(Path(tmp) / "data")}
        proc = subprocess.run(request.argv(values_file), capture_output=True, text=True,
                              timeout=120, env=env, check=False)
    if proc.returncode != 0:
        raise HelmTemplateError(proc.stderr.strip().removeprefix("Error: "))
    objects = [doc for doc in yaml.safe_load_all(proc.stdout) if isinstance(doc, dict)]
    if request.fresh:
        return objects
    _MEMO[digest] = objects
    if request.sensitive:
        return objects
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(json.dumps(objects))
    partial.replace(cached)
    return objects


def template_all(requests: Sequence[TemplateRequest]) -> list[list[dict[str, Any]] | Exception]:
    """`template` of each request, in parallel; a failure is returned in its place."""

    def one(request: TemplateRequest) -> list[dict[str, Any]] | Exception:
        try:
            return template(request)
        except (HelmTemplateError, OSError, subprocess.SubprocessError) as exc:
            return exc

    if requests:
        # Unpack helm (first use) before any thread forks: a binary still open for writing in
        # one thread while another forks cannot be executed ("text file busy").
        try:
            helm_version(helm_binary())
        except HelmUnavailableError as exc:
            return [exc for _ in requests]
    with ThreadPoolExecutor(max_workers=max(1, min(len(requests), os.cpu_count() or 2))) as pool:
        return list(pool.map(one, requests))


def _cache_dir() -> Path:
    return cache_root() / "rendered"
