"""The root module's input variables from `terraform/variables.tf`: names, defaults, secrecy."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import hcl2
from hcl2 import SerializationOptions

from harness.errors import HarnessError
from harness.paths import project_dir

if TYPE_CHECKING:
    from pathlib import Path

_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, preserve_heredocs=False, strip_string_quotes=True
)
_MISSING: Any = object()


@dataclass(frozen=True)
class Variable:
    """One `variable` block: what a scenario may set, and what it gets when it does not."""

    name: str
    type: str
    description: str
    default: Any = _MISSING
    sensitive: bool = False

    @property
    def required(self) -> bool:
        """True when the variable has no default and a value must be given."""
        return self.default is _MISSING


def parse_variables(path: Path) -> dict[str, Variable]:
    """Parse the `variable` blocks of one `.tf` file.

    Raises:
        HarnessError: the file cannot be read or parsed.

    """
    try:
        with path.open(encoding="utf-8") as handle:
            document = hcl2.load(handle, serialization_options=_OPTIONS)
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: cannot read the root module's variables: {exc}") from exc
    variables: dict[str, Variable] = {}
    for block in document.get("variable", []):
        for name, body in block.items():
            variables[name] = Variable(
                name=name,
                type=str(body.get("type", "any")).removeprefix("${").removesuffix("}"),
                description=str(body.get("description", "")),
                default=body.get("default", _MISSING),
                sensitive=bool(body.get("sensitive", False)),
            )
    return variables


@functools.cache
def root_variables() -> dict[str, Variable]:
    """Return the root module's variables (`terraform/variables.tf`), parsed once."""
    return parse_variables(project_dir("terraform") / "variables.tf")
