"""Built-in Kubernetes APIs that were deprecated or removed, and what replaces them: data from
Kubernetes' "Deprecated API Migration Guide" (kubernetes.io/docs/reference/using-api/
deprecation-guide/), plus the v1 Endpoints deprecation of 1.33 (it stays served).

Public API:
    API_CHANGES: {(apiVersion, kind): ApiChange(deprecated, removed, replacement)}
    change_of(api_version, kind) -> ApiChange | None
"""

from __future__ import annotations

from typing import NamedTuple


class ApiChange(NamedTuple):
    """When an API version of a kind was deprecated and removed (None: still served)."""

    deprecated: str
    removed: str | None
    replacement: str


def _each(group_versions: tuple[str, ...], kinds: tuple[str, ...],
          change: ApiChange) -> dict[tuple[str, str], ApiChange]:
    return {(gv, kind): change for gv in group_versions for kind in kinds}


_RBAC = ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding")
_ACCESS_REVIEWS = ("LocalSubjectAccessReview", "SelfSubjectAccessReview", "SubjectAccessReview")
_FLOW_CONTROL = ("FlowSchema", "PriorityLevelConfiguration")
_FLOW_GROUP = "flowcontrol.apiserver.k8s.io"

API_CHANGES: dict[tuple[str, str], ApiChange] = {
    # Removed in 1.16.
    **_each(("extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"),
            ("Deployment", "ReplicaSet"), ApiChange("1.9", "1.16", "apps/v1")),
    **_each(("extensions/v1beta1", "apps/v1beta2"), ("DaemonSet",),
            ApiChange("1.9", "1.16", "apps/v1")),
    **_each(("apps/v1beta1", "apps/v1beta2"), ("StatefulSet",),
            ApiChange("1.9", "1.16", "apps/v1")),
    ("extensions/v1beta1", "NetworkPolicy"): ApiChange("1.9", "1.16", "networking.k8s.io/v1"),
    ("extensions/v1beta1", "PodSecurityPolicy"): ApiChange("1.11", "1.16", "policy/v1beta1"),
    # Removed in 1.22.
    **_each(("admissionregistration.k8s.io/v1beta1",),
            ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"),
            ApiChange("1.16", "1.22", "admissionregistration.k8s.io/v1")),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"):
        ApiChange("1.16", "1.22", "apiextensions.k8s.io/v1"),
    ("apiregistration.k8s.io/v1beta1", "APIService"):
        ApiChange("1.19", "1.22", "apiregistration.k8s.io/v1"),
    ("authentication.k8s.io/v1beta1", "TokenReview"):
        ApiChange("1.19", "1.22", "authentication.k8s.io/v1"),
    **_each(("authorization.k8s.io/v1beta1",), _ACCESS_REVIEWS,
            ApiChange("1.19", "1.22", "authorization.k8s.io/v1")),
    ("certificates.k8s.io/v1beta1", "CertificateSigningRequest"):
        ApiChange("1.19", "1.22", "certificates.k8s.io/v1"),
    ("coordination.k8s.io/v1beta1", "Lease"): ApiChange("1.19", "1.22", "coordination.k8s.io/v1"),
    ("extensions/v1beta1", "Ingress"): ApiChange("1.14", "1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "Ingress"): ApiChange("1.19", "1.22", "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "IngressClass"):
        ApiChange("1.19", "1.22", "networking.k8s.io/v1"),
    **_each(("rbac.authorization.k8s.io/v1beta1",), _RBAC,
            ApiChange("1.17", "1.22", "rbac.authorization.k8s.io/v1")),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"):
        ApiChange("1.14", "1.22", "scheduling.k8s.io/v1"),
    **_each(("storage.k8s.io/v1beta1",),
            ("CSIDriver", "CSINode", "StorageClass", "VolumeAttachment"),
            ApiChange("1.19", "1.22", "storage.k8s.io/v1")),
    # Removed in 1.25.
    ("batch/v1beta1", "CronJob"): ApiChange("1.21", "1.25", "batch/v1"),
    ("discovery.k8s.io/v1beta1", "EndpointSlice"):
        ApiChange("1.21", "1.25", "discovery.k8s.io/v1"),
    ("events.k8s.io/v1beta1", "Event"): ApiChange("1.19", "1.25", "events.k8s.io/v1"),
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): ApiChange("1.22", "1.25", "autoscaling/v2"),
    ("policy/v1beta1", "PodDisruptionBudget"): ApiChange("1.21", "1.25", "policy/v1"),
    ("policy/v1beta1", "PodSecurityPolicy"):
        ApiChange("1.21", "1.25", "Pod Security Admission (no API object replaces it)"),
    ("node.k8s.io/v1beta1", "RuntimeClass"): ApiChange("1.22", "1.25", "node.k8s.io/v1"),
    # Removed in 1.26.
    **_each((f"{_FLOW_GROUP}/v1beta1",), _FLOW_CONTROL,
            ApiChange("1.23", "1.26", f"{_FLOW_GROUP}/v1")),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): ApiChange("1.23", "1.26", "autoscaling/v2"),
    # Removed in 1.27.
    ("storage.k8s.io/v1beta1", "CSIStorageCapacity"):
        ApiChange("1.24", "1.27", "storage.k8s.io/v1"),
    # Removed in 1.29 and 1.32.
    **_each((f"{_FLOW_GROUP}/v1beta2",), _FLOW_CONTROL,
            ApiChange("1.26", "1.29", f"{_FLOW_GROUP}/v1")),
    **_each((f"{_FLOW_GROUP}/v1beta3",), _FLOW_CONTROL,
            ApiChange("1.29", "1.32", f"{_FLOW_GROUP}/v1")),
    # Deprecated, still served.
    ("v1", "Endpoints"): ApiChange("1.33", None, "discovery.k8s.io/v1 EndpointSlice"),
}


def change_of(api_version: str, kind: str) -> ApiChange | None:
    """The deprecation of `kind` in `api_version`, if Kubernetes deprecated it."""
    return API_CHANGES.get((api_version, kind))
