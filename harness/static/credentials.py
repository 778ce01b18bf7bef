"""Find a run's credentials in rendered configuration where they would be readable in clear."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

# Chart values the chart itself moves into a Kubernetes Secret: a credential belongs there.
# Anywhere else (env values, args, annotations, ConfigMaps, base64 blobs) it is in clear.
SECRET_BACKED: dict[str, tuple[str, ...]] = {
    "jupyterhub": ("proxy.secretToken", "hub.config.*", "hub.cookieSecret", "hub.db.password"),
    "mlflow": ("backendStore.postgres.password", "postgresql.auth.password",
               "postgresql.auth.postgresPassword"),
    "postgresql": ("auth.password", "auth.postgresPassword"),
    "redis": ("auth.password",),
    "prefect-server": ("postgresql.auth.password", "postgresql.auth.postgresPassword"),
}
_MIN_LENGTH = 6  # shorter values would match ordinary words
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]{16,}={0,2}$")


def credential_forms(secrets: Mapping[str, str]) -> dict[str, str]:
    """Each secret value, plus the `user:password` and password inside a registry auth key."""
    forms: dict[str, str] = {}
    for name, value in secrets.items():
        forms[value] = name
        if name == "docker_auth_key":
            login = _b64decode(value)
            if login and ":" in login:
                forms[login] = f"{name} (decoded)"
                forms[login.split(":", 1)[1]] = f"{name} (its password)"
    return {value: name for value, name in forms.items() if len(value) >= _MIN_LENGTH}


def clear_hits(
    chart: str, values: Any, forms: Mapping[str, str], path: str = ""
) -> Iterator[str]:
    """Yield `path: secret-name` for each credential found outside the chart's Secret keys."""
    if isinstance(values, dict):
        for key, value in values.items():
            yield from clear_hits(chart, value, forms, f"{path}.{key}" if path else str(key))
    elif isinstance(values, list):
        for index, item in enumerate(values):
            yield from clear_hits(chart, item, forms, f"{path}[{index}]")
    elif isinstance(values, str) and not _secret_backed(chart, path):
        for name in _found_in(values, forms):
            yield f"{path}: {name}"


def laundering_outputs(terraform_root: Path) -> list[str]:
    """Files of the modules that strip Terraform's sensitivity mark (`nonsensitive(...)`).

    Terraform refuses a non-sensitive output derived from a sensitive variable; only
    `nonsensitive()` gets one past it, so the root's outputs stay clean without it.
    """
    files: Iterable[Path] = terraform_root.rglob("*.tf")
    return sorted(str(f.relative_to(terraform_root)) for f in files
                  if ".terraform" not in f.parts and "nonsensitive(" in f.read_text())


def _secret_backed(chart: str, path: str) -> bool:
    plain = re.sub(r"\[\d+\]", "[*]", path)
    return any(fnmatch.fnmatchcase(plain, pattern) for pattern in SECRET_BACKED.get(chart, ()))


def _found_in(text: str, forms: Mapping[str, str]) -> list[str]:
    decoded = _b64decode(text) if _BASE64.match(text) else None
    return sorted({name for value, name in forms.items()
                   if value in text or (decoded is not None and value in decoded)})


def _b64decode(text: str) -> str | None:
    padded = text + "=" * (-len(text) % 4)
    for altchars in (None, b"-_"):
        try:
            return base64.b64decode(padded, altchars, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return None
