"""Feast's checks on a cluster (`harness.k8s.feast_client` and the target's `_reach_feast`):
the cluster's own `feature_store.yaml`, rendered by the real charts, with its stores'
Services replaced by port-forwards, and the passwords read from the Secrets its servers name.

End to end short of a cluster: a real Feast stack of this machine (feature server, PostgreSQL
registry, Redis online store, as the local target starts them) stands in for the pods behind
the kubectl stand-in's forwards, and `check -m feast` runs on the stack the kubernetes target
writes.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes.client as k
import pytest
import yaml

from harness.errors import ProvisionError
from harness.k8s.cluster import RecordedCluster
from harness.k8s.feast_client import FeastAccess, FeastUnreachableError, give_checks
from harness.k8s.forwards import Forward, kubectl_argv
from harness.scenario import load_scenario
from harness.secrets import SecretStore, run_secrets
from harness.stack import Stack, ToolEntry
from harness.static_stage import run_static_stage
from harness.targets.k8s import KubernetesTarget
from tests.conftest import CLI
from tests.faults.conftest import started
from tests.helpers.kube_standin import ApiServerStandIn, write_kubeconfig
from tests.k8s.conftest import prepared

STANDIN = str(Path(__file__).parents[1] / "helpers" / "kubectl_standin.py")
CHARTS = os.environ.get("HARNESS_CHARTS", "")
NAMESPACE = "ci-20261203-feast-feast"


def _server_values(scenario: str = "defaults", **tfvars: Any) -> dict[str, Any]:
    """The feature server release's values as the modules render them for `scenario`."""
    loaded = load_scenario(scenario)
    loaded.tfvars.update(tfvars)
    static = run_static_stage(loaded, run_secrets(loaded))
    (server,) = [r for r in static.rendered.releases if r.name == "feast-feature-server"]
    return server.values


def _store(**replaced: Any) -> dict[str, Any]:
    return {"feature_store_yaml_base64": base64.b64encode(yaml.safe_dump(replaced).encode())
            .decode()}


@pytest.mark.terraform  # the static stage renders the values
def test_the_defaults_stores_are_forwarded_and_their_passwords_found() -> None:
    access = FeastAccess.of(_server_values(), NAMESPACE)
    assert [(f.name, f.service, f.port) for f in access.forwards] == [
        ("feast-feast-postgresql", "feast-postgresql", 5432),
        ("feast-feast-redis-master", "feast-redis-master", 6379)]
    assert all(f.namespace == NAMESPACE for f in access.forwards)
    assert access.secret_keys == {"FEAST_POSTGRES_PASSWORD": ("feast-postgresql", "password")}
    client = yaml.safe_load(access.client_yaml({"feast-feast-postgresql": 15432,
                                                "feast-feast-redis-master": 16379}))
    assert client["registry"]["path"] == "postgresql+psycopg://feast@127.0.0.1:15432/feast"
    assert client["registry"]["sqlalchemy_config_kwargs"]["connect_args"] == {
        "password": "${FEAST_POSTGRES_PASSWORD}"}
    assert client["online_store"] == {"type": "redis", "connection_string": "127.0.0.1:16379"}
    assert client["offline_store"] == {"type": "file"}  # the client's own, as locally
    assert access.online_url({"feast-feast-redis-master": 16379}) == "redis://127.0.0.1:16379"


@pytest.mark.terraform  # the static stage renders the values
def test_a_redis_password_keeps_its_reference() -> None:
    access = FeastAccess.of(_server_values(feast_redis_use_password=True), NAMESPACE)
    assert access.secret_keys["FEAST_REDIS_PASSWORD"] == ("feast-redis", "redis-password")
    client = yaml.safe_load(access.client_yaml({"feast-feast-postgresql": 1,
                                                "feast-feast-redis-master": 2}))
    assert client["online_store"]["connection_string"] == \
        "127.0.0.1:2,password=${FEAST_REDIS_PASSWORD}"


@pytest.mark.terraform  # the static stage renders the values
def test_a_postgres_online_store_shares_the_registrys_forward() -> None:
    access = FeastAccess.of(_server_values(feast_redis_enabled=False), NAMESPACE)
    assert [f.service for f in access.forwards] == ["feast-postgresql"]
    client = yaml.safe_load(access.client_yaml({"feast-feast-postgresql": 15432}))
    assert (client["online_store"]["host"], client["online_store"]["port"]) == \
        ("127.0.0.1", 15432)
    assert access.online_url({"feast-feast-postgresql": 15432}) == \
        "postgresql://127.0.0.1:15432/feast"


@pytest.mark.parametrize(("values", "reason"), [
    ({}, "no Feast server renders a feature_store.yaml"),
    (_store(registry={"registry_type": "file", "path": "/tmp/registry.db"}),
     "its registry is a file inside the feature server's pod"),
    (_store(registry={"registry_type": "sql",
                      "path": "postgresql+psycopg://u:p@db.example.com:5432/feast"}),
     "store host 'db.example.com' is not a Service of the cluster"),
    ({"feature_store_yaml_base64": "not base64!"}, "does not decode"),
])
def test_what_cannot_be_reached_says_why(values: dict[str, Any], reason: str) -> None:
    with pytest.raises(FeastUnreachableError, match=reason):
        FeastAccess.of(values, NAMESPACE)


def test_a_secret_without_the_servers_key_stops_the_run() -> None:
    values = {**_store(project="p", registry={
        "registry_type": "sql",
        "path": "postgresql+psycopg://feast:${FEAST_POSTGRES_PASSWORD}@"
                f"feast-postgresql.{NAMESPACE}.svc.cluster.local:5432/feast"}),
        "extraEnvs": [{"name": "FEAST_POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {
            "name": "feast-postgresql", "key": "password"}}}]}
    cluster = RecordedCluster(secret_list={NAMESPACE: [k.V1Secret(
        metadata=k.V1ObjectMeta(name="feast-postgresql"), data={"other": "eA=="})]})
    entry = ToolEntry(endpoints={"feature_server": "http://127.0.0.1:1"})
    started: list[Forward] = []
    with pytest.raises(ProvisionError, match=(
            rf"feast: Secret {NAMESPACE}/feast-postgresql has no key 'password', which the "
            "servers read as FEAST_POSTGRES_PASSWORD")):
        give_checks(entry, values, NAMESPACE, SecretStore(), cluster,
                    lambda f: started.append(f) or 1)  # type: ignore[func-returns-value]
    assert started == []  # nothing forwarded before the passwords are known
    file_registry = _store(registry={"registry_type": "file", "path": "/tmp/r.db"})
    assert "registry is a file" in str(give_checks(entry, file_registry, NAMESPACE,
                                                   SecretStore(), cluster, lambda f: 1))


@pytest.mark.integration
def test_the_feast_checks_pass_through_the_forwards(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack the kubernetes target gives Feast's checks (its feature server, registry
    and online store through forwards; the password from the cluster's Secret) is one on
    which every Feast check passes, against real servers standing in for the pods.
    """
    if not CHARTS:
        pytest.skip("HARNESS_CHARTS is not set: the cluster's feature_store.yaml is rendered")
    with started(tmp_path / "pods", {"feast"}) as pods:
        local = pods.stack.tools["feast"]
        registry = urlsplit(yaml.safe_load(local.expect["feature_store_yaml"])
                            ["registry"]["path"])
        password = (pods.directory / "secrets" / "feast_postgresql_password").read_text()
        monkeypatch.setenv("KUBECTL_STANDIN_SERVICES", json.dumps({
            f"{NAMESPACE}/feast-feature-server": urlsplit(local.endpoints["feature_server"]).port,
            f"{NAMESPACE}/feast-postgresql": registry.port,
            f"{NAMESPACE}/feast-redis-master": urlsplit(local.endpoints["online_store"]).port}))
        stack, target = _cluster_stack(tmp_path, monkeypatch, password.strip())
        assert stack.skip == {}
        entry = stack.tools["feast"]
        assert sorted(entry.credentials) == ["postgres_password"]
        assert entry.endpoints["online_store"].startswith("redis://127.0.0.1:")
        try:
            checked = subprocess.run(
                [*CLI, "check", "--stack", str(tmp_path / "run" / "stack.json"),
                 "--reports-dir", str(tmp_path / "reports"), "-m", "feast"],
                capture_output=True, text=True, timeout=900, check=False)
        finally:
            assert target.forwards is not None
            assert target.forwards.stop_all() == []
    assert checked.returncode == 0, (checked.stdout + checked.stderr)[-3000:]
    (report,) = (tmp_path / "reports").glob("*/report.json")
    statuses = {c["id"]: c["status"] for c in json.loads(report.read_text())["runs"][0]["checks"]
                if c["id"].startswith("feast.")}
    assert statuses and set(statuses.values()) == {"pass"}, statuses


def _cluster_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, password: str
                   ) -> tuple[Stack, KubernetesTarget]:
    """The kubernetes target's `_forward` for Feast alone: rendered releases, a recorded
    cluster holding the chart's PostgreSQL Secret, and the kubectl stand-in's forwards.
    """
    api = ApiServerStandIn()
    server, url = api.serve()
    monkeypatch.setenv("KUBECONFIG", str(write_kubeconfig(tmp_path / "kubeconfig",
                                                          {"standin": url})))
    scenario = load_scenario("defaults")
    run_dir = tmp_path / "run"
    target = prepared("k8s://standin?namespace_prefix=ci", run_dir, "defaults", "feast")
    target.reader = RecordedCluster(secret_list={NAMESPACE: [k.V1Secret(
        metadata=k.V1ObjectMeta(name="feast-postgresql", namespace=NAMESPACE),
        data={"password": base64.b64encode(password.encode()).decode()})]})

    def argv(forward: Forward, local_port: int) -> list[str]:
        return [sys.executable, STANDIN, *kubectl_argv("kubectl", "standin", None)(
            forward, local_port)[1:]]

    target.forward_argv = argv
    stack = Stack(target=target.url, scenario="defaults", run_id=run_dir.name)

    class Quiet:
        def component(self, name: str, status: str, detail: str = "") -> None:
            pass

    target._forward({"feast": {"namespace": NAMESPACE, "service": "feast-feature-server",
                               "port": 80}}, stack, scenario, run_dir, Quiet())
    stack.save(run_dir / "stack.json")
    server.shutdown()
    return stack, target
