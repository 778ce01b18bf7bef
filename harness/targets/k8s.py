"""The `kubernetes` target: the modules applied to a user's cluster (`k8s://CONTEXT?...`).

What exists: the URL and its options, reaching the context's API server (exit 3 within
seconds, naming the context, when it does not answer), and `prepare`'s judgement of the
cluster before anything is created: the server's version against every chart's
`kubeVersion`, a default StorageClass where the rendered charts claim volumes without a
class, the permissions to create namespaces and (for charts that ship CRDs) CRDs, and the
run's own namespaces. `up` applies the root module into those namespaces (`ClusterApply`),
waits for every workload the rendered charts create (`ReadinessGate`; on failure the
diagnostics bundle is written), forwards each tool's endpoint (`PortForwards`) and probes
the tool through it; `down` stops the forwards, destroys, and deletes whatever still carries
the run's label. `upgrade` applies another version set over the running installation (the
`upgrade` command's cluster path). Which checks run through the forwards, and which are
skipped with their reason, is `harness.k8s.cluster_endpoints`'s to say.

Options: `namespace_prefix` (default `mlops`), `kube_version` (the minor version the cluster
must run, e.g. `1.30`: a CI matrix states which cluster it meant to start), `ready_timeout_s`
(seconds the readiness gate waits, default 900), `restart_budget` (container restarts
tolerated while waiting, default 3).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.errors import BadInputError, ProvisionError
from harness.k8s.cluster_endpoints import (
    CREDENTIALS,
    forward_of,
    pending,
    reach_databases,
    tool_entry,
)
from harness.k8s.namespaces import run_labels, run_namespace
from harness.scenario import TOOLS
from harness.targets.base import NOT_SELECTED, Target

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.control import ControlServer
    from harness.k8s.apply import ClusterApply
    from harness.k8s.cluster import ClusterReader
    from harness.k8s.connection import Connection
    from harness.k8s.diagnostics import Bundle
    from harness.k8s.forwards import Forward, PortForwards
    from harness.k8s.readiness import Workload
    from harness.k8s.user_objects import PlannedSecret
    from harness.scenario import Scenario
    from harness.secrets import SecretStore
    from harness.stack import Stack, ToolEntry
    from harness.static.render import Release, Rendered
    from harness.targets.base import Progress

DEFAULT_PREFIX = "mlops"
# Image pulls on a fresh node take minutes; a pod that crashes more often than this is broken.
READY_TIMEOUT_S = 900.0
RESTART_BUDGET = 3
FORWARD_BACK_S = 60.0  # a restarted forward's kubectl connects within seconds
# During an upgrade every forward's pod is replaced, maybe more than once (a StatefulSet
# rolls pod by pod): the drops tolerated on top of the run's budget.
UPGRADE_FORWARD_DROPS = 30
NAMESPACES_ADDRESS = "kubernetes_namespace_v1.this"  # the root module's run namespaces
CONTROL_TOKEN = "k8s_control_token"  # noqa: S105 - the secret's name, not its value
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
        self.ready_timeout_s = _positive(url, options, "ready_timeout_s", READY_TIMEOUT_S)
        self.restart_budget = int(_positive(url, options, "restart_budget", RESTART_BUDGET))
        self.connection: Connection | None = None
        self.namespaces: dict[str, str] = {}
        self.skipped: dict[str, str] = {}
        self.secrets: SecretStore | None = None
        self.releases: list[Release] = []
        self.run_dir: Path | None = None
        self.cluster: ClusterApply | None = None
        self.forwards: PortForwards | None = None
        self._ready_s: dict[str, float] = {}
        # Seams for tests (no cluster here): the cluster's reader, the kubectl command line,
        # the root module.
        self.reader: ClusterReader | None = None
        self.forward_argv: Callable[[Forward, int], list[str]] | None = None
        self.terraform_dir: Path | None = None
        self.pod_deleter: Callable[[str, str], None] | None = None
        self.object_creator: Callable[[str, dict[str, Any]], None] | None = None
        self.user_secrets: list[PlannedSecret] = []
        self.workloads: list[Workload] = []
        self.control: ControlServer | None = None
        self._stack: Stack | None = None

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
        self.secrets = secrets
        for tool in TOOLS:
            if tools is not None and tool not in tools:
                self.skipped[tool] = unselected.format(tool=tool)
            elif not scenario.enabled(tool):
                self.skipped[tool] = f"{tool} is disabled in scenario {scenario.name!r}"
            else:
                self.namespaces[tool] = run_namespace(self.prefix, run_dir.name, tool)
        releases = self.releases = [r for r in (rendered.releases if rendered else ())
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
        from harness.k8s.user_objects import plan_secrets  # noqa: PLC0415

        # Read now, so a missing value stops the run before anything is created.
        self.user_secrets = plan_secrets(rendered.user_provided if rendered else (), scenario,
                                         secrets, self.namespaces, os.environ)

    def up(self, scenario: Scenario, run_dir: Path, progress: Progress) -> Stack:
        """Apply the modules into the run's namespaces, wait for every workload the rendered
        charts create, forward each tool's endpoint and check that the tool answers there.

        Raises:
            ProvisionError: apply failed, a workload cannot become ready (named with its
                cause; the diagnostics bundle is written), or an endpoint does not answer.
        """
        from harness.k8s.apply import ClusterApply  # noqa: PLC0415 - the cluster path only
        from harness.k8s.connection import kubeconfig_path  # noqa: PLC0415
        from harness.k8s.readiness import ReadinessGate  # noqa: PLC0415
        from harness.k8s.run_workloads import run_workloads  # noqa: PLC0415
        from harness.stack import HostAccess, Stack  # noqa: PLC0415

        assert self.connection is not None
        assert self.secrets is not None
        self.run_dir = run_dir
        reader = self._reader()
        if "jupyterhub" in self.namespaces:
            self._keep_dummy_password(scenario)
        self.cluster = ClusterApply(
            run_dir, context=self.connection.context, kubeconfig=kubeconfig_path(),
            namespaces=self.namespaces, tfvars=scenario.effective_tfvars(),
            secrets=self._variables_secrets(), terraform_dir=self.terraform_dir,
            labels=run_labels(run_dir.name))
        try:
            workloads = run_workloads(run_dir / "manifests", self.releases, self.namespaces)
        except FileNotFoundError as exc:
            raise ProvisionError(str(exc)) from exc
        self.cluster.init()
        if self.user_secrets:  # namespaces first, then what the releases expect to find there
            self.cluster.apply(progress.component, targets=(NAMESPACES_ADDRESS,))
            self._create_user_secrets(run_dir.name, progress)
        self.cluster.apply(progress.component)
        outputs = self.cluster.outputs()
        gate = ReadinessGate(reader, workloads, self.ready_timeout_s, self.restart_budget)
        started = time.monotonic()
        try:
            gate.wait()
        except ProvisionError as exc:
            bundle = self._write_bundle(run_dir)
            raise ProvisionError(f"{exc}; diagnostics in {run_dir / bundle.index}") from exc
        self._ready_s = {tool: round(time.monotonic() - started, 1) for tool in self.namespaces}
        stack = Stack(target=self.url, scenario=scenario.name, run_id=run_dir.name,
                      skip=dict(self.skipped), hosts=HostAccess(
                          backend="kubectl", context=self.connection.context,
                          kubeconfig=os.environ.get("KUBECONFIG") or None,
                          namespaces=dict(self.namespaces)))
        self._forward(outputs.get("endpoints") or {}, stack, scenario, run_dir, progress)
        stack.skip.update(pending(sorted(self.namespaces), scenario))
        stack.skip.update(reach_databases(stack, scenario, self.secrets))
        self.workloads = workloads
        self._serve_control(stack)
        return stack

    def upgrade(self, tfvars: dict[str, Any], rendered: Rendered, progress: Progress) -> None:
        """Apply the modules again over the running installation with `tfvars` (another
        version set: the same state, namespaces and secrets), as a user's `terraform apply`
        of a chart bump does; then wait for every workload the new charts create. The
        forwards that drop while pods are replaced start again on their ports.

        Raises:
            ProvisionError: the new charts cannot be rendered, the apply failed, or a workload
                cannot become ready at the new versions (named with its cause; the
                diagnostics bundle is written).
        """
        from harness.charts.source import chart_source  # noqa: PLC0415
        from harness.k8s.readiness import ReadinessGate  # noqa: PLC0415
        from harness.k8s.run_workloads import run_workloads  # noqa: PLC0415
        from harness.manifests.kube_api import full_version  # noqa: PLC0415
        from harness.manifests.render import render_manifests  # noqa: PLC0415

        assert self.cluster is not None
        assert self.connection is not None
        assert self.run_dir is not None
        releases = [r for r in rendered.releases if r.module in self.namespaces]
        upgraded = self.run_dir / "manifests-upgraded"
        render_manifests(rendered, source=chart_source(),
                         kube_version=full_version(self.connection.kube_version),
                         ).write(upgraded, rendered.secret_strings)
        try:
            workloads = run_workloads(upgraded, releases, self.namespaces)
        except FileNotFoundError as exc:
            raise ProvisionError(str(exc)) from exc
        # Pods are replaced: each forward drops and comes back, which is no failure here.
        budget = self.forwards.restart_budget if self.forwards is not None else 0
        if self.forwards is not None:
            self.forwards.restart_budget = budget + UPGRADE_FORWARD_DROPS
        try:
            self.cluster.retarget(tfvars)
            self.cluster.apply(progress.component)
            gate = ReadinessGate(self._reader(), workloads, self.ready_timeout_s,
                                 self.restart_budget)
            try:
                gate.wait()
            except ProvisionError as exc:
                bundle = self._write_bundle(self.run_dir)
                raise ProvisionError(f"{exc}; diagnostics in {self.run_dir / bundle.index}"
                                     ) from exc
        finally:
            if self.forwards is not None:
                self.forwards.restart_budget = budget
                self.forwards.restarts = dict.fromkeys(self.forwards.restarts, 0)
        self.releases, self.workloads = releases, workloads

    def _create_user_secrets(self, run_id: str, progress: Progress) -> None:
        """Create the Secrets the modules say the user provides, labelled with the run."""
        from kubernetes.client.exceptions import ApiException  # noqa: PLC0415

        assert self.connection is not None
        create = self.object_creator
        if create is None:
            from kubernetes import client  # noqa: PLC0415

            core = client.CoreV1Api(self.connection.api_client)

            def create(namespace: str, body: dict[str, Any]) -> None:
                core.create_namespaced_secret(namespace, body,  # type: ignore[arg-type]
                                              _request_timeout=30)

        for planned in self.user_secrets:
            try:
                create(planned.namespace, planned.body(run_labels(run_id)))
            except ApiException as exc:
                msg = (f"creating Secret {planned.namespace}/{planned.name} ({planned.module} "
                       f"expects it): HTTP {exc.status} {exc.reason}")
                raise ProvisionError(msg) from None
            progress.component(planned.module, "created",
                               f"Secret {planned.namespace}/{planned.name} (user-provided)")

    def _serve_control(self, stack: Stack) -> None:
        """Offer checks a restart of each forwarded tool (`endpoints.restart`): its pods are
        deleted and replaced, as on the local target its processes are restarted.
        """
        from harness.control import serve_restarts  # noqa: PLC0415

        assert self.secrets is not None
        self._stack = stack
        self.control = serve_restarts(stack, self.secrets, CONTROL_TOKEN, self._restart)

    def _restart(self, tool: str) -> dict[str, dict[str, list[str]]]:
        """Replace `tool`'s pods; answer once the tool answers through its forward again.

        Raises:
            KeyError: `tool` is not forwarded in this run.
            ProvisionError: the pods did not come back, or the tool does not answer.
        """
        from harness.errors import WaitTimeoutError  # noqa: PLC0415
        from harness.k8s.readiness import ReadinessGate  # noqa: PLC0415
        from harness.k8s.restart import restart_pods  # noqa: PLC0415
        from harness.probes import probe  # noqa: PLC0415
        from harness.wait import wait_until  # noqa: PLC0415

        assert self._stack is not None
        entry = self._stack.tools[tool]
        namespace = self.namespaces[tool]
        reader = self._reader()
        workloads = [w for w in self.workloads if w.namespace == namespace]
        replaced = restart_pods(
            reader, self._delete_pod, workloads,
            lambda chosen: ReadinessGate(reader, chosen, self.ready_timeout_s,
                                         self.restart_budget).wait(),
            self.ready_timeout_s)
        try:  # kubectl's forward ended with its pod; the manager starts it again
            wait_until(lambda: not (verdict := probe(tool, entry)).dead and not verdict.other,
                       timeout_s=FORWARD_BACK_S, what=f"{tool} through its port-forward "
                       "after the restart", interval_s=1)
        except WaitTimeoutError as exc:
            raise ProvisionError(str(exc)) from exc
        return replaced

    def _delete_pod(self, namespace: str, name: str) -> None:
        if self.pod_deleter is not None:
            self.pod_deleter(namespace, name)
            return
        from kubernetes import client  # noqa: PLC0415

        assert self.connection is not None
        client.CoreV1Api(self.connection.api_client).delete_namespaced_pod(
            name, namespace, _request_timeout=30)

    def _forward(self, endpoints: dict[str, Any], stack: Stack, scenario: Scenario,
                 run_dir: Path, progress: Progress) -> None:
        """A port-forward per client endpoint; each tool must answer as itself through it."""
        from harness.k8s.forwards import PortForwards, kubectl_argv  # noqa: PLC0415
        from harness.probes import probe  # noqa: PLC0415

        assert self.connection is not None
        argv = self.forward_argv
        if argv is None:
            from harness.k8s.connection import kubeconfig_path  # noqa: PLC0415
            from harness.k8s.kubectl import KubectlUnavailableError, kubectl_binary  # noqa: PLC0415

            try:
                kubectl = str(kubectl_binary())
            except KubectlUnavailableError as exc:
                raise ProvisionError(str(exc)) from exc
            argv = kubectl_argv(kubectl, self.connection.context, kubeconfig_path())
        redact = self.secrets.redactor if self.secrets is not None else str
        self.forwards = PortForwards(
            run_dir / "logs", argv, redact=redact,
            on_failure=lambda message: progress.component("stack", "died", message))
        for tool, endpoint in sorted(endpoints.items()):
            forward = forward_of(tool, endpoint)
            if forward is None:
                continue
            entry = tool_entry(tool, self.forwards.start(forward), scenario, self.releases,
                               namespace=forward.namespace)
            entry.credentials = {name: self.secrets.ref(secret)  # type: ignore[union-attr]
                                 for name, secret in CREDENTIALS.get(tool, {}).items()}
            if tool == "feast" and (reason := self._reach_feast(entry, endpoint["namespace"])):
                stack.skip[tool] = reason
                continue
            verdict = probe(tool, entry)
            if verdict.dead or verdict.other:
                raise ProvisionError(f"{verdict.dead or verdict.other} (through the "
                                     f"port-forward to {forward.target})")
            progress.component(tool, "ready", forward.target)
            stack.tools[tool] = entry
        self.forwards.watch()

    def _reach_feast(self, entry: ToolEntry, namespace: str) -> str | None:
        """See `harness.k8s.feast_client.give_checks`: the cluster's Feast stores, or why not."""
        from harness.k8s.feast_client import give_checks  # noqa: PLC0415

        assert self.forwards is not None
        assert self.secrets is not None
        server = next((r for r in self.releases if r.module == "feast"
                       and "feature_store_yaml_base64" in r.values), None)
        return give_checks(entry, server.values if server else {}, namespace, self.secrets,
                           self._reader(), self.forwards.start)

    def diagnostics_of(self, run_dir: Path, failing: frozenset[str],
                       always: bool) -> dict[str, str]:
        """The bundle of every run namespace (events, pods, logs, Helm releases), written to
        `diagnostics/` when a check failed or errored, or always if asked; per tool, where
        its namespace's part is.
        """
        if not (failing or always) or self.connection is None or not self.namespaces:
            return {}
        bundle = self._write_bundle(run_dir)
        return {tool: line for tool, namespace in self.namespaces.items()
                if (line := bundle.summary(namespace))}

    def _write_bundle(self, run_dir: Path) -> Bundle:
        """The diagnostics bundle of the run's namespaces, under `run_dir/diagnostics/`."""
        from harness.k8s.diagnostics import write_bundle  # noqa: PLC0415

        redact = self.secrets.redactor if self.secrets is not None else str
        return write_bundle(self._reader(), self.namespaces.values(), run_dir, redact=redact)

    def _reader(self) -> ClusterReader:
        """The cluster as the gate and the diagnostics read it (a test's recording, if set)."""
        from harness.k8s.cluster import ApiReader  # noqa: PLC0415

        assert self.connection is not None
        return self.reader or ApiReader(self.connection.api_client)

    def _keep_dummy_password(self, scenario: Scenario) -> None:
        """The hub's shared password, which the checks log in with: the run's when it has one
        (`TF_VAR_dummy_password`), else the scenario's (the module's default).
        """
        assert self.secrets is not None
        try:
            self.secrets.get("dummy_password")
        except KeyError:
            self.secrets.put("dummy_password", str(scenario.var("dummy_password")))

    def _variables_secrets(self) -> dict[str, str]:
        """The run's values of the root module's sensitive variables, for `TF_VAR_*`."""
        from harness.variables import root_variables  # noqa: PLC0415

        assert self.secrets is not None
        found = {}
        for name, variable in root_variables().items():
            if variable.sensitive:
                with contextlib.suppress(KeyError):
                    found[name] = self.secrets.get(name)
        return found

    def ready_times_s(self) -> dict[str, float]:
        """Per tool, seconds from the end of apply until all the run's workloads were ready."""
        return dict(self._ready_s)

    def _stop_control(self) -> None:
        if self.control is not None:
            self.control.stop()
            self.control = None

    def detach(self) -> None:
        """`--keep`: the installation stays; the forwards cannot outlive this process."""
        self._stop_control()
        if self.forwards is not None:
            self.forwards.stop_all()
            self.forwards = None
        self.cluster = None

    def keep_instructions(self, run_dir: Path) -> str:
        """How to look at a kept installation, and remove it."""
        namespaces = " ".join(sorted(self.namespaces.values()))
        context = f" --context {self.connection.context}" if self.connection else ""
        return (f"kubectl{context} get pods -n <one of: {namespaces}>; remove it with "
                f"`terraform -chdir={run_dir / 'terraform'} destroy` (its state and secrets "
                f"are in {run_dir / 'secrets'}), or `mlops-conformance sweep --older-than 0s`")

    def down(self, progress: Progress) -> list[str]:
        """Stop the forwards, destroy what apply created, then delete whatever still carries
        the run's label (a namespace the destroy left, e.g. after a failed apply).
        """
        problems: list[str] = []
        self._stop_control()
        if self.forwards is not None:
            problems += self.forwards.stop_all()
            self.forwards = None
        if self.cluster is not None:
            problems += self.cluster.destroy(progress.component)
            self.cluster = None
        if self.connection is not None and self.run_dir is not None:
            problems += self._delete_labelled(self.run_dir.name)
        if self.connection is not None:
            self.connection.api_client.close()  # type: ignore[no-untyped-call]
            self.connection = None
        return problems

    def _delete_labelled(self, run_id: str) -> list[str]:
        from harness.k8s.sweep import delete_run  # noqa: PLC0415

        assert self.connection is not None
        try:
            delete_run(self.connection, run_id)
        except ProvisionError as exc:  # teardown reports and goes on
            return [f"{exc}; `mlops-conformance sweep` removes the run's namespaces later"]
        return []


def _positive(url: str, options: dict[str, str], name: str, default: float) -> float:
    """A positive number option of the URL, e.g. `ready_timeout_s=600`."""
    text = options.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        msg = f"--target {url!r}: {name} {text!r} is not a positive number; e.g. {name}=600"
        raise BadInputError(msg)
    return value


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
