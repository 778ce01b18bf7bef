"""`mlops-conformance` with every secret the run generates itself a canary (see canary()).

The canary test runs this instead of the CLI: the secrets a user gives come from TF_VAR_*, the
ones the harness makes up (database passwords it creates, the control token) from here.
"""

from __future__ import annotations

import sys

URL_SPECIAL = "@:/#%?&+"


def canary(tag: str) -> str:
    """A distinct value with every URL-special character, e.g. `Cnry-gen3-@:/#%?&+-gen3`."""
    return f"Cnry-{tag}-{URL_SPECIAL}-{tag}"


def hex_canary(tag: int) -> str:
    """A 64-hex-digit canary (the proxy token must be hex): `c0ffee` and the tag, repeated."""
    return (f"c0ffee{tag:02d}" * 8)[:64]


GENERATED = [canary(f"gen{i}") for i in range(40)]
GENERATED_HEX = [hex_canary(i) for i in range(40)]


class _Canaries:
    """Stands in for the `secrets` module where harness.secrets draws random values."""

    def __init__(self) -> None:
        self._urlsafe = iter(GENERATED)
        self._hex = iter(GENERATED_HEX)

    def token_urlsafe(self, _nbytes: int | None = None) -> str:
        return next(self._urlsafe)

    def token_hex(self, nbytes: int | None = None) -> str:
        return next(self._hex)[: 2 * (nbytes or 32)]


if __name__ == "__main__":
    import harness.secrets
    from harness.cli import main

    harness.secrets._random = _Canaries()  # type: ignore[assignment]
    sys.argv[0] = "mlops-conformance"
    main()
