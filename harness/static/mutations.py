"""Changed values for a Terraform variable, of its declared type: what variable reach renders
instead of the scenario's value to see whether the variable changes anything.

Candidates come most plausible first: the description's own examples ("e.g. `8G`"), the other
choices it lists ("`Always`, `IfNotPresent` or `Never`"), then a change of the value's
shape (a number bumped, an element appended). Terraform judges them (types, validations);
the caller moves on to the next candidate when one is rejected.

Public API:
    parse_type(text) -> TfType          `list(object({name = string}))` as a small tree
    changed_values(variable, current) -> list of candidate values, never `current`
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import hcl2
from hcl2 import SerializationOptions

if TYPE_CHECKING:
    from harness.static.modules import ModuleVariable

SUFFIX = "changed"
_TOKEN = re.compile(r"\s*([A-Za-z_][\w-]*|[(){}\[\],=]|\"(?:[^\"\\]|\\.)*\"|-?[\d.]+)")
_EXAMPLE = re.compile(r"e\.g\.,? `([^`]+)`")
_BACKTICKED = re.compile(r"`([^`]+)`")
_CHOICES = re.compile(r"`[\w.-]+`(?:, `[\w.-]+`)* or `[\w.-]+`")
_HEX = re.compile(r"^[0-9a-fA-F]{16,}$")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
_HCL_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, preserve_heredocs=False, strip_string_quotes=True
)


@dataclass(frozen=True)
class TfType:
    """A Terraform type constraint: `kind` is string, number, bool, list, set, map, object,
    tuple or any; `element` for collections, `attributes` for objects, `elements` for tuples.
    """

    kind: str
    element: TfType | None = None
    attributes: dict[str, TfType] = field(default_factory=dict)
    elements: tuple[TfType, ...] = ()


ANY = TfType("any")


def parse_type(text: str) -> TfType:
    """Parse a type constraint as `variables.tf` writes it.

    >>> parse_type("list(object({name = string}))").element.attributes["name"].kind
    'string'
    >>> parse_type("map(optional(number, 1))").element.kind
    'number'
    """
    tokens = [t for t in _TOKEN.findall(text) if t]
    parsed, rest = _parse(tokens)
    return parsed if not rest else ANY


def _parse(tokens: list[str]) -> tuple[TfType, list[str]]:  # noqa: PLR0911 - one per type
    if not tokens:
        return ANY, []
    head, rest = tokens[0], tokens[1:]
    if head in {"string", "number", "bool", "any"}:
        return TfType(head), rest
    if head in {"list", "set", "map"} and rest[:1] == ["("]:
        element, rest = _parse(rest[1:])
        return TfType(head, element=element), rest[1:]
    if head == "optional" and rest[:1] == ["("]:
        inner, rest = _parse(rest[1:])
        depth = 1  # skip the default value, up to optional's closing parenthesis
        while rest and depth:
            depth += {"(": 1, "{": 1, "[": 1, ")": -1, "}": -1, "]": -1}.get(rest[0], 0)
            rest = rest[1:]
        return inner, rest
    if head == "object" and rest[:2] == ["(", "{"]:
        attributes: dict[str, TfType] = {}
        rest = rest[2:]
        while rest and rest[0] != "}":
            name = rest[0].strip('"')
            attributes[name], rest = _parse(rest[2:])  # skip `name =`
            rest = rest[1:] if rest[:1] == [","] else rest
        return TfType("object", attributes=attributes), rest[2:]
    if head == "tuple" and rest[:2] == ["(", "["]:
        elements: list[TfType] = []
        rest = rest[2:]
        while rest and rest[0] != "]":
            element, rest = _parse(rest)
            elements.append(element)
            rest = rest[1:] if rest[:1] == [","] else rest
        return TfType("tuple", elements=tuple(elements)), rest[2:]
    return ANY, []


def changed_values(variable: ModuleVariable, current: Any) -> list[Any]:
    """Values of `variable`'s type that differ from `current`, most plausible first.

    >>> from harness.static.modules import ModuleVariable
    >>> size = ModuleVariable("size", "string", "Volume size, e.g. `1G`.", False, "1G", False,
    ...                       False)
    >>> changed_values(size, "1G")
    ['2G', '1G-changed', '1G_changed']
    """
    kind = parse_type(variable.type)
    found: list[Any] = [example for example in _examples(variable.description, kind)
                        if example != current]
    found += _alternatives(variable.description, current)
    found += _of_type(kind, current)
    unique: list[Any] = []
    for value in found:
        if value != current and value not in unique:
            unique.append(value)
    return unique


def _examples(description: str, kind: TfType) -> list[Any]:
    examples = []
    for text in _EXAMPLE.findall(description) + [
            t for t in _BACKTICKED.findall(description) if t.startswith(("[", "{"))]:
        if text.startswith(("[", "{")):
            parsed = _hcl_value(text)
            if parsed is not None:
                examples.append(parsed)
        elif kind.kind in {"string", "any"}:
            examples.append(text)
    return examples


def _hcl_value(text: str) -> Any:
    try:
        return hcl2.loads(f"value = {text}\n", serialization_options=_HCL_OPTIONS)["value"]
    except Exception:
        return None


def _alternatives(description: str, current: Any) -> list[Any]:
    # "`Always`, `IfNotPresent` or `Never`": the other documented choices.
    for listed in _CHOICES.findall(description):
        choices = _BACKTICKED.findall(listed)
        if isinstance(current, str) and current in choices:
            return [c for c in choices if c != current]
    return []


def _of_type(kind: TfType, current: Any) -> list[Any]:  # noqa: PLR0911 - one per type
    if kind.kind == "any":
        kind = _type_of(current)
    if current is None:
        return [_example(kind)]
    if kind.kind == "bool":
        return [not current]
    if kind.kind == "number":
        return [current + 1, current - 1, current + 10]
    if kind.kind == "string":
        return _strings(str(current))
    if kind.kind in {"list", "set", "tuple"}:
        items = list(current)
        element = kind.element or (kind.elements[0] if kind.elements else ANY)
        extra = _changed_copy(items[-1]) if items and element.kind == "any" else _example(element)
        shorter = [items[:-1]] if items else []
        return [[*items, extra], *shorter]
    if kind.kind == "map":
        return [{**current, SUFFIX: _example(kind.element or ANY)}]
    if kind.kind == "object" and kind.attributes:
        name, attribute = next(iter(kind.attributes.items()))
        return [{**current, name: value} for value in _of_type(attribute, current.get(name))]
    return []


def _strings(current: str) -> list[str]:
    found = []
    if _HEX.match(current):  # a token of fixed length: change a digit, keep the length
        found.append(current[:-1] + ("0" if current[-1] != "0" else "1"))
    number = _LAST_NUMBER.search(current)
    if number:
        bumped = str(int(number.group(1)) + 1)
        found.append(current[: number.start()] + bumped + current[number.end():])
    # Names that allow no dash (`^[A-Za-z0-9_]+$`) take an underscore.
    found += [f"{current}-{SUFFIX}", f"{current}_{SUFFIX}"] if current else [SUFFIX]
    return found


def _type_of(value: Any) -> TfType:
    if isinstance(value, bool):
        return TfType("bool")
    if isinstance(value, (int, float)):
        return TfType("number")
    if isinstance(value, str):
        return TfType("string")
    if isinstance(value, list):
        return TfType("list", element=ANY)
    if isinstance(value, dict):
        return TfType("map", element=ANY)
    return ANY


def _example(kind: TfType) -> Any:
    """A plausible value of `kind` (a name-and-value entry where nothing tells more)."""
    examples: dict[str, Any] = {"string": SUFFIX, "number": 1, "bool": True}
    if kind.kind in examples:
        return examples[kind.kind]
    if kind.kind in {"list", "set"}:
        return [_example(kind.element or ANY)]
    if kind.kind == "tuple":
        return [_example(e) for e in kind.elements]
    if kind.kind == "map":
        return {SUFFIX: _example(kind.element or ANY)}
    if kind.kind == "object":
        return {name: _example(a) for name, a in kind.attributes.items()}
    return {"name": SUFFIX, "value": SUFFIX}


def _changed_copy(value: Any) -> Any:
    # Another entry like the last one, with its strings changed (e.g. an env entry).
    if isinstance(value, dict):
        return {k: _changed_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_changed_copy(v) for v in value]
    if isinstance(value, str):
        return f"{value}-{SUFFIX}" if value else SUFFIX
    return json.loads(json.dumps(value))
