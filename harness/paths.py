"""Where the project's data directories are: a checkout's, or the copies in the package."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent


def project_dir(name: str) -> Path:
    """Return the directory `name` (`scenarios`, `versions`, `terraform`, `conformance`).

    `HARNESS_<NAME>_DIR` wins; then the source checkout the package runs from; then the copy
    that the wheel carries inside the package (`harness/_data/<name>`).
    """
    override = os.environ.get(f"HARNESS_{name.upper()}_DIR")
    if override:
        return Path(override).expanduser().resolve()
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / name).is_dir():
        return _CHECKOUT / name
    return _PACKAGE / "_data" / name
