"""`<module>.wiring.images.<release>`: every image of the release's pod templates is pinned,
allowed, and pulled with the right secret.

Each container and init container pulls an image

- with an explicit tag or digest (none, or `:latest`, fails: what runs would change under the
  same manifests);
- from an allowed registry: the registries the chart package itself names (its default values
  and its subcharts', and images written literally in its templates; see
  `chart_registries.py`), plus the scenario's private registry (`docker_registry_server`
  when `docker_private_repo` is true). Any other registry is one the scenario did not allow;
- and, for an image from the scenario's private registry, with a pull secret for that registry
  on the pod (its `imagePullSecrets` or its ServiceAccount's): a rendered
  `kubernetes.io/dockerconfigjson` Secret of the pod's namespace whose `auths` has that
  registry, or a Secret the module declares user-provided (its content is the user's).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from harness.charts.source import ChartUnavailableError
from harness.manifests.chart_registries import chart_registries
from harness.manifests.inventory import index, pod_templates, variables_naming
from harness.report.model import CheckResult
from harness.static.images import normalise_registry, registry_of
from harness.static.registry import DOCKERCONFIG

if TYPE_CHECKING:
    from harness.manifests.context import ManifestContext
    from harness.manifests.inventory import Key, PodTemplate
    from harness.manifests.model import RenderedRelease


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One result per rendered release."""
    private = private_registry(ctx.tfvars)
    objects = index(ctx.manifests)
    declared = {(u.namespace, u.name) for u in ctx.rendered.user_provided if u.kind == "Secret"}
    templates = pod_templates(ctx.manifests)
    results = []
    for release in ctx.manifests.releases:
        ident = f"{release.module}.wiring.images.{release.name}"
        if release.error or release.skipped:
            results.append(CheckResult(id=ident, tool=release.module, status="skip",
                                       message=f"not judged: {release.label} not rendered"))
            continue
        allowed = _allowed(ctx, release) | ({private} if private else set())
        problems: list[str] = []
        images: set[str] = set()
        for template in (t for t in templates if t.release is release):
            for path, container in template.containers():
                image = str(container.get("image") or "")
                images.add(image)
                problems += _image_problems(ctx, template, f"{path}.image", image, allowed)
                if private and image and registry_of(image) == private:
                    problems += _pull_secret_problems(template, image, private, objects,
                                                      declared)
        privately = sum(1 for i in images if private and i and registry_of(i) == private)
        if problems:
            results.append(CheckResult(id=ident, tool=release.module, status="fail",
                                       message=f"{release.label}: " + "; ".join(
                                           dict.fromkeys(problems))))
        elif not images:
            results.append(CheckResult(id=ident, tool=release.module, status="pass",
                                       message=f"{release.label}: renders no pod template"))
        else:
            results.append(CheckResult(
                id=ident, tool=release.module, status="pass",
                message=f"{release.label}: {len(images)} image(s), each tagged, from "
                        f"{', '.join(sorted({registry_of(i) for i in images if i}))} (allowed: "
                        f"{', '.join(sorted(allowed))})"
                        + (f"; {privately} from {private} with its pull secret"
                           if privately else "")))
    return results


def private_registry(tfvars: dict[str, Any]) -> str:
    """The scenario's private registry host, or "" when `docker_private_repo` is off."""
    if not tfvars.get("docker_private_repo"):
        return ""
    return normalise_registry(str(tfvars.get("docker_registry_server") or ""))


def tag_problem(image: str) -> str:
    """Why `image` does not pin what runs, or "" when it has a tag or digest.

    >>> tag_problem("quay.io/a/b"), tag_problem("b:latest"), tag_problem("h:5/b@sha256:0")
    ('no tag or digest', 'the tag `latest`', '')
    """
    if not image:
        return "no image"
    if "@" in image:
        return ""
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return "no tag or digest"
    return "the tag `latest`" if name.rsplit(":", 1)[1] == "latest" else ""


def _allowed(ctx: ManifestContext, release: RenderedRelease) -> set[str]:
    meta = next((r for r in ctx.rendered.releases
                 if (r.module, r.name) == (release.module, release.name)), None)
    try:
        package = ctx.source.locate(release.chart, release.version,
                                    meta.repository if meta else "")
    except ChartUnavailableError:
        return set()
    return set(chart_registries(package))


def _image_problems(ctx: ManifestContext, template: PodTemplate, path: str, image: str,
                    allowed: set[str]) -> list[str]:
    problems = []
    responsible = variables_naming(ctx.tfvars, image)
    by = f" (set by {', '.join(f'`{v}`' for v in responsible)})" if responsible else ""
    problem = tag_problem(image)
    if problem:
        problems.append(f"{template.ref} {path}: {image!r} has {problem}{by}")
    if image and registry_of(image) not in allowed:
        problems.append(f"{template.ref} {path}: {image!r} comes from {registry_of(image)}, "
                        f"not an allowed registry ({', '.join(sorted(allowed))}){by}")
    return problems


def _pull_secret_problems(template: PodTemplate, image: str, registry: str,
                          objects: dict[Key, list[Any]],
                          declared: set[tuple[str, str]]) -> list[str]:
    namespace = template.namespace
    names = _pull_secret_names(template, objects)
    for name in names:
        if (namespace, name) in declared:
            return []
        found = objects.get(("Secret", namespace, name))
        if found and registry in _auths(found[0][1]):
            return []
    field = f"{template.ref} {template.path}.imagePullSecrets"
    if not names:
        return [f"{field}: none, but {image!r} comes from the private registry {registry}"]
    return [f"{field}: none of {names} is a rendered {DOCKERCONFIG} Secret with an auths entry "
            f"for {registry}, or declared user-provided ({image!r})"]


def _pull_secret_names(template: PodTemplate, objects: dict[Key, list[Any]]) -> list[str]:
    entries = list(template.spec.get("imagePullSecrets") or [])
    # Kubernetes adds the ServiceAccount's pull secrets to each of its pods.
    account = template.spec.get("serviceAccountName") or template.spec.get("serviceAccount")
    for _, obj in objects.get(("ServiceAccount", template.namespace, str(account)), [])[:1]:
        entries += obj.get("imagePullSecrets") or []
    return list(dict.fromkeys(str(e["name"]) for e in entries
                              if isinstance(e, dict) and e.get("name")))


def _auths(secret: dict[str, Any]) -> set[str]:
    if secret.get("type") != DOCKERCONFIG:
        return set()
    encoded = (secret.get("data") or {}).get(".dockerconfigjson")
    plain = (secret.get("stringData") or {}).get(".dockerconfigjson")
    try:
        text = plain if plain is not None else base64.b64decode(str(encoded)).decode()
        auths = json.loads(text).get("auths") or {}
    except (binascii.Error, UnicodeDecodeError, ValueError, AttributeError):
        return set()
    return {normalise_registry(host) for host in auths}
