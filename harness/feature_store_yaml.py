"""A `feature_store.yaml` as Feast reads it: Feast pastes each `${VAR}` into the text before
parsing it, so a value holding a reference is written single-quoted (`Quoted`), and the
expanded secret (`#`, `: `, a leading `@` or `&`) stays one string; only `'` would end it.

Public API:
    Quoted(str)                  a value holding a ${VAR} reference
    dump(config) -> str          the YAML text, keys in the given order
"""

from __future__ import annotations

from typing import Any

import yaml


class Quoted(str):
    """A value holding a ${VAR} reference: single-quoted in the YAML."""

    __slots__ = ()


class _Dumper(yaml.SafeDumper):
    """SafeDumper that single-quotes `Quoted` values."""


_Dumper.add_representer(
    Quoted, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", str(value),
                                                          style="'"))


def dump(config: dict[str, Any]) -> str:
    """`config` as `feature_store.yaml` text."""
    return yaml.dump(config, Dumper=_Dumper, sort_keys=False)
