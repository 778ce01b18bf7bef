"""The root module's input variables (`terraform/variables.tf`): names, defaults, secrecy."""

from __future__ import annotations

import functools

from harness.errors import HarnessError
from harness.paths import project_dir
from harness.static.modules import ModuleVariable, read_variables


@functools.cache
def root_variables() -> dict[str, ModuleVariable]:
    """Return the root module's variables, parsed once.

    Raises:
        HarnessError: the file cannot be read or parsed.
    """
    path = project_dir("terraform") / "variables.tf"
    try:
        return read_variables(path)
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: cannot read the root module's variables: {exc}") from exc
