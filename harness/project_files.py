"""The project's named YAML files (`scenarios/<name>.yaml`, `versions/<name>.yaml`): a name or
a path resolved to a file, and the file read as a mapping, each failure one line (exit 2).
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml

from harness.errors import BadInputError
from harness.paths import project_dir


def names_in(directory: str) -> list[str]:
    """Names of the YAML files in a project directory (`scenarios`, `versions`), sorted."""
    return sorted(p.stem for p in project_dir(directory).glob("*.yaml"))


def resolve(name_or_path: str, directory: str, option: str, kind: str) -> Path:
    """A file path as given, else `<directory>/<name>.yaml`.

    Raises:
        BadInputError: neither exists; names the option and the closest known name.

    """
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        return candidate
    path = project_dir(directory) / f"{name_or_path}.yaml"
    if path.is_file():
        return path
    known = names_in(directory)
    hint = difflib.get_close_matches(name_or_path, known, n=1)
    listed = ", ".join(known) or "none"
    suggestion = f"; did you mean {hint[0]!r}?" if hint else f"; known: {listed}"
    raise BadInputError(f"{option} {name_or_path!r}: no such {kind} in "
                        f"{project_dir(directory)}{suggestion}")


def read_mapping(path: Path, kind: str, keys: str, option: str = "") -> dict[str, Any]:
    """The file's YAML, which must be a mapping (`keys` says which, for the message; `option`,
    if given, leads the message when the file cannot be read).

    Raises:
        BadInputError: unreadable file, bad YAML, or not a mapping.

    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        given = f"{option} " if option else ""
        raise BadInputError(f"{given}{path}: cannot read {kind} file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise BadInputError(f"{path}: not valid YAML{where}: "
                            f"{getattr(exc, 'problem', exc)}") from exc
    if not isinstance(raw, dict):
        raise BadInputError(f"{path}: expected a mapping with {keys}")
    return raw
