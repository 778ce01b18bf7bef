"""`<module>.manifests.schema.<release>`: every object a release renders is valid, strictly
(unknown fields are errors), against the Kubernetes OpenAPI schema of each version under test;
an API version that version no longer serves fails with the release that removed it and what
replaces it; a deprecated one still served passes with a note (and a finding).

`scenario.manifests.schema.module-objects` (tool `scenario`) judges the same way the objects
the modules create themselves, beside their releases: the Namespaces and Secrets.

Custom resources (a kind of a group no Kubernetes release serves) are left to
`harness/manifests/crds.py`, which judges them against their CustomResourceDefinition.
"""

from __future__ import annotations

import base64
import json
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from harness.manifests.api_lifecycle import API_CHANGES, change_of
from harness.manifests.kube_api import all_kinds, schema_versions, served_kinds
from harness.manifests.kube_schema import schema_problems
from harness.manifests.model import ref
from harness.report.model import CheckResult

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness.manifests.context import ManifestContext
    from harness.manifests.model import RenderedRelease

MODULE_OBJECTS_ID = "scenario.manifests.schema.module-objects"


class _Verdicts:
    """Problems and notes of a set of objects, each with the versions it holds for."""

    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}
        self.notes: dict[str, list[str]] = {}
        self.counts: dict[str, int] = {}

    def judge(self, objects: Iterable[dict[str, Any]], kube_version: str) -> None:
        for obj in objects:
            self.counts[kube_version] = self.counts.get(kube_version, 0) + 1
            problems, note = judge_object(obj, kube_version)
            for problem in problems:
                self.problems.setdefault(problem, []).append(kube_version)
            if note:
                self.notes.setdefault(note, []).append(kube_version)

    @staticmethod
    def _lines(found: dict[str, list[str]]) -> list[str]:
        return [f"{text} (Kubernetes {', '.join(versions)})" for text, versions in found.items()]

    def problem_lines(self) -> list[str]:
        return self._lines(self.problems)

    def note_lines(self) -> list[str]:
        return self._lines(self.notes)


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One result per release, and one for the modules' own objects."""
    results = [_release_result(ctx, release) for release in ctx.manifests.releases]
    if ctx.manifests.direct:
        verdicts = _Verdicts()
        for version in ctx.kube_versions:
            verdicts.judge(ctx.by_version[version].direct, version)
        results.append(_result(MODULE_OBJECTS_ID, "scenario", "the modules' own objects",
                               verdicts, ctx.kube_versions))
    for result in results:
        result.message = mask(result.message, ctx.rendered.secret_strings)
    return results


def findings(ctx: ManifestContext) -> list[str]:
    """Deprecated APIs still served, per release: they break on a later upgrade."""
    found = []
    for release in ctx.manifests.releases:
        verdicts = _release_verdicts(ctx, release)[0]
        found += [f"{release.label}: {note}" for note in verdicts.note_lines()]
    return [mask(line, ctx.rendered.secret_strings) for line in found]


def judge_object(obj: dict[str, Any], kube_version: str) -> tuple[list[str], str]:
    """The problems of one object in `kube_version` (`Kind ns/name: field: error`), and a note
    when its API is deprecated but still served. A custom resource gets neither.
    """
    # The same object is judged again for findings, and charts repeat objects: judge each once.
    problems, note = _judge_text(json.dumps(obj, sort_keys=True, default=str), kube_version)
    return list(problems), note


def mask(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret, plain or base64, replaced: schema errors quote values."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        encoded = base64.b64encode(secret.encode()).decode()
        text = text.replace(secret, "(sensitive)").replace(encoded, "(sensitive)")
    return text


@lru_cache(maxsize=4096)
def _judge_text(text: str, kube_version: str) -> tuple[tuple[str, ...], str]:
    problems, note = _judge(json.loads(text), kube_version)
    return tuple(problems), note


def _judge(obj: dict[str, Any], kube_version: str) -> tuple[list[str], str]:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    what = ref(obj)
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return [f"{what}: no apiVersion or kind"], ""
    change = change_of(api_version, kind)
    if (api_version, kind) in served_kinds(kube_version):
        problems = [f"{what}: {path}: {error}"
                    for path, error in schema_problems(obj, kube_version)]
        note = ""
        if change and _at_least(kube_version, change.deprecated):
            removal = f", removed in {change.removed}" if change.removed else ""
            note = (f"{what}: {api_version} {kind} is deprecated since Kubernetes "
                    f"{change.deprecated}{removal}; use {change.replacement}")
        return problems, note
    if change and change.removed and _at_least(kube_version, change.removed):
        return [f"{what}: {api_version} {kind} was removed in Kubernetes {change.removed}; "
                f"use {change.replacement}"], ""
    if not is_builtin(api_version):
        return [], ""
    if (api_version, kind) in all_kinds(kube_version):
        return [f"{what}: {api_version} is an alpha API: Kubernetes {kube_version} serves it "
                "only when a feature gate turns it on"], ""
    others = sorted(gv for gv, k in served_kinds(kube_version) if k == kind)
    served = f"; it serves {kind} as {', '.join(others)}" if others else ""
    return [f"{what}: Kubernetes {kube_version} serves no {kind} in {api_version}{served}"], ""


def _release_verdicts(ctx: ManifestContext,
                      release: RenderedRelease) -> tuple[_Verdicts, list[str]]:
    verdicts = _Verdicts()
    unrendered = []
    for version in ctx.kube_versions:
        rendered = ctx.by_version[version].release(release.module, release.name)
        if rendered is None or rendered.error:
            unrendered.append(version)
        else:
            verdicts.judge(rendered.objects, version)
    return verdicts, unrendered


def _release_result(ctx: ManifestContext, release: RenderedRelease) -> CheckResult:
    ident = f"{release.module}.manifests.schema.{release.name}"
    if release.skipped:
        return CheckResult(id=ident, tool=release.module, status="skip", message=release.error)
    verdicts, unrendered = _release_verdicts(ctx, release)
    render_id = f"{release.module}.manifests.render.{release.name}"
    if len(unrendered) == len(ctx.kube_versions):
        return CheckResult(id=ident, tool=release.module, status="skip",
                           message=f"{release.label}: not rendered (see {render_id})")
    judged = tuple(v for v in ctx.kube_versions if v not in unrendered)
    result = _result(ident, release.module, release.label, verdicts, judged)
    if unrendered:
        result.message += (f"; not judged for Kubernetes {', '.join(unrendered)}: not rendered "
                           f"(see {render_id})")
    return result


def _result(ident: str, tool: str, label: str, verdicts: _Verdicts,
            versions: tuple[str, ...]) -> CheckResult:
    notes = verdicts.note_lines()
    problems = verdicts.problem_lines()
    if problems:
        return CheckResult(id=ident, tool=tool, status="fail",
                           message=f"{label}: " + "; ".join(problems + notes))
    count = max(verdicts.counts.values(), default=0)
    message = (f"{label}: {count} objects valid against the "
               f"Kubernetes {', '.join(versions)} schemas (strict)")
    if notes:
        message += "; deprecated: " + "; ".join(notes)
    return CheckResult(id=ident, tool=tool, status="pass", message=message)


def is_builtin(api_version: str) -> bool:
    """Whether `api_version` belongs to a group Kubernetes itself serves (or once served);
    anything else is a custom resource.
    """
    return _group(api_version) in _builtin_groups()


def _group(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


@cache
def _builtin_groups() -> frozenset[str]:
    # Every group some Kubernetes version serves (or once served): anything else is custom.
    groups = {_group(gv) for version in schema_versions() for gv, _ in all_kinds(version)}
    return frozenset(groups | {_group(gv) for gv, _ in API_CHANGES})


def _at_least(version: str, bound: str) -> bool:
    def key(text: str) -> tuple[int, ...]:
        return tuple(int(part) for part in text.split("."))

    return key(version) >= key(bound)
