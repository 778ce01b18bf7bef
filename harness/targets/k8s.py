"""The `kubernetes` target: the modules applied to a user's cluster (`k8s://CONTEXT?...`).

What exists: the URL and its options, reaching the context's API server (exit 3 within
seconds, naming the context, when it does not answer), and `prepare`'s judgement of the
cluster before anything is created: the server's version against every chart's
`kubeVersion`, a default StorageClass where the rendered charts claim volumes without a
class, the permissions to create namespaces and (for charts that ship CRDs) CRDs, and the
run's own namespaces. What does not exist yet: `up` (terraform apply, the readiness gate,
port-forwards), so a run on a reachable cluster stops at provision with exit 3 saying so.

Options: `namespace_prefix` (default `mlops`), `kube_version` (the minor version the cluster
must run, e.g. `1.30`: a CI matrix states which cluster it meant to start).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.errors import BadInputError, ProvisionError
from harness.k8s.namespaces import run_namespace
from harness.scenario import TOOLS
from harness.targets.base import NOT_SELECTED, Target

if TYPE_CHECKING:
    from harness.k8s.connection import Connection
    from harness.scenario import Scenario
    from harness.secrets import SecretStore
    from harness.stack import Stack
    from harness.static.render import Rendered
    from harness.targets.base import Progress

DEFAULT_PREFIX = "mlops"
_MINOR = re.compile(r"^v?(1\.\d+)(\.\d+)?$")
# Chart releases whose objects live outside the run's namespaces need these cluster-wide.
CRD = ("create", "customresourcedefinitions", "apiextensions.k8s.io")
NAMESPACES = ("create", "namespaces", "")


class KubernetesTarget(Target):
    """The root module applied to the cluster of a kubeconfig context."""

    NAME = "k8s"  # the URL scheme, as every target's NAME is

    def __init__(self, url: str, options: dict[str, str]) -> None:
        super().__init__(url, options)
        self.context = options.get("context") or None
        self.prefix = options.get("namespace_prefix", DEFAULT_PREFIX)
        run_namespace(self.prefix, "run", "tool")  # a bad prefix is bad input, said now
        wanted = options.get("kube_version")
        match = _MINOR.match(wanted) if wanted else None
        if wanted and match is None:
            msg = (f"--target {url!r}: kube_version {wanted!r} is not a Kubernetes version; "
                   "give major.minor, e.g. kube_version=1.30")
            raise BadInputError(msg)
        self.kube_version = match.group(1) if match else None
        self.connection: Connection | None = None
        self.namespaces: dict[str, str] = {}
        self.skipped: dict[str, str] = {}

    def connect(self) -> None:
        """Reach the context's API server once; see `harness.k8s.connection.connect`."""
        if self.connection is not None:
            return
        from harness.k8s.connection import connect  # noqa: PLC0415 - imports the client

        connection = connect(self.context)
        if self.kube_version and connection.kube_version != self.kube_version:
            connection.api_client.close()  # type: ignore[no-untyped-call]
            msg = (f"cluster context {connection.context!r} runs Kubernetes "
                   f"{connection.git_version}, not {self.kube_version} as --target asks; start "
                   f"the intended cluster or change kube_version")
            raise ProvisionError(msg)
        self.connection = connection

    def prepare(self, scenario: Scenario, run_dir: Path, secrets: SecretStore,
                tools: frozenset[str] | None = None, unselected: str = NOT_SELECTED,
                rendered: Rendered | None = None) -> None:
        """Judge the cluster for this scenario; create nothing.

        Raises:
            ProvisionError: the cluster cannot take the scenario (version, storage,
                permissions); the message names what and the fix.
        """
        self.connect()
        assert self.connection is not None
        for tool in TOOLS:
            if tools is not None and tool not in tools:
                self.skipped[tool] = unselected.format(tool=tool)
            elif not scenario.enabled(tool):
                self.skipped[tool] = f"{tool} is disabled in scenario {scenario.name!r}"
            else:
                self.namespaces[tool] = run_namespace(self.prefix, run_dir.name, tool)
        releases = [r for r in (rendered.releases if rendered else ())
                    if r.module in self.namespaces]
        objects = rendered_objects(run_dir / "manifests")  # read once: both judgements use them
        problems = [*_version_problems(releases, self.connection.kube_version),
                    *_permission_problems(self.connection, objects)]
        claims = volume_claims_without_class(objects, releases)
        if claims and self.connection.default_storage_class() is None:
            problems.append(
                f"no default StorageClass, but {', '.join(claims[:4])} claim volumes without "
                "naming a class; mark one default (minikube: `minikube addons enable "
                "default-storageclass`) or turn persistence off in the scenario")
        if problems:
            raise ProvisionError(f"cluster context {self.connection.context!r}: "
                                 + "; ".join(problems))

    def up(self, scenario: Scenario, run_dir: Path, progress: Progress) -> Stack:
        """Not built yet: say so, having created nothing."""
        msg = ("the kubernetes target cannot provision yet (terraform apply, the readiness "
               "gate and port-forwards are still to be built); the cluster passed prepare's "
               "checks and nothing was created")
        raise ProvisionError(msg)

    def down(self, progress: Progress) -> list[str]:
        """Nothing was created; close the connection."""
        if self.connection is not None:
            self.connection.api_client.close()  # type: ignore[no-untyped-call]
            self.connection = None
        return []


def _version_problems(releases: list[Any], kube_version: str) -> list[str]:
    """Charts whose `kubeVersion` excludes the server's version."""
    from harness.charts.kube_constraint import InvalidConstraintError, KubeConstraint  # noqa: PLC0415
    from harness.static.chart_source import chart_data  # noqa: PLC0415

    problems = []
    for release in releases:
        try:
            meta = chart_data(release.chart, release.version, release.repository).meta
        except FileNotFoundError:
            continue  # neither the chart nor its contract: the static stage said so already
        text = str(meta.get("kubeVersion") or "")
        try:
            if text and not KubeConstraint(text).allows(kube_version):
                problems.append(f"{release.chart} {release.version} ({release.module}) "
                                f"requires kubeVersion {text!r}, the cluster runs {kube_version}")
        except InvalidConstraintError as exc:
            problems.append(f"{release.chart} {release.version}: {exc}")
    return problems


def _permission_problems(connection: Connection, objects: list[dict[str, Any]]) -> list[str]:
    """Cluster-wide permissions the apply needs that the context's user lacks."""
    needed = [NAMESPACES]
    if any(obj.get("kind") == "CustomResourceDefinition" for obj in objects):
        needed.append(CRD)
    return [f"its user may not {verb} {resource}" + (f".{group}" if group else "")
            + " (the modules need it; use a cluster-admin context)"
            for verb, resource, group in needed if not connection.can(verb, resource, group)]


def volume_claims_without_class(objects: list[dict[str, Any]], releases: list[Any]) -> list[str]:
    """What will claim a volume from the default StorageClass: rendered PVCs and StatefulSet
    volume claim templates without `storageClassName`, and JupyterHub's per-user volumes
    (created at spawn, so not rendered) when the hub's values ask for dynamic storage without
    a class.
    """
    found = []
    for obj in objects:
        name = f"{obj.get('kind')} {obj.get('metadata', {}).get('name')}"
        if obj.get("kind") == "PersistentVolumeClaim":
            if not obj.get("spec", {}).get("storageClassName"):
                found.append(name)
        elif obj.get("kind") == "StatefulSet":
            found += [f"{name} ({t.get('metadata', {}).get('name')})"
                      for t in obj.get("spec", {}).get("volumeClaimTemplates") or []
                      if not t.get("spec", {}).get("storageClassName")]
    for release in releases:
        storage = (release.values.get("singleuser") or {}).get("storage") or {}
        if release.chart == "jupyterhub" and storage.get("type", "dynamic") == "dynamic" \
                and not (storage.get("dynamic") or {}).get("storageClass"):
            found.append("JupyterHub's user volumes")
    return found


def rendered_objects(manifests: Path) -> list[dict[str, Any]]:
    """Every object the static stage rendered into `manifests/` (none when not rendered)."""
    objects = []
    for path in sorted(manifests.glob("*/*.yaml")) if manifests.is_dir() else []:
        objects += [obj for obj in yaml.safe_load_all(path.read_text(encoding="utf-8"))
                    if isinstance(obj, dict)]
    return objects
