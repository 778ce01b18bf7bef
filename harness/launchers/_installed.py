"""What a target says it runs: package versions as installed in a server's Python environment.

Read from the package metadata, never from the server's own endpoint, so a check can compare
the two as independent readings.
"""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

_CODE = ("import importlib.metadata as m, json, sys; "
         "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))")


def installed_versions(python: Path, *packages: str) -> dict[str, str]:
    """`{package: version}` as `python`'s environment has them installed.

    Raises:
        subprocess.CalledProcessError: a package is not installed there.
    """
    done = subprocess.run([str(python), "-c", _CODE, *packages], capture_output=True,
                          text=True, check=True, timeout=60)
    versions: dict[str, str] = json.loads(done.stdout)
    return versions
