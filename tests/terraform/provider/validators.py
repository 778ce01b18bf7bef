"""The argument checks the real providers make themselves, beyond what their schema says."""

from __future__ import annotations

import re
from typing import Any

# Kubernetes' own rules (k8s.io/apimachinery validation), which the kubernetes provider applies.
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
# helm provider 3.x validators (resource_helm_release.go)
_SET_TYPES = {"set": {"auto", "string", "literal"}, "set_wo": {"auto", "string"}}

Problem = tuple[list[str | int], str]  # (attribute path, message)


def _qualified_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(prefix)):
        return False
    return len(name) <= 63 and bool(_QUALIFIED_NAME.fullmatch(name))


def _metadata(meta: dict[str, Any], check_name: bool) -> list[Problem]:
    problems: list[Problem] = []
    path: list[str | int] = ["metadata", 0]
    name = meta.get("name")
    if (
        check_name
        and isinstance(name, str)
        and (len(name) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(name))
    ):
        problems.append(([*path, "name"], f"{name!r}: a lowercase RFC 1123 subdomain is required"))
    for field in ("labels", "annotations"):
        entries = meta.get(field)
        if not isinstance(entries, dict):  # null or not yet known
            continue
        for key, value in entries.items():
            if not _qualified_key(key):
                problems.append(([*path, field], f"{field} key {key!r} is not a qualified name"))
            bad_value = isinstance(value, str) and (
                len(value) > 63 or not _LABEL_VALUE.fullmatch(value)
            )
            if field == "labels" and bad_value:
                problems.append(([*path, field], f"label value {value!r} of {key!r} is invalid"))
    return problems


def _helm(config: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    name = config.get("name")
    if isinstance(name, str) and not 1 <= len(name) <= 53:
        problems.append((["name"], f"release name {name!r} must be 1 to 53 characters long"))
    for attr, allowed in _SET_TYPES.items():
        entries = config.get(attr)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            kind = entry.get("type") if isinstance(entry, dict) else None
            if isinstance(kind, str) and kind not in allowed:
                message = f"type {kind!r} must be one of {sorted(allowed)}"
                problems.append(([attr, i, "type"], message))
    return problems


def check(type_name: str, config: dict[str, Any] | None) -> list[Problem]:
    """What the real provider would refuse in this configuration (unknown values pass)."""
    if not config:
        return []
    if type_name in ("helm_release", "helm_template"):
        return _helm(config)
    meta = config.get("metadata")
    if type_name.startswith("kubernetes_") and isinstance(meta, list) and meta:
        # RBAC object names may hold ':' (system:...); the provider checks those differently.
        check_name = "role" not in type_name
        return _metadata(meta[0], check_name) if isinstance(meta[0], dict) else []
    return []
