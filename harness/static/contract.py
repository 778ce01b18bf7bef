"""The values contract: rendered Helm values must be values the pinned chart understands.

A chart with a values schema (JupyterHub, MLflow, Prefect, Bitnami) validates the
rendered values merged over its defaults, as Helm would. Where the schema leaves the top
level open, or where a chart has no schema at all (Dask, Feast, Seldon), every key the
module sets must also exist in the chart's default `values.yaml`; maps the chart leaves
open (`{}` or null defaults, env lists, labels, annotations, resources...) are not
descended into. A misspelt key such as `serserviceAccountName` fails either way.

Public API:
    check_contracts(rendered) -> list[Verdict]   (one passing verdict per clean release)
    assert_contracts(rendered) -> None           raises ContractViolationError
    Verdict(module, release, chart, chart_version, key_path, message, passed, offline_origin)
    offline_note(origin) -> str                  what a verdict of an offline contract says
    chart_data(chart, version) -> (values, schema)
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsonschema

from harness.static import chart_source
from harness.static.chart_source import ChartData

if TYPE_CHECKING:
    from harness.static.render import Release, Rendered

# Keys whose contents are free-form in every chart: their children are not checked.
OPEN_KEYS = frozenset(
    {
        "annotations",
        "labels",
        "resources",
        "nodeSelector",
        "tolerations",
        "affinity",
        "env",
        "extraEnv",
        "extraEnvs",
        "extraEnvVars",
        "podAnnotations",
        "podLabels",
        "commonLabels",
        "commonAnnotations",
        "securityContext",
        "podSecurityContext",
        "config",
        "extraConfig",
        "extraFiles",
        "profileList",
    }
)
_UNEXPECTED = re.compile(r"'([^']+)'")


class ContractViolationError(RuntimeError):
    """Rendered values break a chart's contract (a defect in the modules)."""

    def __init__(self, failures: list[Verdict]) -> None:
        self.failures = failures
        super().__init__("; ".join(str(v) for v in failures))


@dataclass(frozen=True)
class Verdict:
    """The outcome of one contract check of one release."""

    module: str
    release: str
    chart: str
    chart_version: str
    key_path: str
    message: str
    passed: bool
    # The offline contract checked against, when no chart package was at hand.
    offline_origin: str = ""

    def __str__(self) -> str:
        where = f" at {self.key_path}" if self.key_path else ""
        chart = f"{self.chart} {self.chart_version}"
        return f"{self.module}/{self.release} ({chart}){where}: {self.message}"


def check_contracts(rendered: Rendered) -> list[Verdict]:
    """Check every rendered release against its chart's contract.

    Returns:
        The failures, or one passing verdict for a release without any.

    """
    verdicts: list[Verdict] = []
    for release in rendered.releases:
        offline = ""
        try:
            data = chart_source.chart_data(release.chart, release.version, release.repository)
        except FileNotFoundError as exc:
            problems = [("", str(exc), False)]
        else:
            problems = _problems(release, data)
            if not problems:
                problems = [("", f"values satisfy the {_kind(data)} contract", True)]
            if data.offline:
                # Said in every verdict: the offline contract knows keys and types, not enums.
                problems = [(path, f"{msg} {offline_note(data.origin)}", ok)
                            for path, msg, ok in problems]
                offline = data.origin
        verdicts += [
            Verdict(release.module, release.name, release.chart, release.version, path, msg, ok,
                    offline)
            for path, msg, ok in problems
        ]
    return verdicts


def offline_note(origin: str) -> str:
    """What a verdict from an offline contract says about it."""
    return f"(checked against the {origin}: no chart package at hand)"


def assert_contracts(rendered: Rendered) -> None:
    """Raise ContractViolationError naming every failed check."""
    failures = [v for v in check_contracts(rendered) if not v.passed]
    if failures:
        raise ContractViolationError(failures)


def _kind(data: ChartData) -> str:
    return "schema" if data.schema else "default-keys"


def _problems(release: Release, data: ChartData) -> list[tuple[str, str, bool]]:
    defaults, schema = data.values, data.schema
    problems: list[tuple[str, str, bool]] = []
    if schema is not None:
        problems += _schema_problems(release.values, defaults, schema)
        if schema.get("additionalProperties") is not False:
            # An open top level lets typos through the schema: check those keys too.
            known = set(defaults) | set(schema.get("properties", {}))
            problems += [_unknown(key, known) for key in release.values if key not in known]
    else:
        problems += _key_problems(release.values, defaults, "")
    return problems


def _schema_problems(
    values: dict[str, Any], defaults: dict[str, Any], schema: dict[str, Any]
) -> list[tuple[str, str, bool]]:
    merged = merge_values(defaults, values)
    validator = jsonschema.Draft7Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(merged), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "additionalProperties":
            for key in _UNEXPECTED.findall(error.message):
                full = f"{path}.{key}" if path else key
                problems.append(
                    (full, f"unknown key {key!r} (the chart's schema rejects it)", False)
                )
        else:
            problems.append((path, error.message, False))
    return problems


def _key_problems(values: Any, defaults: Any, path: str) -> list[tuple[str, str, bool]]:
    if not isinstance(values, dict) or not isinstance(defaults, dict) or not defaults:
        return []  # a scalar, or a map the chart leaves open
    problems = []
    for key, value in values.items():
        full = f"{path}.{key}" if path else str(key)
        if key not in defaults:
            problems.append(_unknown(full, set(defaults)))
        elif key not in OPEN_KEYS:
            problems += _key_problems(value, defaults[key], full)
    return problems


def _unknown(path: str, known: set[str]) -> tuple[str, str, bool]:
    key = path.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (path, f"unknown key {key!r}: not in the chart's values.yaml{hint}", False)


def merge_values(defaults: Any, overlay: Any) -> Any:
    """Merge values over chart defaults as Helm does (maps merge, null deletes)."""
    if not isinstance(defaults, dict) or not isinstance(overlay, dict):
        return overlay
    merged = dict(defaults)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_values(defaults.get(key), value)
    return merged


def chart_data(chart: str, version: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Return a chart version's default values and its schema (None without one); offline,
    values of the right types and the reduced schema (see `harness.static.chart_source`).

    Raises:
        FileNotFoundError: no package and no offline contract for that chart version.

    """
    data = chart_source.chart_data(chart, version)
    return data.values, data.schema
