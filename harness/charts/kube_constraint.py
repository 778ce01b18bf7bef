"""A chart's `kubeVersion` constraint, matched as Helm matches it.

Helm reads `kubeVersion` with Masterminds/semver: comparators (`>=1.28.0-0`, `< 1.30.0-0`),
`^`, `~`, x-ranges (`1.28.x`), hyphen ranges, `||` for "or", and spaces or commas for "and".
node-semver (a port of npm's semver) reads the same grammar except the comma, so commas are
turned into spaces first. The versions judged here are plain `X.Y.0`, so the two libraries'
different treatment of pre-release versions never comes into play.

Public API:
    KubeConstraint(text).allows("1.28") -> bool
    InvalidConstraintError              the text is not a constraint Helm would accept
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nodesemver

_COMMA = re.compile(r"\s*,\s*")


class InvalidConstraintError(ValueError):
    """A `kubeVersion` that no semver range reading accepts."""


@dataclass(frozen=True)
class KubeConstraint:
    """A `kubeVersion` constraint such as `>=1.28.0-0` or `>= 1.19.0-0 < 1.30.0-0`."""

    text: str

    def _range(self) -> str:
        npm = _COMMA.sub(" ", self.text.strip())
        if not npm or nodesemver.valid_range(npm, loose=False) is None:
            msg = f"kubeVersion {self.text!r} is not a semver constraint"
            raise InvalidConstraintError(msg)
        return npm

    def allows(self, kube_version: str) -> bool:
        """Whether a cluster of `kube_version` (`1.28`, `1.28.3`, `v1.28`) satisfies it.

        >>> KubeConstraint(">=1.28.0-0").allows("1.34")
        True

        Raises:
            InvalidConstraintError: the constraint cannot be read.

        """
        parts = [*kube_version.lstrip("v").split("."), "0", "0"][:3]
        return bool(nodesemver.satisfies(".".join(parts), self._range(), loose=False))
