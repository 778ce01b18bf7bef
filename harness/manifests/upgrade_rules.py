"""What upgrading one rendered object to its next rendering does, judged without a cluster.

Verdicts, mildest first:
    ok       nothing changes;
    changed  updated in place (added and removed objects too, except the ones below);
    replace  deleted and created again by Helm itself (a hook), or by its owner;
    fail     the API server rejects the update, or data is lost.

Failures:
    - immutable fields: StatefulSet `spec.selector`, `spec.volumeClaimTemplates` (any change),
      `spec.serviceName`, `spec.podManagementPolicy`; Deployment, DaemonSet and ReplicaSet
      `spec.selector`; a Job's `spec.template` and `spec.selector` (a Helm hook Job is
      re-created instead: `replace`);
    - a Service's `spec.clusterIP` (headless or not, or another fixed address), or its type
      to or from `ExternalName` (a DNS alias and a proxied address are different objects);
    - a PersistentVolumeClaim whose storage request shrinks, or whose `storageClassName`,
      `accessModes` or `volumeMode` change;
    - a StatefulSet or PersistentVolumeClaim that the new rendering no longer has (Helm deletes
      it, and the data with it);
    - data that is not on a persistent volume, in a workload whose pod template changes: the
      next roll replaces the pods and the data with them. Data is read from the *old* object
      (where it lives now): a container of a database image (`DATABASE_IMAGES`) none of whose
      mounts at a data path (`DATA_PATHS`) is a PersistentVolumeClaim or a volume claim
      template, or any container with an `emptyDir` mounted at a data path;
    - a PostgreSQL image whose major version changes: the old data directory does not start
      under the new server (pg_upgrade or a dump and restore first).

Public API:
    judge(before, after, *, hook=...) -> ObjectPlan
    object_key(obj, namespace) -> (kind, namespace, name)
    images(obj) -> {container: image}; image_name(image) -> its last path segment, no tag
    migration_steps(obj) -> list of containers that migrate a database
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

RANK = {"ok": 0, "changed": 1, "replace": 2, "fail": 3}

# Image names (the last path segment, without tag) whose containers hold data.
DATABASE_IMAGES = frozenset({"postgres", "postgresql", "redis", "valkey", "mysql", "mariadb",
                             "mongodb", "mongo", "etcd", "minio", "clickhouse", "cassandra",
                             "elasticsearch", "opensearch"})
# Mount paths (and everything under them) where those images keep their data.
DATA_PATHS = ("/var/lib/postgresql", "/var/lib/pgsql", "/var/lib/mysql", "/var/lib/redis",
              "/var/lib/mongodb", "/var/lib/etcd", "/bitnami", "/data", "/pgdata")
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding",
                            "CustomResourceDefinition", "PersistentVolume", "StorageClass",
                            "PriorityClass", "ValidatingWebhookConfiguration",
                            "MutatingWebhookConfiguration", "APIService", "IngressClass",
                            "RuntimeClass", "CSIDriver"})
WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
                       "Pod"})
_SELECTOR_IMMUTABLE = frozenset({"Deployment", "DaemonSet", "ReplicaSet", "StatefulSet"})
_QUANTITY = re.compile(r"^([0-9.]+)([A-Za-z]*)$")
_UNITS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "m": 10**-3}
_MAX_PATHS = 4


@dataclass(frozen=True)
class ObjectPlan:
    """The verdict on one object, with why (failures first) and what changes."""

    kind: str
    namespace: str
    name: str
    verdict: str
    # Why it fails (empty unless `fail`), then what changes: both for the reader.
    failures: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """Failures first, then changes."""
        return (*self.failures, *self.changes)

    @property
    def ref(self) -> str:
        """`Kind namespace/name`, or `Kind name` cluster-wide."""
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


def object_key(obj: dict[str, Any], namespace: str) -> tuple[str, str, str]:
    """(kind, namespace, name); helm leaves the release namespace out of most objects."""
    kind = str(obj.get("kind", ""))
    meta = obj.get("metadata") or {}
    where = "" if kind in CLUSTER_SCOPED else str(meta.get("namespace") or namespace)
    return kind, where, str(meta.get("name", ""))


def is_hook(obj: dict[str, Any] | None) -> bool:
    """Helm creates hooks anew when they run (and deletes them per their delete policy)."""
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    return "helm.sh/hook" in annotations


def judge(key: tuple[str, str, str], before: dict[str, Any] | None,
          after: dict[str, Any] | None) -> ObjectPlan:
    """The verdict on upgrading `before` (None: a new object) to `after` (None: gone)."""
    if before is None or after is None:
        return _added_or_removed(key, before)
    kind, namespace, name = key
    paths = changed_paths(before, after)
    if not paths:
        return ObjectPlan(kind, namespace, name, "ok")
    info = [*_image_changes(before, after), _summary(paths)]
    if is_hook(before) or is_hook(after):
        return ObjectPlan(kind, namespace, name, "replace",
                          changes=("Helm hook: created anew when it runs, not updated", *info))
    failures = [*_immutable(kind, before, after), *_data_loss(kind, before, after),
                *_database_majors(before, after)]
    if failures:
        return ObjectPlan(kind, namespace, name, "fail", tuple(failures), tuple(info))
    return ObjectPlan(kind, namespace, name, "changed", changes=tuple(info))


def _added_or_removed(key: tuple[str, str, str], before: dict[str, Any] | None) -> ObjectPlan:
    kind, namespace, name = key
    if before is None:
        return ObjectPlan(kind, namespace, name, "changed", changes=("added",))
    if kind in {"StatefulSet", "PersistentVolumeClaim"} and not is_hook(before):
        what = ("its pods stop and their volume claims are left behind, orphaned"
                if kind == "StatefulSet" else "the volume's data goes with it")
        return ObjectPlan(kind, namespace, name, "fail", failures=(
            f"deleted by the upgrade: the new chart no longer renders it, so Helm deletes "
            f"it; {what}",))
    return ObjectPlan(kind, namespace, name, "changed", changes=("removed",))


def changed_paths(before: Any, after: Any, prefix: str = "") -> list[str]:
    """Paths where `after` differs from `before`; list items named `name` are matched by it."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in [*before, *(k for k in after if k not in before)]:
            if before.get(key) != after.get(key):
                found += changed_paths(before.get(key), after.get(key),
                                       f"{prefix}.{key}" if prefix else str(key))
        return found
    if isinstance(before, list) and isinstance(after, list):
        named_before, named_after = _by_name(before), _by_name(after)
        if named_before is not None and named_after is not None:
            return changed_paths(named_before, named_after, prefix)
        if len(before) == len(after):
            return [p for i, (b, a) in enumerate(zip(before, after, strict=True))
                    for p in changed_paths(b, a, f"{prefix}[{i}]")]
    return [] if before == after else [prefix or "(whole object)"]


def images(obj: dict[str, Any]) -> dict[str, str]:
    """`{container: image}` of the object's pod template (init containers too)."""
    spec = _pod_spec(obj)
    return {str(c.get("name", "?")): str(c.get("image", ""))
            for field in ("initContainers", "containers") for c in spec.get(field) or []}


def migration_steps(obj: dict[str, Any]) -> list[str]:
    """Containers of the object that migrate a database schema, e.g. `hub (--upgrade-db)`."""
    spec = _pod_spec(obj)
    found = []
    for field in ("initContainers", "containers"):
        for container in spec.get(field) or []:
            name = str(container.get("name", "?"))
            argv = " ".join(str(a) for a in [*(container.get("command") or []),
                                             *(container.get("args") or [])])
            if "--upgrade-db" in argv:
                found.append(f"{name} (--upgrade-db)")
            elif "migrat" in name.lower() or re.search(r"\bdb(?:base)? upgrade\b", argv):
                found.append(name)
    return found


def quantity(text: Any) -> float | None:
    """Bytes of a Kubernetes quantity (`10Gi`, `500M`), or None when it is not one."""
    found = _QUANTITY.match(str(text).strip())
    if not found or found.group(2) not in _UNITS:
        return None
    try:
        return float(found.group(1)) * _UNITS[found.group(2)]
    except ValueError:
        return None


def _by_name(items: list[Any]) -> dict[str, Any] | None:
    names = [i.get("name") if isinstance(i, dict) else None for i in items]
    if not items or None in names or len(set(names)) != len(names):
        return None
    return {str(n): i for n, i in zip(names, items, strict=True)}


def _summary(paths: list[str]) -> str:
    shown = ", ".join(paths[:_MAX_PATHS])
    more = f" and {len(paths) - _MAX_PATHS} more" if len(paths) > _MAX_PATHS else ""
    return f"changes {shown}{more}"


def _at(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    kind = obj.get("kind")
    if kind == "Pod":
        spec = obj.get("spec")
    elif kind == "CronJob":
        spec = _at(obj, "spec", "jobTemplate", "spec", "template", "spec")
    else:
        spec = _at(obj, "spec", "template", "spec")
    return spec if isinstance(spec, dict) else {}


def _image_changes(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    old, new = images(before), images(after)
    return [f"image of {name}: {old[name]} -> {image}"
            for name, image in new.items() if name in old and old[name] != image]


def _immutable(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    failures = []

    def field(*path: str, why: str, old: Any = None, new: Any = None, show: bool = True) -> None:
        old = _at(before, *path) if old is None else old
        new = _at(after, *path) if new is None else new
        if old != new:
            change = f": {_brief(old)} -> {_brief(new)}" if show else ""
            failures.append(f"{'.'.join(path)} changes{change}; {why}")

    immutable = "immutable: the API server rejects the upgrade (delete the object first)"
    if kind in _SELECTOR_IMMUTABLE:
        field("spec", "selector", why=immutable)
    if kind == "StatefulSet":
        field("spec", "volumeClaimTemplates", why=immutable, show=False,
              old=_claim_templates(before), new=_claim_templates(after))
        field("spec", "serviceName", why=immutable)
        field("spec", "podManagementPolicy", why=immutable,
              old=_at(before, "spec", "podManagementPolicy") or "OrderedReady",
              new=_at(after, "spec", "podManagementPolicy") or "OrderedReady")
    if kind == "Job":
        field("spec", "selector", why=immutable)
        field("spec", "template", why=f"{immutable}; only a Helm hook Job is re-created",
              show=False)
    if kind == "Service":
        failures += _service(before, after)
    if kind == "PersistentVolumeClaim":
        failures += _claim(before, after)
    return failures


def _brief(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, dict | list):
        text = re.sub(r"\s+", " ", str(value))
        return text if len(text) <= 120 else text[:117] + "..."
    return str(value)


def _claim_templates(obj: dict[str, Any]) -> list[Any]:
    # What the API server defaults on its own is no change: drop it before comparing.
    normalised = []
    for claim in _at(obj, "spec", "volumeClaimTemplates") or []:
        template = {k: v for k, v in claim.items() if k not in {"apiVersion", "kind", "status"}}
        spec = dict(template.get("spec") or {})
        if spec.get("volumeMode") == "Filesystem":
            spec.pop("volumeMode")
        normalised.append({**template, "spec": spec})
    return normalised


def _service(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    failures = []
    old_ip, new_ip = _at(before, "spec", "clusterIP"), _at(after, "spec", "clusterIP")
    if old_ip != new_ip:
        failures.append(f"spec.clusterIP changes: {_brief(old_ip)} -> {_brief(new_ip)}; "
                        "a Service's cluster IP (or being headless) cannot change in place "
                        "(delete the Service first)")
    old_type = _at(before, "spec", "type") or "ClusterIP"
    new_type = _at(after, "spec", "type") or "ClusterIP"
    if old_type != new_type and "ExternalName" in {old_type, new_type}:
        failures.append(f"spec.type changes: {old_type} -> {new_type}; a DNS alias and a "
                        "proxied Service are different objects: delete and create it")
    return failures


def _claim(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    failures = []
    old = _at(before, "spec", "resources", "requests", "storage")
    new = _at(after, "spec", "resources", "requests", "storage")
    old_bytes, new_bytes = quantity(old), quantity(new)
    if old_bytes is not None and new_bytes is not None and new_bytes < old_bytes:
        failures.append(f"spec.resources.requests.storage shrinks: {old} -> {new}; a volume "
                        "claim cannot shrink")
    for field in ("storageClassName", "accessModes", "volumeMode"):
        was, now = _at(before, "spec", field), _at(after, "spec", field)
        if was != now:
            failures.append(f"spec.{field} changes: {_brief(was)} -> {_brief(now)}; "
                            "immutable once the claim is bound (a new claim means new, "
                            "empty storage)")
    return failures


def _data_loss(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    if kind not in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}:
        return []
    if _at(before, "spec", "template") == _at(after, "spec", "template"):
        return []
    return [f"the pod template changes, so its pods are replaced, and {where}: that data is "
            "lost on the roll (enable persistence first)"
            for where in _volatile_data(before)]


def _volatile_data(obj: dict[str, Any]) -> list[str]:
    """Where the object's containers keep data that does not outlive their pod."""
    spec = _pod_spec(obj)
    volumes = {str(v.get("name")): v for v in spec.get("volumes") or []}
    claims = {str(t.get("metadata", {}).get("name"))
              for t in _at(obj, "spec", "volumeClaimTemplates") or []}
    persistent = claims | {n for n, v in volumes.items() if "persistentVolumeClaim" in v}
    found = []
    for container in spec.get("containers") or []:
        name = str(container.get("name", "?"))
        mounts = [m for m in container.get("volumeMounts") or []
                  if _is_data_path(str(m.get("mountPath", "")))]
        on_empty_dir = [m for m in mounts if "emptyDir" in volumes.get(str(m.get("name")), {})]
        if on_empty_dir:
            found += [f"container {name} keeps {m['mountPath']} on emptyDir volume "
                      f"{m.get('name')!r}" for m in on_empty_dir]
        elif _is_database(str(container.get("image", ""))) and not any(
                str(m.get("name")) in persistent for m in mounts):
            found.append(f"container {name} ({container.get('image')}) has no persistent "
                         "volume at its data path")
    return found


def _is_data_path(path: str) -> bool:
    path = path.rstrip("/")
    return any(path == p or path.startswith(p + "/") for p in DATA_PATHS)


def image_name(image: str) -> str:
    """`postgresql` of `docker.io/bitnami/postgresql:17.6.0@sha256:...`."""
    return image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]


def _is_database(image: str) -> bool:
    name = image_name(image)
    return name in DATABASE_IMAGES or any(name.startswith(f"{db}-") for db in DATABASE_IMAGES)


def _database_majors(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    old, new = images(before), images(after)
    failures = []
    for name, image in new.items():
        if name not in old or image_name(image) not in {"postgres", "postgresql"}:
            continue
        was, now = _major(old[name]), _major(image)
        if was is not None and now is not None and was != now:
            failures.append(f"container {name}: PostgreSQL {was} -> {now}; a data directory "
                            "of one major version does not start under another (pg_upgrade "
                            "or dump and restore first)")
    return failures


def _major(image: str) -> int | None:
    tag = image.split("@", 1)[0].rsplit("/", 1)[-1].partition(":")[2]
    found = re.match(r"(\d+)", tag)
    return int(found.group(1)) if found else None
