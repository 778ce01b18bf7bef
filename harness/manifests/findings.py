"""Findings from the manifests: listed, never failed. Containers without resource requests;
containers that run as root, privileged, or may escalate privileges; host paths, host network
and host PID; Services exposed on a node port or load balancer with no authentication in
front; images from registries known to be retired.

Each finding reads `<module>/<release>: Kind ns/name container X: <what> (<field>)` (no
`container X` for what concerns the whole pod or object).

Public API:
    checks(ctx) -> one passing `<module>.manifests.findings` summary per module
    findings(ctx) -> list[str]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.manifests.model import ref
from harness.report.model import CheckResult

if TYPE_CHECKING:
    from collections.abc import Iterator

    from harness.manifests.context import ManifestContext
    from harness.manifests.model import RenderedRelease

# Where each workload kind keeps its pod spec.
_POD_SPEC = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_HOST_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
_EXPOSED = ("NodePort", "LoadBalancer")

# Services reached through a login of the tool itself: (module, Service name) -> who asks.
_AUTHENTICATED = {
    ("jupyterhub", "proxy-public"): "the hub's login (every route but /hub/login needs a user)",
}
# What stands in front of each tool's other Services: nothing, by default.
_NO_AUTHENTICATION = {
    "mlflow": "the MLflow tracking server's UI and API accept anyone (no auth app configured)",
    "prefect": "the Prefect server's UI and API accept anyone (no basic-auth string set)",
    "dask": "the Dask scheduler and dashboard accept anyone",
    "feast": "the Feast feature servers accept anyone",
    "seldon": "the Seldon Core operator's endpoints accept anyone",
    "jupyterhub": "only proxy-public goes through the hub's login",
}

# Registries (as `registry/path/` prefixes of a normalised image reference) known to be retired.
RETIRED_REGISTRIES = (
    # Kubernetes blog, 2023-03-10, "k8s.gcr.io Redirect to registry.k8s.io - What You Need to
    # Know" (https://kubernetes.io/blog/2023/03/10/image-registry-redirect/): redirected from
    # 2023-03-20, frozen from 2023-04-03, images and fixes only on registry.k8s.io.
    ("k8s.gcr.io/", "k8s.gcr.io is frozen since 2023-04-03; use registry.k8s.io"),
    ("gcr.io/google_containers/",
     "gcr.io/google_containers is retired (it became k8s.gcr.io, itself frozen); "
     "use registry.k8s.io"),
    # Bitnami, "Upcoming changes to the Bitnami catalog (effective August 28th, 2025)",
    # https://github.com/bitnami/containers/issues/83267: the free Debian-based images left
    # docker.io/bitnami for docker.io/bitnamilegacy, which receives no further updates.
    ("docker.io/bitnami/",
     "docker.io/bitnami no longer serves versioned images since 2025-08-28 (moved to "
     "docker.io/bitnamilegacy)"),
    ("docker.io/bitnamilegacy/",
     "docker.io/bitnamilegacy is frozen: no updates or security fixes since 2025-08-28"),
)


def checks(ctx: ManifestContext) -> list[CheckResult]:
    """One passing summary per module: how many findings its manifests have."""
    listed = findings(ctx)
    results = []
    for module in sorted({r.module for r in ctx.manifests.releases}):
        count = sum(line.startswith(f"{module}/") for line in listed)
        message = (f"{count} findings in the rendered manifests (listed in the report)"
                   if count else "no findings in the rendered manifests")
        results.append(CheckResult(id=f"{module}.manifests.findings", tool=module,
                                   status="pass", message=message))
    return results


def findings(ctx: ManifestContext) -> list[str]:
    """Every finding of every release, in release order."""
    found: list[str] = []
    for release in ctx.manifests.releases:
        for obj in release.objects:
            found += [f"{release.module}/{release.name}: {line}"
                      for line in _object_findings(release, obj)]
    return found


def _object_findings(release: RenderedRelease, obj: dict[str, Any]) -> Iterator[str]:
    where = ref(obj)
    if obj.get("kind") == "Service":
        yield from _service(release, obj, where)
    path = _POD_SPEC.get(str(obj.get("kind")))
    if path is None:
        return
    pod = _get(obj, path)
    if not isinstance(pod, dict):
        return
    prefix = ".".join(path)
    for flag in _HOST_NAMESPACES:
        if pod.get(flag) is True:
            yield f"{where}: shares the node's {flag[4:].lower()} namespace ({prefix}.{flag})"
    for index, volume in enumerate(pod.get("volumes") or []):
        if isinstance(volume, dict) and "hostPath" in volume:
            host = (volume.get("hostPath") or {}).get("path", "?")
            yield (f"{where}: mounts host path {host} as volume {volume.get('name')} "
                   f"({prefix}.volumes[{index}].hostPath)")
    pod_security = pod.get("securityContext") or {}
    for group in ("initContainers", "containers"):
        for index, container in enumerate(pod.get(group) or []):
            field = f"{prefix}.{group}[{index}]"
            head = f"{where} container {container.get('name', '?')}"
            for what in _container(container, pod_security, field):
                yield f"{head}: {what}"


def _container(container: dict[str, Any], pod_security: dict[str, Any],
               field: str) -> Iterator[str]:
    if not (container.get("resources") or {}).get("requests"):
        yield f"no resource requests ({field}.resources.requests)"
    security = container.get("securityContext") or {}
    user = security.get("runAsUser", pod_security.get("runAsUser"))
    non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
    if user == 0:
        yield f"runs as root ({field}.securityContext.runAsUser 0)"
    elif user is None and not non_root:
        yield (f"may run as root: neither runAsNonRoot nor runAsUser, in the pod or the "
               f"container ({field}.securityContext)")
    if security.get("privileged") is True:
        yield f"privileged ({field}.securityContext.privileged)"
    if security.get("allowPrivilegeEscalation") is True:
        yield f"allows privilege escalation ({field}.securityContext.allowPrivilegeEscalation)"
    image = str(container.get("image", ""))
    retired = _retired(image)
    if retired:
        yield f"image {image} from a retired registry: {retired} ({field}.image)"


def _service(release: RenderedRelease, obj: dict[str, Any], where: str) -> Iterator[str]:
    kind = (obj.get("spec") or {}).get("type", "ClusterIP")
    if kind not in _EXPOSED:
        return
    name = (obj.get("metadata") or {}).get("name", "")
    if (release.module, name) in _AUTHENTICATED:
        return
    who = _NO_AUTHENTICATION.get(release.module, "no authentication is known in front")
    yield f"{where}: type {kind} with no authentication in front: {who} (spec.type)"


def _retired(image: str) -> str:
    normalised = normalise_image(image)
    return next((why for prefix, why in RETIRED_REGISTRIES if normalised.startswith(prefix)), "")


def normalise_image(image: str) -> str:
    """The image with its registry spelt out, as a container runtime resolves it.

    >>> normalise_image("bitnami/redis:7")
    'docker.io/bitnami/redis:7'
    >>> normalise_image("postgres")
    'docker.io/library/postgres'
    >>> normalise_image("registry.k8s.io/pause:3.9")
    'registry.k8s.io/pause:3.9'
    """
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return image
    if not rest:
        return f"docker.io/library/{image}"
    return f"docker.io/{image}"


def _get(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
