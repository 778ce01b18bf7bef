"""The Stack: what a target hands to the checks, saved as `stack.json` (secrets by reference)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from harness.errors import BadInputError

SCHEMA_VERSION: Literal[1] = 1


class SecretRef(BaseModel):
    """Where a credential lives: an environment variable, or a file beside the stack file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            msg = "a credential reference needs exactly one of `env` or `file`"
            raise ValueError(msg)
        return self

    def __str__(self) -> str:
        """Where the credential lives, never its value: `env VAR` or `file secrets/x`."""
        return f"env {self.env}" if self.env is not None else f"file {self.file}"

    def resolve(self, base_dir: Path) -> str:
        """Return the secret's value.

        Raises:
            BadInputError: the variable is unset or the file is unreadable.

        """
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise BadInputError(f"environment variable {self.env} is not set")
            return value
        path = base_dir / str(self.file)
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise BadInputError(f"file {path}: {exc.strerror}") from exc


class ToolEntry(BaseModel):
    """One tool as the checks see it."""

    model_config = ConfigDict(extra="forbid")

    endpoints: dict[str, str]
    credentials: dict[str, SecretRef] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    expect: dict[str, Any] = Field(default_factory=dict)


class HostAccess(BaseModel):
    """How a check reaches the place a tool's process runs, to read facts there rather than
    through the tool (`harness.host_facts`): this machine, or a pod through `kubectl exec`.
    """

    model_config = ConfigDict(extra="forbid")

    backend: Literal["local", "kubectl"] = "local"
    context: str | None = None
    kubeconfig: str | None = None
    namespaces: dict[str, str] = Field(default_factory=dict)  # tool -> its run namespace


class Stack(BaseModel):
    """Endpoints, credential references and versions of every tool of one deployment."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    target: str
    scenario: str
    run_id: str = ""
    tools: dict[str, ToolEntry] = Field(default_factory=dict)
    skip: dict[str, str] = Field(default_factory=dict)
    hosts: HostAccess = Field(default_factory=HostAccess)
    base_dir: Path = Field(default=Path(), exclude=True)
    _used: dict[str, dict[str, str]] = PrivateAttr(default_factory=dict)

    def secret(self, tool: str, name: str) -> str:
        """Resolve credential `name` of `tool`.

        Raises:
            BadInputError: no such credential, or its reference does not resolve; the message
                names the tool, the credential and its reference, never a value.

        """
        entry = self.tools.get(tool)
        ref = entry.credentials.get(name) if entry else None
        if ref is None:
            msg = f"{tool}: the stack has no credential {name!r} (tools.{tool}.credentials.{name})"
            raise BadInputError(msg)
        try:
            value = ref.resolve(self.base_dir)
        except BadInputError as exc:
            msg = f"{tool}: credential {name!r} ({ref}) does not resolve: {exc}"
            raise BadInputError(msg) from exc
        self._used.setdefault(tool, {})[name] = str(ref)
        return value

    def secret_values(self) -> list[str]:
        """Resolve every credential once, so a broken reference is bad input before any check;
        return their values, so output can mask them.

        Raises:
            BadInputError: the first credential that does not resolve, named as by `secret`.

        """
        return [self.secret(tool, name)
                for tool, entry in self.tools.items() for name in entry.credentials]

    def credentials_used(self, tool: str) -> list[str]:
        """`tool.name from <reference>` for each credential of `tool` resolved so far."""
        return [f"{tool}.{name} from {ref}" for name, ref in self._used.get(tool, {}).items()]

    def save(self, path: Path) -> None:
        """Write the stack as JSON (no secret values ever: only references)."""
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Stack:
        """Read a stack file.

        Raises:
            BadInputError: unreadable, not JSON, or not of the stack schema; names the field.

        """
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BadInputError(f"{path}: cannot read stack file: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{path}: not valid JSON at line {exc.lineno}: {exc.msg}") from exc
        try:
            stack = cls.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"])
            raise BadInputError(f"{path}: field {field!r}: {error['msg']}") from exc
        stack.base_dir = path.resolve().parent
        return stack
