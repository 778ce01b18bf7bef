"""Render every release a scenario installs with its real chart, as `helm_release` sends it:
chart, version, release name, namespace and the values Terraform rendered; and the objects the
root module creates itself (one Namespace per distinct namespace, the modules' Secrets).

Public API:
    render_manifests(rendered, *, source, kube_version) -> Manifests
    api_versions(kube_version) -> tuple[str, ...]   what a cluster of that version serves
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from harness.charts.source import ChartSource, ChartUnavailableError
from harness.charts.template import TemplateRequest, template_all
from harness.manifests.kube_api import api_versions
from harness.manifests.model import Manifests, RenderedRelease

if TYPE_CHECKING:
    from harness.static.render import Release, Rendered

# The root module labels each namespace it creates (terraform/main.tf).
_NAMESPACE_LABELS = {"app.kubernetes.io/part-of": "mlops-reference-architecture"}


def render_manifests(rendered: Rendered, *, source: ChartSource, kube_version: str,
                     fresh: bool = False) -> Manifests:
    """Render each release of `rendered` for a cluster of `kube_version` (e.g. `1.28.0`).

    A release whose chart is not at hand is `skipped` with the reason and the fix; one helm
    refuses carries helm's error. Neither stops the others. `fresh` renders anew, bypassing
    the cache (see `TemplateRequest.fresh`).
    """
    located: list[tuple[Release, TemplateRequest | None, str]] = []
    apis = api_versions(kube_version)
    for release in rendered.releases:
        try:
            path = source.locate(release.chart, release.version, release.repository)
        except ChartUnavailableError as exc:
            located.append((release, None, str(exc)))
            continue
        request: TemplateRequest | None = TemplateRequest(
            release.name, release.namespace, path, release.values, kube_version, apis,
            sensitive=_holds_secret(release.values, rendered), fresh=fresh)
        located.append((release, request, ""))
    outputs = iter(template_all([r for _, r, _ in located if r is not None]))
    releases = []
    for release, request, missing in located:
        base = (release.module, release.name, release.namespace, release.chart, release.version)
        if request is None:
            releases.append(RenderedRelease(*base, error=missing, skipped=True))
            continue
        out = next(outputs)
        if isinstance(out, Exception):
            releases.append(RenderedRelease(*base, error=str(out)))
        else:
            releases.append(RenderedRelease(*base, objects=tuple(out)))
    return Manifests(tuple(releases), _direct_objects(rendered), kube_version, source.describe())


def _holds_secret(values: dict[str, Any], rendered: Rendered) -> bool:
    if rendered.placeholders:
        return False
    text = repr(values)
    return any(secret in text for secret in rendered.secret_strings)


def _direct_objects(rendered: Rendered) -> tuple[dict[str, Any], ...]:
    namespaces = sorted({r.namespace for r in rendered.releases if r.namespace})
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": ns, "labels": dict(_NAMESPACE_LABELS)}} for ns in namespaces]
    module_namespace = {r.module: r.namespace for r in rendered.releases}
    for secret in rendered.kube_secrets:
        # The kubernetes provider base64-encodes `data` on the way to the API server.
        data = {k: base64.b64encode(v.encode()).decode() for k, v in secret.data.items()}
        objects.append({"apiVersion": "v1", "kind": "Secret", "type": secret.type,
                        "metadata": {"name": secret.name,
                                     "namespace": module_namespace.get(secret.module, "")},
                        "data": data})
    return tuple(objects)
