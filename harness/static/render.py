"""Render each Terraform module's Helm values for a scenario, offline, with Terraform itself.

The provider-free values submodules (`terraform/modules/<tool>/values`) are applied in a
temporary root that declares the root module's own `variables.tf`, so the scenario's
tfvars meet exactly the types, defaults and validations users meet.

Public API:
    render_scenario(tfvars, *, secrets) -> Rendered
    Rendered.releases: tuple of Release(module, name, chart, version, repository, values)
    Rendered.values:   {module: {release: values}}
    Rendered.endpoints: {tool: {service, namespace, port, secret_names}} of enabled tools
    Rendered.user_provided: tuple of UserProvided(module, kind, name, namespace, how)
    Rendered.masked(): the same with every secret string replaced by `(sensitive)`
    render_variants(tfvars, [Variant(tool, overrides)], *, secrets) -> [Rendered | error]
    InvalidTfvarsError: Terraform rejected an input value (bad input, CLI exit 2)
    RenderError: anything else went wrong rendering (a module defect)
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.static.modules import (
    ModuleVariable,
    read_variables,
    root_variable_name,
    terraform_root,
    tool_names,
)
from harness.targets._terraform import Terraform, TerraformError

MASK = "(sensitive)"
_VAR_IN_DIAG = re.compile(r"\bvar\.(\w+)")
_SECRETS_OUTPUT = re.compile(r'^output "secrets"', re.MULTILINE)
_USER_PROVIDED_OUTPUT = re.compile(r'^output "user_provided"', re.MULTILINE)
# The keys of a values submodule's `user_provided` output, and the kinds they list.
USER_PROVIDED_KINDS = {
    "secrets": "Secret",
    "config_maps": "ConfigMap",
    "persistent_volume_claims": "PersistentVolumeClaim",
}
_RULE_AT = re.compile(r"validation rule at variables\.tf:(\d+)")
_INPUT_ERRORS = (
    "Invalid value for variable",
    "Invalid value for input variable",
    "precondition failed",
    "No value for required variable",
)


class RenderError(RuntimeError):
    """Terraform could not render the modules' values (a defect in the modules)."""


class InvalidTfvarsError(RenderError):
    """A tfvars value was rejected by a variable's type or validation (bad input)."""

    def __init__(self, variable: str, detail: str) -> None:
        self.variable = variable
        self.detail = detail
        super().__init__(f"invalid value for {variable}: {detail}")


@dataclass(frozen=True)
class Release:
    """One Helm release a module would install, with the values Terraform rendered."""

    module: str
    name: str
    chart: str
    version: str
    repository: str
    values: dict[str, Any]
    namespace: str = ""


@dataclass(frozen=True)
class KubeSecret:
    """A Kubernetes Secret a module creates beside its releases (its `values/` output `secrets`)."""

    module: str
    name: str
    type: str
    data: dict[str, str] = field(repr=False)


@dataclass(frozen=True)
class UserProvided:
    """An object a module's releases use that the user creates beforehand, and how."""

    module: str
    kind: str
    name: str
    namespace: str
    how: str


@dataclass(frozen=True)
class Rendered:
    """Every release of every enabled module for one scenario, and the Secrets they create."""

    releases: tuple[Release, ...]
    secret_strings: frozenset[str] = field(default=frozenset(), repr=False)
    kube_secrets: tuple[KubeSecret, ...] = ()
    # The root module's `endpoints` output: {tool: {service, namespace, port, secret_names}}.
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What each module declares the user must create (its `values/` output `user_provided`).
    user_provided: tuple[UserProvided, ...] = ()
    # (variable, value) of every secret input, to replace values by their names.
    secret_names: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # True once `with_placeholders` replaced the secrets in the values with their names.
    placeholders: bool = False

    def with_placeholders(self) -> Rendered:
        """The same releases with every secret replaced by `secret-<variable>`: renders that
        hold no secret, so they can be cached, written and compared between runs.
        """
        names = [(name, f"secret-{name.replace('_', '-')}") for name, _ in self.secret_names]
        swaps = [(value, f"secret-{name.replace('_', '-')}") for name, value in self.secret_names]
        # A secret string no variable names (e.g. given directly) is swapped all the same.
        named = {value for _, value in self.secret_names}
        unnamed = sorted(s for s in self.secret_strings if s and s not in named)
        swaps += [(value, f"secret-value-{n}") for n, value in enumerate(unnamed, 1)]
        swaps.sort(key=lambda s: -len(s[0]))
        releases = tuple(replace(r, values=_swap(r.values, swaps)) for r in self.releases)
        kube_secrets = tuple(replace(k, data=_swap(k.data, swaps)) for k in self.kube_secrets)
        return replace(self, releases=releases, kube_secrets=kube_secrets, placeholders=True,
                       # The originals stay concealed too: a chart may write one itself.
                       secret_strings=frozenset(p for _, p in swaps) | self.secret_strings,
                       secret_names=tuple(names))

    @property
    def values(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Return `{module: {release: values}}`."""
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for release in self.releases:
            out.setdefault(release.module, {})[release.name] = release.values
        return out

    def masked(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Return `values` with every secret string replaced by `(sensitive)`."""
        masked: dict[str, dict[str, dict[str, Any]]] = mask_secrets(
            self.values, self.secret_strings
        )
        return masked


def _swap(data: Any, swaps: list[tuple[str, str]]) -> Any:
    if isinstance(data, dict):
        return {key: _swap(value, swaps) for key, value in data.items()}
    if isinstance(data, list):
        return [_swap(item, swaps) for item in data]
    if isinstance(data, str):
        for secret, placeholder in swaps:
            data = data.replace(secret, placeholder)
    return data


def mask_secrets(data: Any, secrets: frozenset[str] | set[str]) -> Any:
    """Return a copy of `data` where every string containing a secret is masked.

    >>> mask_secrets({"a": "pw", "b": ["x", "pw!"]}, {"pw"})
    {'a': '(sensitive)', 'b': ['x', '(sensitive)']}
    """
    if isinstance(data, dict):
        return {key: mask_secrets(value, secrets) for key, value in data.items()}
    if isinstance(data, list):
        return [mask_secrets(item, secrets) for item in data]
    if isinstance(data, str) and any(secret and secret in data for secret in secrets):
        return MASK
    return data


def render_scenario(
    tfvars: dict[str, Any],
    *,
    secrets: dict[str, str],
    terraform_dir: Path | None = None,
) -> Rendered:
    """Render the Helm values of every enabled module for a scenario's root tfvars.

    Args:
        tfvars: root-module variable values from the scenario (without secrets).
        secrets: the run's generated secrets (e.g. `jhub_proxy_secret_token`).
        terraform_dir: the root module; defaults to the repository's `terraform/`.

    Returns:
        The rendered releases; `masked()` gives them fit for printing.

    Raises:
        InvalidTfvarsError: an unknown variable, or a value Terraform rejects.
        RenderError: Terraform failed for another reason.

    """
    root = terraform_dir or terraform_root()
    variables = read_variables(root / "variables.tf")
    inputs = {**tfvars, **secrets}
    _check_names(inputs, variables)
    named = {
        **{v.name: str(inputs.get(v.name, v.default)) for v in variables.values() if v.sensitive},
        **{name: str(value) for name, value in secrets.items()},
    }
    named = {name: value for name, value in named.items() if value}
    hidden = frozenset(named.values())
    with tempfile.TemporaryDirectory(prefix="mlops-render-") as tmp:
        work = Path(tmp)
        (work / "variables.tf").write_text((root / "variables.tf").read_text())
        (work / "render.tf").write_text(_render_config(root))
        (work / "scenario.auto.tfvars.json").write_text(json.dumps(inputs, indent=1))
        terraform = Terraform(work)
        try:
            terraform.init()
            terraform.apply()
            outputs = terraform.output_json()
        except TerraformError as exc:
            raise _classify(exc, root / "variables.tf", hidden) from None
    return Rendered(_releases(outputs), hidden, _kube_secrets(outputs), _endpoints(outputs),
                    _user_provided(outputs), secret_names=tuple(sorted(named.items())))


def _check_names(inputs: dict[str, Any], variables: dict[str, ModuleVariable]) -> None:
    for name in inputs:
        if name not in variables:
            close = difflib.get_close_matches(name, variables, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise InvalidTfvarsError(name, f"no such variable in terraform/variables.tf{hint}")


def _render_config(root: Path) -> str:
    blocks = []
    for tool in tool_names(root):
        values_dir = (root / "modules" / tool / "values").resolve()
        names = read_variables(values_dir / "variables.tf")
        args = "\n".join(f"  {n} = var.{root_variable_name(tool, n)}" for n in names)
        # A submodule that creates Secrets says so with an output named `secrets`.
        declared = (values_dir / "outputs.tf").read_text()
        extra = f", secrets = module.{tool}[0].secrets" if _SECRETS_OUTPUT.search(declared) else ""
        # And one whose releases need objects the user creates, with `user_provided`.
        if _USER_PROVIDED_OUTPUT.search(declared):
            extra += f", user_provided = module.{tool}[0].user_provided"
        blocks.append(
            f'module "{tool}" {{\n  source = "{values_dir.as_posix()}"\n'
            f"  count  = var.enable_{tool} ? 1 : 0\n{args}\n}}\n\n"
            f'output "{tool}" {{\n  sensitive = true\n'
            f"  value = try({{ releases = module.{tool}[0].releases,"
            f" values = module.{tool}[0].values{extra},"
            f" endpoint = module.{tool}[0].endpoint,"
            f" namespace = var.{root_variable_name(tool, 'namespace')} }}, null)\n}}\n"
        )
    return "\n".join(blocks)


def _releases(outputs: dict[str, Any]) -> tuple[Release, ...]:
    releases = []
    for module, rendered in sorted(outputs.items()):
        if rendered is None:
            continue
        for name, meta in sorted(rendered["releases"].items()):
            releases.append(
                Release(
                    module=module,
                    name=name,
                    chart=meta["chart"],
                    version=meta["version"],
                    repository=meta["repository"],
                    values=rendered["values"][name],
                    namespace=rendered["namespace"],
                )
            )
    return tuple(releases)


def _kube_secrets(outputs: dict[str, Any]) -> tuple[KubeSecret, ...]:
    found = []
    for module, rendered in sorted(outputs.items()):
        for name, secret in sorted(((rendered or {}).get("secrets") or {}).items()):
            found.append(KubeSecret(module, name, secret["type"], dict(secret["data"])))
    return tuple(found)


def _endpoints(outputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {tool: dict(rendered["endpoint"]) for tool, rendered in sorted(outputs.items())
            if rendered is not None and rendered.get("endpoint") is not None}


def _user_provided(outputs: dict[str, Any]) -> tuple[UserProvided, ...]:
    found = []
    for module, rendered in sorted(outputs.items()):
        declared = (rendered or {}).get("user_provided") or {}
        for key, kind in USER_PROVIDED_KINDS.items():
            for entry in declared.get(key) or []:
                found.append(UserProvided(module, kind, entry["name"], rendered["namespace"],
                                          entry["how"]))
    return tuple(found)


def _classify(exc: TerraformError, variables_tf: Path, hidden: frozenset[str]) -> RenderError:
    # Terraform echoes tfvars lines in its diagnostics: mask secrets before reporting.
    text = _scrub(exc.stderr, hidden)
    if any(marker in text for marker in _INPUT_ERRORS):
        return InvalidTfvarsError(_culprit(text, variables_tf), _explanation(text))
    summary = _scrub(str(exc), hidden)
    return RenderError(f"terraform could not render the modules' values: {summary}")


def _scrub(text: str, hidden: frozenset[str]) -> str:
    for secret in sorted(hidden, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _culprit(text: str, variables_tf: Path) -> str:
    rule = _RULE_AT.search(text)
    if rule:
        # The validation rule's line lies inside the variable block that declares it.
        line = int(rule.group(1))
        starts = [
            (number, found.group(1))
            for number, source in enumerate(variables_tf.read_text().splitlines(), 1)
            if (found := re.match(r'^variable "(\w+)"', source))
        ]
        before = [name for number, name in starts if number <= line]
        if before:
            return before[-1]
    found = _VAR_IN_DIAG.search(text)
    return found.group(1) if found else "(a module input)"


def _explanation(stderr: str) -> str:
    # Terraform's message follows the source excerpt; keep its prose lines only.
    lines = [line.strip(" │╷╵") for line in stderr.splitlines()]
    prose = [
        line.strip()
        for line in lines
        if line.strip()
        and not line.strip().startswith(("on ", "├", "Error:", "This was checked"))
        and not re.match(r"^\d+:", line.strip())
        and not line.strip().startswith("var.")
        and "There are some problems with the CLI configuration" not in line
    ]
    return " ".join(prose) or stderr.strip()


# Variants: many instances of the modules' values submodules, each with some inputs changed,
# rendered in one Terraform plan (variable reach: harness/manifests/variable_reach.py).


@dataclass(frozen=True)
class Variant:
    """One instance of module `tool`'s values submodule, with module variables overridden.

    With no overrides it renders what `render_scenario` renders for that module.
    """

    tool: str
    overrides: dict[str, Any] = field(default_factory=dict)


_PARALLELISM = 64  # module instances evaluated at once (Terraform's default 10 leaves cores idle)
_INSTANCE_IN_DIAG = re.compile(r'\bmodule\.v(\d+)\b|in module "v(\d+)"')
_TOOL_IN_DIAG = re.compile(r"modules/([\w-]+)/values/")


def render_variants(
    tfvars: dict[str, Any],
    variants: list[Variant],
    *,
    secrets: dict[str, str],
    terraform_dir: Path | None = None,
    placeholders: dict[str, str] | None = None,
) -> list[Rendered | InvalidTfvarsError]:
    """Render every variant with the scenario's tfvars, all in one Terraform plan.

    A variant whose changed value Terraform rejects (type, validation, precondition) gets that
    `InvalidTfvarsError` in its place; the others are planned again without it.
    `placeholders` fill required sensitive variables with values that are no one's secret:
    unlike `secrets`, they are not concealed (so what is rendered from them may be cached).

    Raises:
        InvalidTfvarsError: the scenario's own tfvars are rejected.
        RenderError: Terraform failed for another reason.

    """
    root = terraform_dir or terraform_root()
    variables = read_variables(root / "variables.tf")
    inputs = {**(placeholders or {}), **tfvars, **secrets}
    _check_names(inputs, variables)
    hidden = frozenset(
        s
        for s in {str(v) for v in secrets.values()}
        | {str(inputs.get(v.name, v.default)) for v in variables.values() if v.sensitive}
        if s and s not in (placeholders or {}).values()
    )
    with tempfile.TemporaryDirectory(prefix="mlops-variants-") as tmp:
        work = Path(tmp)
        (work / "variables.tf").write_text((root / "variables.tf").read_text())
        (work / "scenario.auto.tfvars.json").write_text(json.dumps(inputs, indent=1))
        batch = _VariantBatch(root, work, hidden)
        results = batch.render(dict(enumerate(variants)))
    return [results[index] for index in range(len(variants))]


@dataclass
class _VariantBatch:
    root: Path
    work: Path
    hidden: frozenset[str]
    sensitive: dict[str, set[str]] = field(default_factory=dict)  # per tool

    def render(self, pending: dict[int, Variant]) -> dict[int, Rendered | InvalidTfvarsError]:
        results: dict[int, Rendered | InvalidTfvarsError] = {}
        terraform = Terraform(self.work)
        while pending:
            (self.work / "render.tf").write_text(_variants_config(self.root, self.work, pending))
            try:
                terraform.init()
                # Without resources a plan knows every output: one walk, where apply takes two.
                terraform.run("plan", "-no-color", "-lock=false", "-refresh=false",
                              f"-parallelism={_PARALLELISM}", "-out=variants.tfplan")
                shown = json.loads(terraform.run("show", "-json", "variants.tfplan").stdout)
            except TerraformError as exc:
                rejected, suspects = _rejected_variants(exc, pending)
                if not rejected and len(suspects) < 2:
                    raise _classify(exc, self.root / "variables.tf", self.hidden) from None
                if not rejected:
                    # A precondition does not name the instance: render half the suspects apart.
                    half = {i: pending.pop(i) for i in suspects[: len(suspects) // 2]}
                    results.update(self.render(half))
                for index, error in rejected.items():
                    results[index] = error
                    del pending[index]
                continue
            outputs = shown["planned_values"].get("outputs", {})
            for index, variant in pending.items():
                output = outputs.get(f"v{index}", {}).get("value")
                results[index] = _variant_rendered(variant, output, self)
            pending = {}
        return results


def _variants_config(root: Path, work: Path, variants: dict[int, Variant]) -> str:
    blocks = []
    declared = {tool: read_variables(root / "modules" / tool / "values" / "variables.tf")
                for tool in {v.tool for v in variants.values()}}
    for index, variant in variants.items():
        values_dir = (root / "modules" / variant.tool / "values").resolve()
        names = declared[variant.tool]
        # A relative source is used in place; an absolute one is copied for each instance.
        source = Path(os.path.relpath(values_dir, work.resolve())).as_posix()

        def expression(name: str, variant: Variant = variant) -> str:
            if name in variant.overrides:
                return _hcl(variant.overrides[name])
            return f"var.{root_variable_name(variant.tool, name)}"

        args = "\n".join(f"  {n} = {expression(n)}" for n in names)
        has_secrets = _SECRETS_OUTPUT.search((values_dir / "outputs.tf").read_text())
        secrets = f", secrets = module.v{index}[0].secrets" if has_secrets else ""
        # Gated like `_render_config` (and the wrapper modules) gate on `create`.
        blocks.append(
            f'module "v{index}" {{\n  source = "{source}"\n'
            f"  count  = {expression('create')} ? 1 : 0\n{args}\n}}\n\n"
            f'output "v{index}" {{\n  sensitive = true\n'
            f"  value = try({{ releases = module.v{index}[0].releases,"
            f" values = module.v{index}[0].values{secrets},"
            f" namespace = {expression('namespace')} }}, null)\n}}\n"
        )
    return "\n".join(blocks)


def _hcl(value: Any) -> str:
    """A value as an HCL expression: JSON is one (objects may use `:`), once `${`/`%{` are
    escaped.

    >>> _hcl({"a": ["${x}", 1, True, None]})
    '{"a": ["$${x}", 1, true, null]}'
    """
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def _rejected_variants(exc: TerraformError, pending: dict[int, Variant]
                       ) -> tuple[dict[int, InvalidTfvarsError], list[int]]:
    """The variants a Terraform error names, and (when it names none) the ones it may mean."""
    if not any(marker in exc.stderr for marker in _INPUT_ERRORS):
        return {}, []
    found: dict[int, InvalidTfvarsError] = {}
    suspects: list[int] = []
    for diagnostic in exc.stderr.split("Error: ")[1:]:
        named = _INSTANCE_IN_DIAG.search(diagnostic)
        variable = _VAR_IN_DIAG.search(diagnostic)
        error = InvalidTfvarsError(variable.group(1) if variable else "(a module input)",
                                   _prose(diagnostic))
        if named is not None:
            found.setdefault(int(named.group(1) or named.group(2)), error)
            continue
        # A failed precondition names its module's file and the variables it read: only a
        # variant of that module that changed one of them can fail it (the scenario passes).
        tools = set(_TOOL_IN_DIAG.findall(diagnostic))
        read = set(_VAR_IN_DIAG.findall(diagnostic))
        maybe = [i for i, v in pending.items() if v.tool in tools and read & set(v.overrides)]
        if len(maybe) == 1:
            found.setdefault(maybe[0], error)
        suspects += [i for i in maybe if i not in suspects]
    found = {i: e for i, e in found.items() if i in pending}
    return found, [i for i in suspects if i not in found]


def _prose(diagnostic: str) -> str:
    r"""What a diagnostic says, without its source excerpt, file positions and instance names.

    >>> _prose('Invalid value for variable\n\n  on render.tf line 2, in module "v1":\n'
    ...        '  2:   n = -1\n\nn must be 0 or more.\n\nThis was checked by the rule at\n'
    ...        'values/variables.tf:38,3-13.\n')
    'n must be 0 or more.'
    """
    paragraphs = [p.strip() for p in diagnostic.split("\n\n")[1:] if p.strip()]
    kept = [" ".join(line.strip() for line in p.splitlines()) for p in paragraphs
            if not p.startswith(("on ", "This was checked")) and "│" not in p]
    text = " ".join(kept) or diagnostic.strip().splitlines()[0]
    return re.sub(r"module\.v\d+\.| declared at \S+?:\S+?(?=:)", "", text)


def _variant_rendered(variant: Variant, output: Any, batch: _VariantBatch) -> Rendered:
    if variant.tool not in batch.sensitive:
        declared = read_variables(batch.root / "modules" / variant.tool / "values" / "variables.tf")
        batch.sensitive[variant.tool] = {n for n, v in declared.items() if v.sensitive}
    # A changed value of a sensitive variable made from a secret is as secret as the secret.
    changed = {text for name, value in variant.overrides.items()
               if name in batch.sensitive[variant.tool]
               and (text := value if isinstance(value, str) else json.dumps(value))
               and any(secret in text for secret in batch.hidden)}
    outputs = {variant.tool: output}
    return Rendered(_releases(outputs), batch.hidden | changed, _kube_secrets(outputs))
