"""The diagnostics bundle, from recorded objects: its layout, what it holds, its size bounds."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from kubernetes import client

from harness.k8s.cluster import RecordedCluster
from harness.k8s.diagnostics import MAX_TOTAL_BYTES, mask_values, write_bundle
from harness.secrets import Redactor

if TYPE_CHECKING:
    from pathlib import Path

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
IMAGE = "ghcr.io/example/app:1.2.3"


# --- recorded objects, built with the client's own models ----------------------------------


def running() -> client.V1ContainerState:
    return client.V1ContainerState(running=client.V1ContainerStateRunning(started_at=T0))


def crash_loop() -> client.V1ContainerState:
    return client.V1ContainerState(waiting=client.V1ContainerStateWaiting(
        reason="CrashLoopBackOff", message="back-off 5m0s restarting failed container"))


def crashed(exit_code: int = 1) -> client.V1ContainerState:
    return client.V1ContainerState(terminated=client.V1ContainerStateTerminated(
        exit_code=exit_code, reason="Error", started_at=T0, finished_at=T0 + timedelta(seconds=3)))


def image_pull() -> client.V1ContainerState:
    return client.V1ContainerState(waiting=client.V1ContainerStateWaiting(
        reason="ImagePullBackOff", message='Back-off pulling image "nope:1"'))


def container(name: str, *, restarts: int = 0, ready: bool = True,
              state: client.V1ContainerState | None = None,
              last: client.V1ContainerState | None = None) -> client.V1ContainerStatus:
    return client.V1ContainerStatus(
        name=name, image=IMAGE, image_id=f"{IMAGE}@sha256:{'0' * 64}", ready=ready,
        restart_count=restarts, started=ready, state=state or running(), last_state=last)


def pod(name: str, namespace: str, statuses: list[client.V1ContainerStatus], *,
        phase: str = "Running", ready: bool = True) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, namespace=namespace, creation_timestamp=T0),
        spec=client.V1PodSpec(node_name="node-1", containers=[
            client.V1Container(name=s.name, image=IMAGE,
                               env=[client.V1EnvVar(name="SPEC_ONLY", value="not-in-bundle")])
            for s in statuses]),
        status=client.V1PodStatus(
            phase=phase, start_time=T0,
            conditions=[client.V1PodCondition(
                type="Ready", status="True" if ready else "False",
                reason=None if ready else "ContainersNotReady",
                message=None if ready else "containers with unready status: [app]",
                last_transition_time=T0)],
            container_statuses=statuses))


def event(namespace: str, obj: str, reason: str, message: str, *, kind: str = "Pod",
          type_: str = "Warning", count: int = 1, minute: int = 0) -> client.CoreV1Event:
    return client.CoreV1Event(
        metadata=client.V1ObjectMeta(name=f"{obj}.{minute}", namespace=namespace),
        involved_object=client.V1ObjectReference(kind=kind, name=obj, namespace=namespace),
        reason=reason, message=message, type=type_, count=count,
        last_timestamp=T0 + timedelta(minutes=minute))


def helm_secret(name: str, namespace: str, version: int, status: str,
                config: dict[str, Any], *, notes: str = "Visit the UI.\n",
                gzipped: bool = True) -> client.V1Secret:
    """A Helm storage Secret as the API returns it: `data.release` is base64 of Helm's text,
    which is base64 of gzip of the release's JSON.
    """
    record = {
        "name": name, "namespace": namespace, "version": version,
        "info": {"first_deployed": "2026-05-01T11:00:00Z", "last_deployed": "2026-05-01T12:00:00Z",
                 "Description": f"Upgrade \"{name}\" failed: context deadline exceeded"
                 if status == "failed" else "Install complete",
                 "status": status, "notes": notes},
        "chart": {"metadata": {"name": name, "version": "1.4.0", "appVersion": "2.1.0"},
                  "values": {"replicaCount": 1, "defaultsOnly": "chart-default"},
                  "templates": [{"name": "templates/deployment.yaml", "data": "e30="}]},
        "config": config,
        "manifest": "---\n# Source: x/templates/deployment.yaml\nkind: Deployment\n",
    }
    payload = json.dumps(record).encode()
    helm_text = base64.b64encode(gzip.compress(payload) if gzipped else payload)
    return client.V1Secret(
        metadata=client.V1ObjectMeta(
            name=f"sh.helm.release.v1.{name}.v{version}", namespace=namespace,
            labels={"owner": "helm", "name": name, "status": status, "version": str(version)}),
        type="helm.sh/release.v1", data={"release": base64.b64encode(helm_text).decode()})


def log_lines(count: int, tag: str = "app") -> str:
    return "".join(f"2026-05-01T12:00:{i % 60:02d}.000Z INFO [{tag}] request GET /api/2.0/items "
                   f"status=200 duration_ms={i % 97} line={i}\n" for i in range(count))


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def one_namespace() -> RecordedCluster:
    ns = "mlc-run1-mlflow"
    cluster = RecordedCluster()
    cluster.pod_list[ns] = [
        pod("mlflow-0", ns, [container("app"),
                             container("proxy", restarts=3, ready=False, state=crash_loop(),
                                       last=crashed())],
            ready=False),
        pod("mlflow-pull", ns, [container("app", ready=False, state=image_pull())],
            phase="Pending", ready=False),
    ]
    cluster.event_list[ns] = [
        event(ns, "mlflow-0", "BackOff", "Back-off restarting failed container proxy\nin pod",
              count=5, minute=2),
        event(ns, "mlflow-0", "Scheduled", "Successfully assigned", type_="Normal", minute=0),
    ]
    cluster.logs.update({
        (ns, "mlflow-0", "app", False): log_lines(10),
        (ns, "mlflow-0", "app", True): "an older instance that must not be collected\n",
        (ns, "mlflow-0", "proxy", False): "proxy: starting\n",
        (ns, "mlflow-0", "proxy", True): "proxy: fatal: upstream refused\n",
    })
    cluster.secret_list[ns] = [
        helm_secret("mlflow", ns, 1, "superseded", {"replicaCount": 1}),
        helm_secret("mlflow", ns, 2, "failed", {
            "replicaCount": 2,
            "auth": {"adminUser": "admin", "adminPassword": "pw-from-values"},
            "backendStore": {"postgres": {"existingSecret": "", "apiKey": "k-123456"}},
            "ingress": {"enabled": True, "tls": [{"secretName": "mlflow-tls"}]},
        }, notes="\n".join(f"note line {i}" for i in range(40))),
        # Not Helm's: another owner's Secret never shows up as a release.
        client.V1Secret(metadata=client.V1ObjectMeta(name="other", namespace=ns,
                                                     labels={"owner": "someone"}),
                        type="Opaque", data={"password": "c2VjcmV0"}),
    ]
    return cluster


# --- layout ------------------------------------------------------------------------------------


def test_the_bundle_has_one_directory_per_namespace_with_its_files(tmp_path: Path) -> None:
    bundle = write_bundle(one_namespace(), ["mlc-run1-mlflow"], tmp_path)

    ns = "mlc-run1-mlflow"
    written = files_under(tmp_path / "diagnostics")
    assert set(written) == {
        "index.md", f"{ns}/events.txt", f"{ns}/pods.yaml", f"{ns}/helm/mlflow.yaml",
        f"{ns}/logs/mlflow-0/app.log", f"{ns}/logs/mlflow-0/proxy.log",
        f"{ns}/logs/mlflow-0/proxy.previous.log",
    }
    assert sorted(p.as_posix() for p in bundle.files[ns]) == sorted(
        f"diagnostics/{name}" for name in written if name != "index.md")
    assert bundle.root == tmp_path / "diagnostics"
    assert bundle.total_bytes == sum(len(data) for data in written.values())
    assert not bundle.omitted
    assert not bundle.errors
    index = written["index.md"].decode()
    for name in written:
        if name != "index.md":
            assert f"({name})" in index  # linked from the index
    assert bundle.summary(ns) == f"6 files in diagnostics/{ns}/ (see diagnostics/index.md)"
    assert bundle.summary("elsewhere") is None


def test_previous_logs_only_for_containers_that_restarted(tmp_path: Path) -> None:
    write_bundle(one_namespace(), ["mlc-run1-mlflow"], tmp_path)

    logs = tmp_path / "diagnostics" / "mlc-run1-mlflow" / "logs"
    assert (logs / "mlflow-0" / "proxy.previous.log").read_text() == \
        "proxy: fatal: upstream refused\n"
    assert not (logs / "mlflow-0" / "app.previous.log").exists()
    # A container that never started (its image does not pull) has no log to read.
    assert not (logs / "mlflow-pull").exists()


def test_a_troubled_containers_logs_come_before_the_others(tmp_path: Path) -> None:
    bundle = write_bundle(one_namespace(), ["mlc-run1-mlflow"], tmp_path)

    logs = [p.name for p in bundle.files["mlc-run1-mlflow"] if p.suffix == ".log"]
    assert logs == ["proxy.previous.log", "proxy.log", "app.log"]


def test_events_are_one_line_each_like_kubectl_get_events(tmp_path: Path) -> None:
    write_bundle(one_namespace(), ["mlc-run1-mlflow"], tmp_path)

    lines = (tmp_path / "diagnostics" / "mlc-run1-mlflow" / "events.txt").read_text() \
        .splitlines()
    assert lines[0].split() == ["TIME", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE"]
    assert len(lines) == 3  # the multi-line message stays on its line
    assert lines[1].split()[:5] == ["2026-05-01T12:00:00Z", "Normal", "Scheduled",
                                    "Pod/mlflow-0", "x1"]
    assert lines[2].split() == ["2026-05-01T12:02:00Z", "Warning", "BackOff", "Pod/mlflow-0",
                                "x5", "Back-off", "restarting", "failed", "container", "proxy",
                                "in", "pod"]


def test_pods_yaml_holds_each_pods_state_not_its_spec(tmp_path: Path) -> None:
    write_bundle(one_namespace(), ["mlc-run1-mlflow"], tmp_path)

    text = (tmp_path / "diagnostics" / "mlc-run1-mlflow" / "pods.yaml").read_text()
    pods = yaml.safe_load(text)
    assert [p["name"] for p in pods] == ["mlflow-0", "mlflow-pull"]
    first = pods[0]
    assert first["phase"] == "Running"
    assert first["node"] == "node-1"
    assert first["conditions"] == [{"type": "Ready", "status": "False",
                                    "reason": "ContainersNotReady",
                                    "message": "containers with unready status: [app]",
                                    "since": "2026-05-01T12:00:00Z"}]
    proxy = first["containers"][1]
    assert proxy["restarts"] == 3
    assert proxy["image"] == IMAGE
    assert proxy["state"] == {"waiting": {"reason": "CrashLoopBackOff",
                                          "message": "back-off 5m0s restarting failed container"}}
    assert proxy["last_state"]["terminated"]["exit_code"] == 1
    assert pods[1]["containers"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff"
    assert "SPEC_ONLY" not in text


# --- Helm releases ---------------------------------------------------------------------------


def test_the_latest_helm_revision_with_its_values(tmp_path: Path) -> None:
    write_bundle(one_namespace(), ["mlc-run1-mlflow"], tmp_path)

    release = yaml.safe_load(
        (tmp_path / "diagnostics" / "mlc-run1-mlflow" / "helm" / "mlflow.yaml").read_text())
    assert release["name"] == "mlflow"
    assert release["namespace"] == "mlc-run1-mlflow"
    assert release["revision"] == 2
    assert release["status"] == "failed"
    assert release["chart"] == {"name": "mlflow", "version": "1.4.0"}
    assert release["app_version"] == "2.1.0"
    assert release["first_deployed"] == "2026-05-01T11:00:00Z"
    assert release["description"] == 'Upgrade "mlflow" failed: context deadline exceeded'
    assert release["notes"].splitlines()[:2] == ["note line 0", "note line 1"]
    assert "note line 39" not in release["notes"]
    # The user-supplied values, not the chart's defaults; secret-looking ones masked.
    assert release["values"] == {
        "replicaCount": 2,
        "auth": {"adminUser": "admin", "adminPassword": "***"},
        "backendStore": {"postgres": {"existingSecret": "", "apiKey": "***"}},
        "ingress": {"enabled": True, "tls": [{"secretName": "***"}]},
    }


def test_values_are_masked_under_any_secret_looking_key() -> None:
    values = {"postgresql": {"auth": {"password": "p", "postgresPassword": "q", "port": 5432}},
              "hub": {"cookieSecret": "c", "config": {"GitHubOAuthenticator": {
                  "client_secret": "s", "client_id": "id"}}},
              "proxy": {"secretToken": "t", "token": None},
              "sshKeys": ["a", "b"], "credentials": {"aws": {"region": "eu", "id": "x"}},
              "debug": {"enabled": False}}
    assert mask_values(values) == {
        "postgresql": {"auth": {"password": "***", "postgresPassword": "***", "port": 5432}},
        "hub": {"cookieSecret": "***", "config": {"GitHubOAuthenticator": {
            "client_secret": "***", "client_id": "id"}}},
        "proxy": {"secretToken": "***", "token": None},
        "sshKeys": ["***", "***"], "credentials": {"aws": {"region": "***", "id": "***"}},
        "debug": {"enabled": False}}


def test_helm_records_as_the_api_returns_them_and_older_ones_decode(tmp_path: Path) -> None:
    # What the API server sends for a Secret: its bytes (Helm's base64 text) base64-encoded.
    stored = helm_secret("feast", "ns", 1, "deployed", {"a": 1})
    wire = {"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": [
        client.ApiClient().sanitize_for_serialization(stored)]}
    received = client.ApiClient().deserialize(json.dumps(wire), "V1SecretList",
                                              "application/json")
    cluster = RecordedCluster(secret_list={"ns": [
        *received.items,
        # Records from before Helm compressed them are base64 of the JSON alone.
        helm_secret("dask", "ns", 4, "deployed", {"b": 2}, gzipped=False),
        # A record that does not decode is said so, and the rest still written.
        client.V1Secret(metadata=client.V1ObjectMeta(
            name="sh.helm.release.v1.broken.v1",
            labels={"owner": "helm", "name": "broken", "version": "1"}),
            type="helm.sh/release.v1", data={"release": base64.b64encode(b"!!").decode()}),
    ]})

    bundle = write_bundle(cluster, ["ns"], tmp_path)

    helm = tmp_path / "diagnostics" / "ns" / "helm"
    assert yaml.safe_load((helm / "feast.yaml").read_text())["values"] == {"a": 1}
    assert yaml.safe_load((helm / "dask.yaml").read_text())["revision"] == 4
    assert (helm / "broken.yaml").read_text().startswith(
        "# could not decode Helm's record in Secret sh.helm.release.v1.broken.v1")
    assert len(bundle.files["ns"]) == 5  # events, pods, three releases


# --- bounds ------------------------------------------------------------------------------------


def test_a_log_over_the_file_bound_keeps_its_tail(tmp_path: Path) -> None:
    cluster = RecordedCluster(
        pod_list={"ns": [pod("p", "ns", [container("app")])]},
        logs={("ns", "p", "app", False): log_lines(5000)})

    bundle = write_bundle(cluster, ["ns"], tmp_path, max_file_bytes=4096)

    path = tmp_path / "diagnostics" / "ns" / "logs" / "p" / "app.log"
    data = path.read_bytes()
    assert len(data) <= 4096
    lines = data.decode().splitlines()
    assert lines[0].startswith("[diagnostics: only the last 2000 lines were read; the first ")
    assert lines[0].endswith(" bytes were cut, the end follows]")
    assert lines[-1].endswith("line=4999")
    assert lines[1].startswith("2026-05-01T")  # whole lines only
    assert "line=0\n" not in data.decode()
    assert path.relative_to(tmp_path) in bundle.truncated
    assert "first " in (tmp_path / "diagnostics" / "index.md").read_text()


def test_a_log_longer_than_the_tail_says_so(tmp_path: Path) -> None:
    cluster = RecordedCluster(
        pod_list={"ns": [pod("p", "ns", [container("app")])]},
        logs={("ns", "p", "app", False): log_lines(500), ("ns", "p", "app", True): "x\n"})

    write_bundle(cluster, ["ns"], tmp_path, log_tail_lines=100)

    lines = (tmp_path / "diagnostics" / "ns" / "logs" / "p" / "app.log").read_text() \
        .splitlines()
    assert lines[0] == "[diagnostics: only the last 100 lines were read]"
    assert len(lines) == 101
    assert lines[1].endswith("line=400")


def test_a_log_within_the_bounds_is_written_as_it_is(tmp_path: Path) -> None:
    cluster = RecordedCluster(pod_list={"ns": [pod("p", "ns", [container("app")])]},
                              logs={("ns", "p", "app", False): log_lines(100)})

    bundle = write_bundle(cluster, ["ns"], tmp_path, log_tail_lines=100)

    assert (tmp_path / "diagnostics" / "ns" / "logs" / "p" / "app.log").read_text() == \
        log_lines(100)
    assert not bundle.truncated


def test_a_long_pods_yaml_keeps_its_start(tmp_path: Path) -> None:
    cluster = RecordedCluster(pod_list={"ns": [
        pod(f"pod-{i:03d}", "ns", [container("app")]) for i in range(200)]})

    write_bundle(cluster, ["ns"], tmp_path, max_file_bytes=2048)

    data = (tmp_path / "diagnostics" / "ns" / "pods.yaml").read_bytes()
    assert len(data) <= 2048
    assert data.startswith(b"- name: pod-000\n")
    assert data.decode().splitlines()[-1].startswith("# [diagnostics: the last ")


def test_past_the_bundle_bound_files_are_omitted_and_listed(tmp_path: Path) -> None:
    cluster = RecordedCluster()
    for n in range(3):
        ns = f"ns-{n}"
        cluster.pod_list[ns] = [pod(f"p{i}", ns, [container("app")]) for i in range(4)]
        cluster.event_list[ns] = [event(ns, "p0", "Pulled", "pulled", type_="Normal")]
        for i in range(4):
            cluster.logs[(ns, f"p{i}", "app", False)] = log_lines(200)

    bound = 40_000
    bundle = write_bundle(cluster, [f"ns-{n}" for n in range(3)], tmp_path,
                          max_total_bytes=bound)

    on_disk = files_under(tmp_path / "diagnostics")
    assert sum(len(d) for d in on_disk.values()) == bundle.total_bytes <= bound
    assert bundle.omitted
    index = on_disk["index.md"].decode()
    for path, size in bundle.omitted:
        assert not (tmp_path / path).exists()
        assert size > 0
        name = "/".join(path.parts[2:])  # inside diagnostics/<namespace>/
        assert f"| `{name}` | {size} | omitted: the bundle's size bound was reached |" in index
    # The namespaces' summaries come before any log, so they are all there.
    for n in range(3):
        assert f"ns-{n}/events.txt" in on_disk
        assert f"ns-{n}/pods.yaml" in on_disk
    assert f"Left out: {len(bundle.omitted)} files." in index


def test_a_tiny_bound_still_gives_an_index_within_it(tmp_path: Path) -> None:
    cluster = one_namespace()

    bundle = write_bundle(cluster, ["mlc-run1-mlflow"], tmp_path, max_total_bytes=2200)

    assert bundle.total_bytes <= 2200
    assert not bundle.files
    assert (tmp_path / "diagnostics" / "index.md").is_file()
    index = (tmp_path / "diagnostics" / "index.md").read_text()
    assert "Left out: 6 files." in index
    # Even their index lines would not fit: they are counted instead.
    assert f"Not listed below for lack of room: {6 - len(bundle.omitted)} files" in index


# --- secrets and failures ----------------------------------------------------------------------


def test_a_known_secret_appears_nowhere_in_the_bundle(tmp_path: Path) -> None:
    secret = "Zq9-run-secret-value-77"
    ns = "ns"
    failing = pod("db-0", ns, [container("postgres", restarts=1, ready=False,
                                         state=crash_loop(), last=crashed())], ready=False)
    failing.status.conditions[0].message = f"probe failed: password={secret}"
    cluster = RecordedCluster(
        pod_list={ns: [failing]},
        event_list={ns: [event(ns, "db-0", "Unhealthy", f"Readiness probe: auth {secret}")]},
        logs={(ns, "db-0", "postgres", False): f"FATAL: password {secret} rejected\n" * 50,
              (ns, "db-0", "postgres", True): f"connecting with dsn postgres://u:{secret}@db\n"},
        secret_list={ns: [helm_secret("postgres", ns, 1, "deployed",
                                      {"databaseUrl": f"postgres://u:{secret}@db:5432/x"})]})

    redactor = Redactor([secret])
    write_bundle(cluster, [ns], tmp_path, redact=redactor, max_file_bytes=1000)

    written = files_under(tmp_path / "diagnostics")
    assert len(written) == 6
    for name, data in written.items():
        assert secret.encode() not in data, name
        assert base64.b64encode(secret.encode()) not in data, name
    assert b"***" in written["ns/helm/postgres.yaml"]
    assert b"***" in written["ns/logs/db-0/postgres.previous.log"]


class Failing(RecordedCluster):
    def events(self, namespace: str) -> list[Any]:
        raise RuntimeError(f"events of {namespace}: 503 token=Zq9-run-secret-value-77")


def test_a_read_that_fails_is_listed_and_the_rest_collected(tmp_path: Path) -> None:
    cluster = Failing(pod_list={"ns": [pod("p", "ns", [container("app")])]},
                      logs={("ns", "p", "app", False): "ok\n"})

    bundle = write_bundle(cluster, ["ns"], tmp_path,
                          redact=Redactor(["Zq9-run-secret-value-77"]))

    assert [p.name for p in bundle.files["ns"]] == ["pods.yaml", "app.log"]
    assert bundle.errors == ["ns: events: RuntimeError: events of ns: 503 token=***"]
    index = (tmp_path / "diagnostics" / "index.md").read_text()
    assert "## Could not read\n\n- ns: events: RuntimeError" in index


# --- a realistic failed run --------------------------------------------------------------------


TOOLS = ("mlflow", "jupyterhub", "prefect", "feast", "dask", "seldon")


def failed_run() -> tuple[RecordedCluster, list[str]]:
    """Six tools' namespaces, 15 pods of two containers each; one container is in
    CrashLoopBackOff after 5000 lines of log, its previous instance's as long.
    """
    cluster = RecordedCluster()
    namespaces = [f"mlc-20260501-120000-defaults-1a2b-{tool}" for tool in TOOLS]
    pods_per_ns = (3, 3, 3, 2, 2, 2)
    for ns, tool, count in zip(namespaces, TOOLS, pods_per_ns, strict=True):
        pods = []
        for i in range(count):
            name = f"{tool}-{i}"
            crashing = tool == "mlflow" and i == 0
            app = (container("app", restarts=7, ready=False, state=crash_loop(), last=crashed())
                   if crashing else container("app"))
            pods.append(pod(name, ns, [app, container("sidecar")], ready=not crashing))
            cluster.logs[(ns, name, "app", False)] = log_lines(5000 if crashing else 300, tool)
            cluster.logs[(ns, name, "sidecar", False)] = log_lines(300, "sidecar")
            if crashing:
                cluster.logs[(ns, name, "app", True)] = log_lines(5000, tool) + \
                    "Traceback (most recent call last):\nRuntimeError: database refused\n"
        cluster.pod_list[ns] = pods
        cluster.event_list[ns] = [
            event(ns, f"{tool}-{i % count}", "Pulled" if i % 4 else "BackOff",
                  f"Container image {IMAGE} already present on machine (event {i})",
                  type_="Normal" if i % 4 else "Warning", count=1 + i % 5, minute=i)
            for i in range(40)]
        cluster.secret_list[ns] = [
            helm_secret(tool, ns, version, "superseded" if version < 2 else
                        ("failed" if tool == "mlflow" else "deployed"),
                        {"image": {"tag": "2.1.0"}, "resources": {"limits": {"memory": "1Gi"}},
                         "auth": {"password": "generated-password-xyz"}})
            for version in (1, 2)]
    return cluster, namespaces


def test_a_realistic_failed_runs_bundle_stays_under_the_bound(tmp_path: Path) -> None:
    cluster, namespaces = failed_run()

    bundle = write_bundle(cluster, namespaces, tmp_path)

    on_disk = files_under(tmp_path / "diagnostics")
    assert sum(len(d) for d in on_disk.values()) == bundle.total_bytes <= MAX_TOTAL_BYTES
    assert not bundle.omitted
    # 6 x (events, pods, one release) + 30 logs + the crash's previous one + the index
    assert len(on_disk) == 6 * 3 + 30 + 1 + 1
    crash = f"{namespaces[0]}/logs/mlflow-0/app.previous.log"
    assert on_disk[crash].decode().endswith("RuntimeError: database refused\n")
    assert on_disk[crash].startswith(b"[diagnostics: only the last 2000 lines were read]")
    assert b"generated-password-xyz" not in b"".join(on_disk.values())


@pytest.mark.parametrize("bound", [400_000, 1_000_000])
def test_the_realistic_run_under_a_smaller_bound_keeps_within_it(tmp_path: Path,
                                                                 bound: int) -> None:
    cluster, namespaces = failed_run()

    bundle = write_bundle(cluster, namespaces, tmp_path, max_total_bytes=bound)

    on_disk = files_under(tmp_path / "diagnostics")
    assert sum(len(d) for d in on_disk.values()) == bundle.total_bytes <= bound
    assert bundle.omitted
    # The crash is what a reader needs first: it is written before any healthy log.
    assert f"{namespaces[0]}/logs/mlflow-0/app.previous.log" in on_disk
