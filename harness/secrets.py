"""Per-run secrets: taken from `TF_VAR_<name>` or generated, stored 0600, redacted from output."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets as _random
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

from harness.stack import SecretRef
from harness.variables import root_variables

if TYPE_CHECKING:
    from pathlib import Path

    from harness.scenario import Scenario

MASK = "***"
_HEX_TOKENS = {"jhub_proxy_secret_token"}  # the chart wants 32 random bytes as 64 hex digits
# Optional secrets a scenario needs once it turns a feature on: secret -> its toggle variable.
_NEEDED_WHEN = {"docker_auth_key": "docker_private_repo",
                "oauth_github_client_secret": "oauth_github_enable"}


def run_secrets(scenario: Scenario) -> dict[str, str]:
    """A value for every sensitive root variable the scenario leaves empty.

    `TF_VAR_<name>` from the environment wins (Terraform's own convention); otherwise a fresh
    random value is generated for this run only.
    """
    values: dict[str, str] = {}
    for name, variable in root_variables().items():
        if not variable.sensitive or scenario.tfvars.get(name):
            continue
        from_env = os.environ.get(f"TF_VAR_{name}")
        if from_env:
            values[name] = from_env
        elif variable.required or name in _HEX_TOKENS:
            hex_token = name in _HEX_TOKENS
            values[name] = _random.token_hex(32) if hex_token else _random.token_urlsafe(24)
        elif name in _NEEDED_WHEN and scenario.var(_NEEDED_WHEN[name]):
            values[name] = _generated(name)
    return values


def _generated(name: str) -> str:
    if name == "docker_auth_key":  # a registry login as in ~/.docker/config.json: b64(user:pw)
        login = f"conformance:{_random.token_urlsafe(24)}"
        return base64.b64encode(login.encode()).decode()
    return _random.token_urlsafe(24)


def write_secrets(values: dict[str, str], directory: Path) -> None:
    """Write each secret to its own file, readable by the owner only."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for name, value in values.items():
        path = directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)


class SecretStore:
    """The run's secrets: kept in memory, written 0600 for the Stack's references, redacted."""

    def __init__(self, directory: Path | None = None, redactor: Redactor | None = None) -> None:
        self.directory = directory
        self.redactor = redactor or Redactor()
        self._values: dict[str, str] = {}
        self._files = False

    def put(self, name: str, value: str) -> None:
        """Keep `value` under `name` and mask it from now on (its file once files are on)."""
        self._values[name] = value
        self.redactor.add(value)
        if self._files and self.directory is not None:
            write_secrets({name: value}, self.directory)

    def write_files(self) -> None:
        """Write every secret's file, and from now on each new one's (provisioning starts)."""
        self._files = True
        if self.directory is not None:
            write_secrets(self._values, self.directory)

    def get(self, name: str) -> str:
        """The value of secret `name` (KeyError if there is none)."""
        return self._values[name]

    def generate(self, name: str, *, hex_bytes: int | None = None) -> str:
        """Return secret `name`, generating a random one the first time it is asked for."""
        if name not in self._values:
            value = _random.token_hex(hex_bytes) if hex_bytes else _random.token_urlsafe(24)
            self.put(name, value)
        return self._values[name]

    def ref(self, name: str) -> SecretRef:
        """A Stack reference to secret `name`: a file beside stack.json, never the value."""
        if name not in self._values:
            raise KeyError(name)
        return SecretRef(file=f"secrets/{name}")

    def remove_files(self) -> None:
        """Delete the secret files (at teardown)."""
        if self.directory is not None and self.directory.is_dir():
            for path in self.directory.iterdir():
                path.unlink()
            self.directory.rmdir()


class Redactor:
    """Replaces every known secret value in text with `***`."""

    def __init__(self, values: list[str] | None = None) -> None:
        self._pattern: re.Pattern[str] | None = None
        self._values: set[str] = set()
        self.add(*(values or []))

    def add(self, *values: str) -> None:
        """Learn more secret values (short ones are ignored: they would mask ordinary words).

        Each is masked as it is and in the encodings code puts secrets in (URL, base64,
        JSON); a registry login (`base64(user:password)`) also masks its decoded forms.
        """
        for value in values:
            for plain in (value, *_decoded_login(value)):
                if len(plain) >= 6:
                    self._values.update(encoded_forms(plain))
        ordered = sorted(self._values, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def __call__(self, text: str) -> str:
        """Return `text` with secrets masked."""
        return self._pattern.sub(MASK, text) if self._pattern else text


def encoded_forms(value: str) -> set[str]:
    """`value` as it is, URL-encoded (in a path, a query, a form), base64 (standard and
    URL-safe, with or without padding) and as a JSON string's contents.
    """
    raw = value.encode()
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return {value, quote(value, safe=""), quote(value), quote_plus(value),
            json.dumps(value)[1:-1], *encoded, *(e.rstrip("=") for e in encoded)}


def _decoded_login(value: str) -> tuple[str, ...]:
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except ValueError:
        return ()
    user, sep, password = decoded.partition(":")
    return (decoded, password) if sep and user and password.isprintable() else ()
