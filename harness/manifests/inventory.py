"""What the wiring checks look objects up in: where each rendered object lives (kind, namespace,
name), the pod templates of the workloads, and the module variables a value came from.

Public API:
    namespace_of(release, obj) -> str        "" for a cluster-scoped kind
    key_of(release, obj) -> (kind, namespace, name)
    owner_of(release) -> "module/release" or "(module)"
    located_ref(release, obj) -> "Kind namespace/name", the release's namespace filled in
    index(manifests) -> {(kind, namespace, name): [(release, obj), ...]}
    pod_templates(manifests) -> list[PodTemplate]
    PodTemplate.containers() -> iterator of (field path, container)
    variables_naming(tfvars, text) -> root variables whose value names `text`
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.manifests.model import DIRECT, ref

if TYPE_CHECKING:
    from collections.abc import Iterator

    from harness.manifests.model import Manifests, RenderedRelease

Key = tuple[str, str, str]

# Kinds that live outside namespaces: helm renders them without `metadata.namespace`, and the
# release's namespace must not be added to them.
CLUSTER_SCOPED = frozenset({
    "APIService", "CertificateSigningRequest", "ClusterRole", "ClusterRoleBinding",
    "CSIDriver", "CSINode", "CustomResourceDefinition", "FlowSchema", "IngressClass",
    "MutatingWebhookConfiguration", "Namespace", "Node", "PersistentVolume", "PriorityClass",
    "PriorityLevelConfiguration", "RuntimeClass", "StorageClass",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration", "VolumeAttachment",
})

# Where each workload kind keeps its pod template.
_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "Pod": (),
}


def namespace_of(release: RenderedRelease | None, obj: dict[str, Any]) -> str:
    """The namespace `obj` is created in: its own, else the release's; "" if cluster-scoped."""
    if obj.get("kind") in CLUSTER_SCOPED:
        return ""
    own = (obj.get("metadata") or {}).get("namespace")
    return str(own) if own else (release.namespace if release else "")


def key_of(release: RenderedRelease | None, obj: dict[str, Any]) -> Key:
    """`(kind, namespace, name)`: what the API server keeps unique."""
    name = str((obj.get("metadata") or {}).get("name", ""))
    return str(obj.get("kind", "")), namespace_of(release, obj), name


def owner_of(release: RenderedRelease | None) -> str:
    """`module/release`, or `(module)` for the objects the modules create directly."""
    return f"{release.module}/{release.name}" if release else DIRECT


def located_ref(release: RenderedRelease | None, obj: dict[str, Any]) -> str:
    """`Kind namespace/name` where the object is created (helm leaves most without one)."""
    meta = obj.get("metadata") or {}
    return ref({**obj, "metadata": {**meta, "namespace": namespace_of(release, obj)}})


def index(manifests: Manifests) -> dict[Key, list[tuple[RenderedRelease | None, dict[str, Any]]]]:
    """Every object by `(kind, namespace, name)`; a key with two entries is rendered twice."""
    found: dict[Key, list[tuple[RenderedRelease | None, dict[str, Any]]]] = {}
    for release, obj in manifests.objects():
        found.setdefault(key_of(release, obj), []).append((release, obj))
    return found


@dataclass(frozen=True)
class PodTemplate:
    """The pod a workload object runs, with where it sits in that object."""

    release: RenderedRelease | None
    obj: dict[str, Any] = field(repr=False)
    # Dotted path of the pod spec inside `obj`, e.g. `spec.template.spec`.
    path: str
    spec: dict[str, Any] = field(repr=False)
    labels: dict[str, str] = field(repr=False)

    @property
    def namespace(self) -> str:
        """The namespace its pods run in."""
        return namespace_of(self.release, self.obj)

    @property
    def ref(self) -> str:
        """`Kind namespace/name` of the workload, with its namespace filled in."""
        return located_ref(self.release, self.obj)

    def containers(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """`(field path, container)` for each container and init container."""
        for key in ("initContainers", "containers"):
            for position, container in enumerate(self.spec.get(key) or []):
                if isinstance(container, dict):
                    yield f"{self.path}.{key}[{position}]", container


def pod_templates(manifests: Manifests) -> list[PodTemplate]:
    """The pod template of every workload object (Deployment, StatefulSet, DaemonSet, Job,
    CronJob, Pod, ...) in the manifests.
    """
    found = []
    for release, obj in manifests.objects():
        steps = _TEMPLATE_PATHS.get(str(obj.get("kind")))
        if steps is None:
            continue
        template: Any = obj
        for step in steps:
            template = template.get(step) if isinstance(template, dict) else None
        if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
            continue
        labels = (template.get("metadata") or {}).get("labels") or {}
        path = ".".join([*steps, "spec"])
        found.append(PodTemplate(release, obj, path, template["spec"],
                                 {str(k): str(v) for k, v in labels.items()}))
    return found


def variables_naming(tfvars: dict[str, Any], text: str) -> list[str]:
    """The scenario's root variables whose value (or an item of it) is `text`, or a prefix
    of it at a `/` or `:` (an image repository names the image it starts).

    >>> variables_naming({"image_repository": "r:5/ml", "ns": "ml"}, "r:5/ml:3")
    ['image_repository']
    """
    found = []
    for name, value in sorted(tfvars.items()):
        if any(_names(leaf, text) for leaf in _leaves(value)):
            found.append(name)
    return found


def _names(leaf: str, text: str) -> bool:
    return bool(leaf) and (leaf == text or (text.startswith(leaf) and text[len(leaf)] in "/:@"))


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str):
        yield value
