"""`<module>.wiring.variable-reach`: every variable of every module changes something in the
rendered manifests. A variable that changes nothing is a no-op: a failure, unless the module's
documentation says it does nothing (then a finding).

For each variable of `terraform/modules/<tool>/values/variables.tf`, the module is rendered once
with the scenario's value and once with a changed value of the variable's type (all of them in
one Terraform apply, then `helm template` in parallel, cached), and the objects are compared.
Fields helm generates anew on every render (random passwords, certificates, their checksums)
are learnt by rendering the scenario twice and ignored. A variable that only matters when
another one is set ("used when `X` is `true`", or any switch of the module) is tried
again with that switch set, before it is called a no-op.

Public API:
    variable_reach(tfvars, *, source, kube_version, ...) -> list[Reach]   one per variable
    variable_reach_checks(scenario_tfvars, source, kube_version, ...) -> list[CheckResult]
    reach_checks(reaches) / reach_findings(reaches)   the same verdicts as checks or findings
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from harness.manifests.kube_api import minor_of
from harness.manifests.model import DIRECT
from harness.manifests.render import render_manifests
from harness.report.model import CheckResult
from harness.static.modules import read_variables, root_variable_name, terraform_root, tool_names
from harness.static.mutations import changed_values
from harness.static.render import (
    InvalidTfvarsError,
    Rendered,
    Variant,
    render_variants,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from pathlib import Path

    from harness.charts.source import ChartSource
    from harness.manifests.model import Manifests, RenderedRelease
    from harness.static.modules import ModuleVariable
    from harness.static.render import Release

# Until the support range is wired in, the newest Kubernetes version the charts declare.
DEFAULT_KUBE_VERSION = "1.34"
REACHES = "reaches"
NO_OP = "no-op"
UNMUTABLE = "could not mutate"
NOT_JUDGED = "not judged"
_SHOWN = 60  # characters of a changed value shown in a message
_TRIES = 4  # changed values tried per variable (Terraform or the chart may refuse one)
# How a module documents a variable that configures nothing (the seed's parameters it keeps).
_DOCUMENTED_NO_OP = re.compile(
    r"installs? nothing|\bunused\b|no effect|does nothing|kept for compatibility|\bignored\b",
    re.IGNORECASE)
# "used when `X` is `true`"; "used when `X` is set" (any value but the empty one).
_GATE = re.compile(
    r"(?:(?:used|required|only) when|and) `(\w+)` is (?:`([^`]+)`|set|not empty)")
_NEEDED_WHEN = re.compile(r"(?:used|required) when `(\w+)` is `([^`]+)`")

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when there
Key = tuple[str, str, str, str, tuple[str, ...]]  # owner, kind, namespace, name, field path


@dataclass(frozen=True)
class Reach:
    """What changing one module variable did to the rendered manifests."""

    module: str
    variable: str
    root_variable: str
    verdict: str
    # The module's documentation says the variable configures nothing: a no-op is a finding.
    documented_no_op: bool = False
    # reaches: the first changed field (and the switch it needed); otherwise why not.
    detail: str = ""

    @property
    def failed(self) -> bool:
        """A no-op the documentation does not announce."""
        return self.verdict == NO_OP and not self.documented_no_op

    @property
    def label(self) -> str:
        """`module.variable`, with the root module's name when it differs."""
        root = f" (root: {self.root_variable})" if self.root_variable != self.variable else ""
        return f"{self.module}.{self.variable}{root}"

    def line(self) -> str:
        """One line for `render --variable-reach`."""
        if self.verdict == NO_OP:
            mark = "no-op (finding)" if self.documented_no_op else "NO-OP (fail)"
        else:
            mark = self.verdict
        return f"{mark:<16} {self.label}: {self.detail}"


def variable_reach_checks(scenario_tfvars: dict[str, Any], source: ChartSource,
                          kube_version: str = DEFAULT_KUBE_VERSION, *,
                          secrets: dict[str, str] | None = None,
                          terraform_dir: Path | None = None) -> list[CheckResult]:
    """One `<module>.wiring.variable-reach` result per module (see `variable_reach`)."""
    return reach_checks(variable_reach(scenario_tfvars, source=source, kube_version=kube_version,
                                       secrets=secrets, terraform_dir=terraform_dir))


def reach_checks(reaches: list[Reach]) -> list[CheckResult]:
    """Fail a module with an undocumented no-op; list documented ones and what could not be
    changed; skip a module that is not installed or whose charts could not be rendered.
    """
    results = []
    for module in sorted({r.module for r in reaches}):
        mine = [r for r in reaches if r.module == module]
        ident = f"{module}.wiring.variable-reach"
        judged = [r for r in mine if r.verdict != NOT_JUDGED]
        if not judged:
            results.append(CheckResult(id=ident, tool=module, status="skip",
                                       message=mine[0].detail))
            continue
        parts = []
        failed = [r for r in mine if r.failed]
        if failed:
            parts.append("no-op variables (change no rendered object, yet documented as "
                         "configuring something): " + "; ".join(
                             f"{r.label}: {r.detail}" for r in failed))
        reached = sum(r.verdict == REACHES for r in mine)
        parts.append(f"{reached} of {len(mine)} variables reach the manifests")
        documented = [r.label for r in mine if r.verdict == NO_OP and r.documented_no_op]
        if documented:
            parts.append("documented no-ops (findings): " + ", ".join(documented))
        unmutable = [f"{r.label} ({r.detail})" for r in mine if r.verdict == UNMUTABLE]
        if unmutable:
            parts.append("could not mutate: " + "; ".join(unmutable))
        results.append(CheckResult(id=ident, tool=module, status="fail" if failed else "pass",
                                   message="; ".join(parts)))
    return results


def reach_findings(reaches: list[Reach]) -> list[str]:
    """The documented no-ops, one line each."""
    return [f"{r.module}: variable {r.label.removeprefix(r.module + '.')} changes no rendered "
            f"object ({r.detail})" for r in reaches if r.verdict == NO_OP and r.documented_no_op]


def variable_reach(tfvars: dict[str, Any], *, source: ChartSource,
                   kube_version: str = DEFAULT_KUBE_VERSION,
                   secrets: dict[str, str] | None = None,
                   terraform_dir: Path | None = None) -> list[Reach]:
    """Change each variable of each module the scenario installs and see what changes.

    Args:
        tfvars: the scenario's root-module variables (without secrets).
        source: where the charts come from.
        kube_version: the Kubernetes version rendered for, e.g. `1.34`.
        secrets: the run's secrets; when not given, fixed stand-ins (no one's secret) fill the
            sensitive variables the scenario needs, so the renders may be cached.
        terraform_dir: the root module; defaults to `HARNESS_TERRAFORM_DIR` or `terraform/`.

    Raises:
        InvalidTfvarsError: Terraform rejects the scenario's own tfvars.
        RenderError: Terraform failed for another reason.

    """
    from harness.launchers.chart_values import terraform_dir as configured_root  # noqa: PLC0415

    root = terraform_dir or configured_root() or terraform_root()
    study = _Study(root, dict(tfvars), source, f"{minor_of(kube_version)}.0")
    if secrets is not None:
        study.secrets = secrets
    else:
        study.placeholders = _placeholders(root, tfvars)
    return study.run()


# ---------------------------------------------------------------------------------------------


@dataclass
class _Probe:
    """One variable changed in one setting (`context`: other variables set first)."""

    tool: str
    name: str
    context: dict[str, Any]
    candidates: list[Any]
    tried: int = 0
    refusals: list[str] = field(default_factory=list)
    unchanged: list[Any] = field(default_factory=list)  # values rendered without a change
    change: str = ""  # the first changed field, when it reaches

    @property
    def judged(self) -> bool:
        """Rendered with at least one changed value."""
        return bool(self.change or self.unchanged)

    @property
    def variant(self) -> Variant:
        return Variant(self.tool, {**self.context, self.name: self.candidates[self.tried]})

    @property
    def base(self) -> Variant:
        return Variant(self.tool, dict(self.context))

    def next(self) -> bool:
        """Move to the next changed value; whether there is one left to try."""
        self.tried += 1
        return self.tried < min(len(self.candidates), _TRIES)


@dataclass
class _Study:
    root: Path
    tfvars: dict[str, Any]
    source: ChartSource
    kube_version: str
    secrets: dict[str, str] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    # Per base variant (`_key`): its flattened manifests and the fields that differ between two
    # renders of it (helm's random values); or why it could not be rendered.
    bases: dict[str, tuple[dict[Key, Any], set[Key]] | str] = field(default_factory=dict)
    noise: dict[str, set[Key]] = field(default_factory=dict)  # per release (`_release_key`)
    releases: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def run(self) -> list[Reach]:
        root_vars = read_variables(self.root / "variables.tf")
        declared = {tool: read_variables(self.root / "modules" / tool / "values" / "variables.tf")
                    for tool in tool_names(self.root)}
        current = {tool: {n: self._value(tool, n, root_vars) for n in names}
                   for tool, names in declared.items()}
        installed = [t for t in declared if current[t].get("create", True)]
        self._render_scenario(installed)
        reaches: list[Reach] = []
        first: list[_Probe] = []
        for tool, names in declared.items():
            why = ("the scenario does not install this module" if tool not in installed
                   else self.bases[_key(Variant(tool))])
            if isinstance(why, str):
                reaches += [Reach(tool, n, root_variable_name(tool, n), NOT_JUDGED, detail=why)
                            for n in names]
                continue
            for name, variable in names.items():
                candidates = self._candidates(tool, name, variable, current[tool][name])
                # Switching a variable on may require others (a precondition): set them first.
                needs = _required(name, candidates[0], names, current[tool]) if candidates else {}
                first.append(_Probe(tool, name, needs, candidates))
        self._settle(first)
        # A no-op may only matter once another variable switches it on: try those settings.
        second = [
            _Probe(p.tool, p.name, context,
                   self._candidates(p.tool, p.name, declared[p.tool][p.name],
                                    context.get(p.name, current[p.tool][p.name])))
            for p in first if p.judged and not p.change
            and not _documented(declared[p.tool][p.name])
            for context in _contexts(p.name, declared[p.tool], current[p.tool])]
        self._settle(second)
        for probe in first:
            settings = [s for s in second if (s.tool, s.name) == (probe.tool, probe.name)]
            reaches.append(_reach(probe, settings, declared[probe.tool]))
        order = {(t, n): i for t, names in declared.items() for i, n in enumerate(names)}
        return sorted(reaches, key=lambda r: (r.module, order[(r.module, r.variable)]))

    def _value(self, tool: str, name: str, root_vars: dict[str, ModuleVariable]) -> Any:
        root_name = root_variable_name(tool, name)
        if root_name in self.tfvars:
            return self.tfvars[root_name]
        if root_name in self.secrets or root_name in self.placeholders:
            return self.secrets.get(root_name, self.placeholders.get(root_name))
        return root_vars[root_name].default if root_name in root_vars else None

    def _render_scenario(self, tools: list[str]) -> None:
        variants = [Variant(tool) for tool in tools]
        rendered = render_variants(self.tfvars, variants, secrets=self.secrets,
                                   terraform_dir=self.root, placeholders=self.placeholders)
        self._learn_bases({_key(v): r for v, r in zip(variants, rendered, strict=True)})
        self.releases = {v.tool: r.releases for v, r in zip(variants, rendered, strict=True)
                         if isinstance(r, Rendered)}

    def _candidates(self, tool: str, name: str, variable: ModuleVariable, value: Any) -> list[Any]:
        if name.endswith("chart_version"):
            return self._other_versions(tool, str(value))
        return changed_values(variable, value)

    def _other_versions(self, tool: str, version: str) -> list[str]:
        # Other versions of the chart(s) the module installs at this version, newest first.
        charts = {r.chart for r in self.releases.get(tool, ()) if r.version == version}
        found: set[str] = set()
        for chart in charts:
            for package in self.source.directory.glob(f"{chart}-*.tgz"):
                other = package.name.removeprefix(f"{chart}-").removesuffix(".tgz")
                if other[:1].isdigit() and other != version:
                    found.add(other)
        return sorted(found, key=_version_key, reverse=True)

    def _settle(self, probes: list[_Probe]) -> None:
        """Render each probe against its base, moving to its next changed value while
        Terraform or the chart refuses one; a judged probe's `change` is the first field that
        differs ("" for none).
        """
        pending = [p for p in probes if p.candidates]
        while pending:
            bases = {_key(p.base): p.base for p in pending if _key(p.base) not in self.bases}
            variants = [*bases.values(), *(p.variant for p in pending)]
            rendered = render_variants(self.tfvars, variants, secrets=self.secrets,
                                       terraform_dir=self.root, placeholders=self.placeholders)
            self._learn_bases(dict(zip(bases, rendered[: len(bases)], strict=True)))
            results = list(zip(pending, rendered[len(bases):], strict=True))
            manifests = self._manifests([r for _, r in results if isinstance(r, Rendered)])
            retry = []
            for probe, result in results:
                base = self.bases[_key(probe.base)]
                if isinstance(base, str):  # the setting itself is refused: nothing to judge
                    probe.refusals.append(base)
                    continue
                refusal = (str(result) if isinstance(result, InvalidTfvarsError)
                           else _render_error(manifests[id(result)]))
                if refusal:
                    probe.refusals.append(refusal)
                else:
                    objects, noise = base
                    changes = _changes(objects, _flatten(manifests[id(result)]), noise)
                    if changes:
                        probe.change = _describe(changes[0])
                        continue
                    # The chart may default to this very value: try another before concluding.
                    probe.unchanged.append(probe.candidates[probe.tried])
                if probe.next():
                    retry.append(probe)
            pending = retry

    def _learn_bases(self, rendered: dict[str, Rendered | InvalidTfvarsError]) -> None:
        good = {k: r for k, r in rendered.items() if isinstance(r, Rendered)}
        for key, result in rendered.items():
            if isinstance(result, InvalidTfvarsError):
                self.bases[key] = f"the setting is refused: {result}"
        cached = self._manifests(list(good.values()))
        self._learn_noise([r for k, r in good.items() if not _render_error(cached[id(r)])])
        for key, result in good.items():
            error = _render_error(cached[id(result)])
            noise = set().union(*(self.noise[_release_key(r)] for r in result.releases))
            self.bases[key] = error or (_flatten(cached[id(result)]), noise)

    def _learn_noise(self, rendered: list[Rendered]) -> None:
        """Render each release not seen yet once more, bypassing the cache: the fields that
        differ are what helm generates anew each time.
        """
        new = {_release_key(r): r for result in rendered for r in result.releases
               if _release_key(r) not in self.noise}
        if not new:
            return
        hidden = frozenset(s for result in rendered for s in result.secret_strings)
        both = [render_manifests(Rendered(tuple(new.values()), hidden), source=self.source,
                                 kube_version=self.kube_version, fresh=fresh)
                for fresh in (False, True)]
        for key, cached, fresh in zip(new, both[0].releases, both[1].releases, strict=True):
            self.noise[key] = set(_changes(_flatten_release(cached), _flatten_release(fresh),
                                           set()))

    def _manifests(self, rendered: list[Rendered]) -> dict[int, Manifests]:
        # One `helm template` per distinct release, all in parallel; then each variant's
        # manifests come from the cache.
        distinct = {_release_key(r): r for result in rendered for r in result.releases}
        hidden = frozenset(s for result in rendered for s in result.secret_strings)
        render_manifests(Rendered(tuple(distinct.values()), hidden), source=self.source,
                         kube_version=self.kube_version)
        return {id(r): render_manifests(r, source=self.source, kube_version=self.kube_version)
                for r in rendered}


def _reach(probe: _Probe, settings: list[_Probe], declared: dict[str, ModuleVariable]
           ) -> Reach:
    variable = declared[probe.name]
    reach = Reach(probe.tool, probe.name, root_variable_name(probe.tool, probe.name), "",
                  _documented(variable))
    if probe.change:
        return _with(reach, REACHES, probe.change)
    for setting in settings:
        if setting.change:
            return _with(reach, REACHES, f"with {_scene(setting, declared)}: {setting.change}")
    if not probe.candidates:
        return _with(reach, UNMUTABLE, "no other version of its chart in the chart source"
                     if probe.name.endswith("chart_version") else "no changed value of its type")
    if not probe.judged:
        why = _first_line(probe.refusals[-1]) if probe.refusals else "nothing was rendered"
        return _with(reach, UNMUTABLE, f"every changed value was refused: {why}")
    if reach.documented_no_op:
        return _with(reach, NO_OP, _documented_phrase(variable))
    scenes = [_scene(s, declared) for s in settings if s.judged]
    also = f" (nor with {'; '.join(scenes)})" if scenes else ""
    changed = " or ".join(_shown(v, variable) for v in probe.unchanged)
    return _with(reach, NO_OP, f"changing it to {changed} changes no rendered object{also}; "
                               f"its description: {variable.description}")


def _scene(probe: _Probe, declared: dict[str, ModuleVariable]) -> str:
    return ", ".join(f"{k} = {_shown(v, declared[k])}" for k, v in probe.context.items())


def _with(reach: Reach, verdict: str, detail: str) -> Reach:
    return Reach(reach.module, reach.variable, reach.root_variable, verdict,
                 reach.documented_no_op, detail)


def _release_key(release: Release) -> str:
    return json.dumps([release.name, release.chart, release.version, release.namespace,
                       release.values], sort_keys=True, default=str)


def _key(variant: Variant) -> str:
    return json.dumps([variant.tool, variant.overrides], sort_keys=True, default=str)


def _documented(variable: ModuleVariable) -> bool:
    return bool(_DOCUMENTED_NO_OP.search(variable.description))


def _documented_phrase(variable: ModuleVariable) -> str:
    return f"documented: {variable.description}"


def _shown(value: Any, variable: ModuleVariable) -> str:
    if variable.sensitive:
        return "another value (sensitive)"
    text = json.dumps(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else text


def _contexts(name: str, declared: dict[str, ModuleVariable], current: dict[str, Any]
              ) -> list[dict[str, Any]]:
    """The settings in which `name` may matter: the switch its description names ("used when
    `X` is `true`", "when `X` is set"), else each other switch (bool) of the module flipped;
    with the variables that setting requires given a value.
    """
    described: dict[str, Any] = {}
    for switch, value in _GATE.findall(declared[name].description):
        if switch in declared and switch != name:
            wanted = _literal(value) if value else _first(declared[switch], current.get(switch))
            described[switch] = wanted
    if described:  # "used when `A` is `true` and `B` is `true`": all of them at once
        if all(current.get(s) == v for s, v in described.items()) or None in described.values():
            return []
        context = dict(described)
        for switch, value in described.items():
            context.update({k: v for k, v in _required(switch, value, declared, current).items()
                            if k not in context})
        return [context]
    switches = [(b, not current[b]) for b, v in declared.items()
                if v.type == "bool" and b not in {"create", name}
                and isinstance(current.get(b), bool)]
    return [{switch: value, **_required(switch, value, declared, current)}
            for switch, value in switches]


def _required(switch: str, value: Any, declared: dict[str, ModuleVariable],
              current: dict[str, Any]) -> dict[str, Any]:
    """Values for the empty variables documented as "required (or used) when `switch` is
    `value`": a module may refuse the setting without them (a precondition).
    """
    found = {}
    for other, variable in declared.items():
        needed = any(g == switch and _literal(v) == value
                     for g, v in _NEEDED_WHEN.findall(variable.description))
        if needed and other != switch and not current.get(other):
            first = _first(variable, current.get(other))
            if first is not None:
                found[other] = first
    return found


def _first(variable: ModuleVariable, value: Any) -> Any:
    candidates = changed_values(variable, value)
    return candidates[0] if candidates else None


def _literal(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _render_error(manifests: Manifests) -> str:
    return "; ".join(f"{r.label}: {r.error}" for r in manifests.releases if r.error)


def _flatten(manifests: Manifests) -> dict[Key, Any]:
    """Every leaf of every object, keyed by owner, kind, namespace, name and path; Secret data
    is decoded and YAML/JSON documents inside strings are opened, so a change inside a
    rendered config file is seen where it is.
    """
    flat = _flatten_objects(DIRECT, manifests.direct)
    for release in manifests.releases:
        flat.update(_flatten_release(release))
    return flat


def _flatten_release(release: RenderedRelease) -> dict[Key, Any]:
    return _flatten_objects(release.name, release.objects)


def _flatten_objects(owner: str, objects: Iterable[dict[str, Any]]) -> dict[Key, Any]:
    flat: dict[Key, Any] = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        head = (owner, str(obj.get("kind", "")), str(meta.get("namespace", "")),
                str(meta.get("name", "")))
        flat[(*head, ())] = "(object)"
        for path, leaf in _object_leaves(obj):
            flat[(*head, path)] = leaf
    return flat


# Variants share most objects (helm's cache returns the same ones): open each object once.
_OPENED: dict[int, tuple[dict[str, Any], list[tuple[tuple[str, ...], Any]]]] = {}


def _object_leaves(obj: dict[str, Any]) -> list[tuple[tuple[str, ...], Any]]:
    known = _OPENED.get(id(obj))
    if known is not None and known[0] is obj:
        return known[1]
    body = dict(obj)
    if obj.get("kind") == "Secret" and isinstance(obj.get("data"), dict):
        body["data"] = {k: _decoded(v) for k, v in obj["data"].items()}
    leaves = list(_leaves(body, ()))
    _OPENED[id(obj)] = (obj, leaves)  # holds `obj`, so its id is not reused meanwhile
    return leaves


def _decoded(value: Any) -> Any:
    try:
        return base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return value


def _leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, str(index)))
    elif isinstance(value, str) and ("\n" in value or value.startswith(("{", "["))):
        try:
            document = yaml.load(value, Loader=_LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError:
            document = None
        if isinstance(document, (dict, list)):
            yield from _leaves(document, path)
        else:
            yield path, value
    else:
        yield path, value


def _changes(before: dict[Key, Any], after: dict[Key, Any], noise: set[Key]) -> list[Key]:
    return sorted(k for k in before.keys() | after.keys()
                  if k not in noise and before.get(k, _MISSING) != after.get(k, _MISSING))


_MISSING = object()


def _describe(key: Key) -> str:
    owner, kind, namespace, name, path = key
    where = f"{namespace}/{name}" if namespace else name
    what = ".".join(path) if path else "(object added or removed)"
    return f"{kind} {where} {what}" + ("" if owner != DIRECT else " (created by the module)")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.+-]", version))


def _placeholders(root: Path, tfvars: dict[str, Any]) -> dict[str, str]:
    """A stand-in for each sensitive root variable the scenario needs and leaves empty: fixed
    values that are no one's secret (64 hex digits pass every validation), so the manifests
    rendered from them may be cached between runs.
    """
    from harness.scenario import Scenario  # noqa: PLC0415
    from harness.secrets import run_secrets  # noqa: PLC0415

    declared = read_variables(root / "variables.tf")
    if root.resolve() == terraform_root().resolve():  # the run's own rule of what it needs
        names = set(run_secrets(Scenario(description="variable reach", tfvars=dict(tfvars))))
    else:
        names = {n for n, v in declared.items() if v.sensitive and v.required}
    stand_ins = {n: hashlib.sha256(f"variable-reach {n}".encode()).hexdigest()
                 for n in sorted(names) if n in declared and n not in tfvars}
    # A sensitive variable's default is public (it is in variables.tf): no secret either.
    defaults = {n: v.default for n, v in declared.items()
                if v.sensitive and isinstance(v.default, str) and v.default
                and n not in tfvars and n not in stand_ins}
    return {**stand_ins, **defaults}
