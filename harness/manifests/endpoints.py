"""`<tool>.wiring.endpoint`: the root module's `endpoints` entry of each enabled tool names a
Service the manifests render in that namespace, with that port, selecting pods some workload
runs; and each of its `secret_names` is a rendered Secret or one the module declares
user-provided.

A failure names the entry's field and the module variables that field is computed from (read
from the `endpoint` output of `terraform/modules/<tool>/values/outputs.tf`), or says the value
is fixed there.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any

from harness.manifests.inventory import index, pod_templates
from harness.report.model import CheckResult
from harness.static.modules import root_variable_name, terraform_root

if TYPE_CHECKING:
    from harness.manifests.context import ManifestContext
    from harness.manifests.inventory import Key, PodTemplate

_ENDPOINT_BLOCK = re.compile(r'^output "endpoint" \{\n(.*?)^\}', re.MULTILINE | re.DOTALL)
_FIELD = re.compile(r"^\s*(\w+)\s*=\s*(.+)$", re.MULTILINE)
_VAR = re.compile(r"\bvar\.(\w+)")


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One result per entry of the scenario's `endpoints`."""
    objects = index(ctx.manifests)
    templates = pod_templates(ctx.manifests)
    results = []
    for tool, endpoint in sorted(ctx.endpoints.items()):
        ident = f"{tool}.wiring.endpoint"
        unrendered = [r.label for r in ctx.manifests.releases
                      if r.module == tool and (r.error or r.skipped)]
        if unrendered:
            results.append(CheckResult(
                id=ident, tool=tool, status="skip",
                message=f"not judged: {', '.join(unrendered)} not rendered (see "
                        f"{tool}.manifests.render.*)"))
            continue
        problems = _problems(ctx, tool, endpoint, objects, templates)
        where = f"Service {endpoint.get('namespace')}/{endpoint.get('service')}"
        if problems:
            results.append(CheckResult(id=ident, tool=tool, status="fail",
                                       message=f"endpoints.{tool}: " + "; ".join(problems)))
        else:
            results.append(CheckResult(
                id=ident, tool=tool, status="pass",
                message=f"endpoints.{tool}: {where} port {endpoint.get('port')} selects a "
                        f"rendered pod; secrets {endpoint.get('secret_names') or 'none'} exist"))
    return results


def _problems(ctx: ManifestContext, tool: str, endpoint: dict[str, Any],
              objects: dict[Key, list[Any]], templates: list[PodTemplate]) -> list[str]:
    namespace, name, port = endpoint.get("namespace"), endpoint.get("service"), endpoint.get("port")
    where = f"Service {namespace}/{name}"
    problems = []
    found = objects.get(("Service", str(namespace), str(name)))
    if not found:
        there = sorted(n for k, ns, n in objects if k == "Service" and ns == namespace)
        problems.append(
            f"service {name!r}, namespace {namespace!r}: no release renders {where} (Services in "
            f"{namespace}: {', '.join(there) or 'none'}); {_source(tool, 'service')}, "
            f"{_source(tool, 'namespace')}")
    else:
        service = found[0][1]
        spec = service.get("spec") or {}
        ports = [p.get("port") for p in spec.get("ports") or [] if isinstance(p, dict)]
        if port not in ports:
            problems.append(f"port {port}: {where} spec.ports has {ports or 'none'}; "
                            f"{_source(tool, 'port')}")
        selector = spec.get("selector") or {}
        if not selector:
            problems.append(f"{where} spec.selector is empty: it selects no pod")
        elif not any(t.namespace == namespace and selector.items() <= t.labels.items()
                     for t in templates):
            problems.append(f"{where} spec.selector {selector} matches the labels of no "
                            f"rendered pod template in {namespace}")
    declared = {(u.namespace, u.name) for u in ctx.rendered.user_provided if u.kind == "Secret"}
    for position, secret in enumerate(endpoint.get("secret_names") or []):
        if ("Secret", namespace, secret) not in objects and (namespace, secret) not in declared:
            problems.append(
                f"secret_names[{position}] {secret!r}: no Secret {namespace}/{secret} is rendered "
                f"or declared user-provided; {_source(tool, 'secret_names')}")
    return problems


def _source(tool: str, key: str) -> str:
    variables = field_variables(tool).get(key)
    if not variables:
        return f"{key} is fixed in terraform/modules/{tool}/values/outputs.tf"
    return f"{key} from {', '.join(f'`{v}`' for v in variables)}"


@cache
def field_variables(tool: str) -> dict[str, tuple[str, ...]]:
    """The root variables each field of a tool's `endpoint` output is computed from.

    >>> field_variables("mlflow")["namespace"]
    ('mlflow_namespace',)
    """
    text = (terraform_root() / "modules" / tool / "values" / "outputs.tf").read_text()
    block = _ENDPOINT_BLOCK.search(text)
    if not block:
        return {}
    # `terraform fmt` keeps one field per line; `create` only switches the whole entry off.
    return {key: tuple(dict.fromkeys(root_variable_name(tool, v) for v in _VAR.findall(expr)))
            for key, expr in _FIELD.findall(block.group(1)) if key not in ("description", "value")}
