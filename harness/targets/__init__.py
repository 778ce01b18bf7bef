"""Targets by URL, as testinfra picks backends: `local://`, `k8s://CONTEXT?namespace_prefix=...`.

`TARGETS` maps a URL scheme to its class as a dotted path, imported only when chosen.
"""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from harness.errors import BadInputError

if TYPE_CHECKING:
    from harness.targets.base import Target

TARGETS: dict[str, str] = {
    "local": "harness.targets.local:LocalTarget",
    "k8s": "harness.targets.k8s:KubernetesTarget",
}
# Query keys each target accepts; anything else is a typo the user must hear about.
OPTIONS: dict[str, frozenset[str]] = {
    "local": frozenset({"ready_timeout_s"}),
    "k8s": frozenset({"context", "namespace_prefix", "kube_version", "ready_timeout_s",
                      "restart_budget"}),
}


def get_target_class(scheme: str) -> type[Target]:
    """Import and return the class registered for `scheme`."""
    module_name, _, class_name = TARGETS[scheme].partition(":")
    cls: type[Target] = getattr(importlib.import_module(module_name), class_name)
    return cls


def parse_target_url(url: str) -> tuple[str, dict[str, str]]:
    """Split a target URL into its scheme and its allow-listed options.

    Raises:
        BadInputError: unknown scheme or option, with a suggestion.

    >>> parse_target_url("local://?ready_timeout_s=30")
    ('local', {'ready_timeout_s': '30'})

    """
    parts = urlsplit(url if "://" in url else f"{url}://")
    scheme = parts.scheme
    if scheme not in TARGETS:
        raise BadInputError(f"--target {url!r}: unknown target; use one of {', '.join(TARGETS)}://")
    options = dict(parse_qsl(parts.query))
    if parts.netloc:
        options["context"] = parts.netloc
    for key in options:
        if key not in OPTIONS[scheme] and not (key == "context" and "context" in OPTIONS[scheme]):
            hint = difflib.get_close_matches(key, sorted(OPTIONS[scheme]), n=1)
            fix = f"did you mean {hint[0]!r}?" if hint else f"known: {sorted(OPTIONS[scheme])}"
            raise BadInputError(f"--target {url!r}: unknown option {key!r}; {fix}")
    return scheme, options


def get_target(url: str) -> Target:
    """Return the target a URL names, configured from its query string."""
    scheme, options = parse_target_url(url)
    return get_target_class(scheme)(url, options)
