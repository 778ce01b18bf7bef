"""Static checks of a private-registry setup and of credentials in the rendered configuration.

Run in the static stage on every target, before anything is provisioned:

- `mlflow.registry-secret`: the module's dockerconfigjson Secret has the `auths` entry of
  `docker_registry_server` with the run's `docker_auth_key`, and MLflow's pods use it;
- `static.pull-secrets`: every image the values pull from that registry has a pull secret;
- `static.no-clear-credentials`: no secret of the run is readable in clear in any rendered
  value (only where the chart moves it into a Secret), and no module strips Terraform's
  sensitivity mark from an output.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from harness.report.model import CheckResult
from harness.static.credentials import clear_hits, credential_forms, laundering_outputs
from harness.static.images import image_uses, normalise_registry, registry_of
from harness.static.modules import terraform_root

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from harness.static.render import Rendered

DOCKERCONFIG = "kubernetes.io/dockerconfigjson"


def registry_checks(
    tfvars: Mapping[str, Any], rendered: Rendered, secrets: Mapping[str, str],
    terraform_dir: Path | None = None,
) -> list[CheckResult]:
    """The three checks above for one scenario's rendering, sorted by id.

    Args:
        tfvars: the scenario's root tfvars (`docker_private_repo`, `docker_registry_server`).
        rendered: what `render_scenario` returned for them.
        secrets: the run's secret values by variable name (generated or from `TF_VAR_*`).
        terraform_dir: the root module to scan for `nonsensitive()`; the repository's by default.

    """
    server = normalise_registry(str(tfvars.get("docker_registry_server") or ""))
    if not tfvars.get("docker_private_repo"):
        reason = "the scenario uses no private registry (docker_private_repo is false)"
        results = [_skip("mlflow.registry-secret", reason), _skip("static.pull-secrets", reason)]
    else:
        results = [registry_secret(rendered, server, secrets.get("docker_auth_key", "")),
                   pull_secrets(rendered, server)]
    results.append(no_clear_credentials(rendered, secrets, terraform_dir or terraform_root()))
    return sorted(results, key=lambda c: c.id)


def registry_secret(rendered: Rendered, server: str, auth_key: str) -> CheckResult:
    """`mlflow.registry-secret`: the pull Secret decodes to the server's `auths` entry."""
    problems: list[str] = []
    found = [s for s in rendered.kube_secrets if s.module == "mlflow" and s.type == DOCKERCONFIG]
    if len(found) != 1:
        problems.append(f"expected one {DOCKERCONFIG} Secret from the mlflow module, "
                        f"found {len(found)}")
    for secret in found:
        try:
            auths = json.loads(secret.data[".dockerconfigjson"])["auths"]
        except (KeyError, TypeError, json.JSONDecodeError):
            problems.append(f"Secret {secret.name!r}: no .dockerconfigjson with `auths`")
            continue
        entries = {normalise_registry(host): entry for host, entry in auths.items()}
        if server not in entries:
            problems.append(f"Secret {secret.name!r}: no auths entry for {server!r} "
                            f"(has {sorted(entries)})")
        elif entries[server].get("auth") != auth_key:
            problems.append(f"Secret {secret.name!r}: the auths entry for {server!r} does not "
                            "hold the run's docker_auth_key")
        mlflow = rendered.values.get("mlflow", {}).get("mlflow", {})
        if secret.name not in _names(mlflow.get("imagePullSecrets")):
            problems.append(f"MLflow's pods do not reference Secret {secret.name!r} "
                            "(values `imagePullSecrets`)")
    return _result("mlflow.registry-secret", "mlflow", problems,
                   f"{DOCKERCONFIG} Secret with the auths entry of {server}")


def pull_secrets(rendered: Rendered, server: str) -> CheckResult:
    """`static.pull-secrets`: each image from `server` has a pull secret on its pod."""
    problems: list[str] = []
    pulled: list[str] = []
    created = {s.name for s in rendered.kube_secrets if s.type == DOCKERCONFIG}
    for release in rendered.releases:
        for use in image_uses(release.values):
            if registry_of(use.image) != server:
                continue
            where = f"{release.module}/{release.name} {use.path} ({use.image})"
            pulled.append(f"{where} with {', '.join(use.pull_secrets) or 'nothing'}")
            if not use.pull_secrets:
                problems.append(f"{where}: pulls from {server} without an image pull secret")
            elif release.module == "mlflow" and not created & set(use.pull_secrets):
                problems.append(f"{where}: does not use the module's pull Secret "
                                f"{sorted(created)}")
    if not pulled:
        problems.append(f"no rendered image comes from {server}: the scenario tests nothing")
    return _result("static.pull-secrets", "static", problems,
                   f"{len(pulled)} image(s) from {server}: " + "; ".join(pulled))


def no_clear_credentials(
    rendered: Rendered, secrets: Mapping[str, str], terraform_dir: Path
) -> CheckResult:
    """`static.no-clear-credentials`: no secret outside the keys charts keep in a Secret."""
    forms = credential_forms({**{f"sensitive variable #{i}": s for i, s in enumerate(
        sorted(rendered.secret_strings))}, **secrets})
    problems = [f"{release.module}/{release.name} {hit}"
                for release in rendered.releases
                for hit in clear_hits(release.chart, release.values, forms)]
    problems += [f"{release.module}/{release.name} release metadata: {name}"
                 for release in rendered.releases
                 for value, name in forms.items()
                 if value in " ".join((release.name, release.chart, release.version,
                                       release.repository))]
    problems += [f"{path}: nonsensitive() strips the sensitive mark from a module output"
                 for path in laundering_outputs(terraform_dir)]
    return _result("static.no-clear-credentials", "static", problems,
                   f"{len(forms)} credential form(s) of {len(secrets)} secret(s) absent from "
                   f"{len(rendered.releases)} releases' values and the modules' outputs")


def _names(entries: Any) -> set[str]:
    return {e["name"] for e in entries or [] if isinstance(e, dict) and "name" in e}


def _skip(ident: str, reason: str) -> CheckResult:
    return CheckResult(id=ident, tool=ident.split(".", 1)[0], status="skip", message=reason)


def _result(ident: str, tool: str, problems: list[str], passed: str) -> CheckResult:
    if problems:
        return CheckResult(id=ident, tool=tool, status="fail", message="; ".join(problems))
    return CheckResult(id=ident, tool=tool, status="pass", message=passed)
