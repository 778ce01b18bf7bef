"""What the checks are given on a cluster: endpoints through forwards, expectations from the
scenario, and the reason for each check that does not run there yet.
"""

from __future__ import annotations

import socket

from harness.check_ids import known_check_ids
from harness.k8s.cluster_endpoints import (
    CLIENT_URLS,
    PENDING_CHECKS,
    RUNS_ON_CLUSTER,
    SELDON_SERVING_CHECKS,
    forward_of,
    pending,
    reach_databases,
    tool_entry,
)
from harness.k8s.forwards import Forward
from harness.scenario import TOOLS, load_scenario
from harness.secrets import SecretStore
from harness.stack import Stack

ENDPOINT = {"service": "mlflow", "namespace": "ci-run1-mlflow", "port": 80,
            "secret_names": []}


def test_a_client_endpoint_is_forwarded_and_seldon_gets_the_api_server() -> None:
    assert forward_of("mlflow", ENDPOINT) == Forward("mlflow", "ci-run1-mlflow", "mlflow", 80)
    # Seldon's endpoint is the operator's webhook, which only the API server calls: its
    # checks' client is the API server itself, through `kubectl proxy`.
    webhook = {**ENDPOINT, "service": "seldon-webhook-service", "namespace": "ci-run1-seldon",
               "port": 443}
    proxy = forward_of("seldon", webhook)
    assert proxy is not None
    assert proxy.is_api_proxy
    assert proxy.namespace == "ci-run1-seldon"
    assert proxy.target == "the API server (kubectl proxy)"


def test_entries_use_the_local_targets_endpoint_names() -> None:
    scenario = load_scenario("defaults")
    assert tool_entry("mlflow", 4100, scenario).endpoints == {"tracking": "http://127.0.0.1:4100"}
    assert tool_entry("prefect", 4200, scenario).endpoints == {"api": "http://127.0.0.1:4200/api"}
    assert tool_entry("dask", 8786, scenario).endpoints == {"scheduler": "tcp://127.0.0.1:8786"}
    assert tool_entry("seldon", 8001, scenario).endpoints == {"api": "http://127.0.0.1:8001"}
    assert set(CLIENT_URLS) == set(TOOLS)


def test_dask_expects_what_the_scenario_asks_for() -> None:
    scenario = load_scenario("private-registry")
    expect = tool_entry("dask", 8786, scenario).expect
    assert expect["workers"] == scenario.var("worker_replicas")
    assert expect["worker_environment"] == {
        e["name"]: e["value"] for e in scenario.var("worker_environment_variables") if e}


def test_every_check_that_does_not_run_on_a_cluster_says_why() -> None:
    reasons = pending(list(TOOLS))
    assert set(reasons) == (set(TOOLS) - RUNS_ON_CLUSTER) | set(PENDING_CHECKS) | {
        "journey.train-and-serve"}
    assert "flow-run pod cannot write" in reasons["journey.train-and-serve"]
    assert "seldon" not in reasons  # through the API server
    assert "feast" not in reasons  # through the target's forwards to its stores
    assert "real GitHub" in reasons["jupyterhub.oauth-member"]
    assert "prefect.deployment-run" not in reasons  # its code travels in its pull steps
    assert "jupyterhub.storage" not in reasons  # read inside the user's pod
    assert set(PENDING_CHECKS) <= known_check_ids()  # each names a real check


def test_only_the_selected_tools_checks_are_listed() -> None:
    assert set(pending(["dask"])) == {"journey.train-and-serve"}
    assert set(pending(["mlflow"])) == {"journey.train-and-serve"}


def test_the_external_database_is_given_where_this_machine_reaches_it() -> None:
    scenario = load_scenario("external-postgres")
    store = SecretStore()
    store.put("db_password", "pw-mlflow")
    store.put("prefect-postgresql.password", "pw-prefect")
    stack = Stack(target="k8s://x", scenario="external-postgres", tools={
        "mlflow": tool_entry("mlflow", 5000, scenario), "prefect": tool_entry("prefect", 4200,
                                                                                scenario)})
    refusing: list[bool] = []

    def answers(address: tuple[str, int], timeout: float) -> socket.socket:
        assert address == (scenario.var("db_host"), 5432) and timeout > 0
        if refusing:
            raise ConnectionRefusedError(111, "Connection refused")
        return socket.socket()

    skipped = reach_databases(stack, scenario, store, answers)
    mlflow, prefect = stack.tools["mlflow"], stack.tools["prefect"]
    assert mlflow.expect["external_database"] == {
        "host": scenario.var("db_host"), "port": scenario.var("db_port"),
        "name": scenario.var("database_name"), "user": scenario.var("db_username")}
    assert mlflow.endpoints["database"] == f"postgresql://{scenario.var('db_host')}:5432"
    assert str(mlflow.credentials["database"]) == "file secrets/db_password"
    assert str(prefect.credentials["database"]) == "file secrets/prefect-postgresql.password"
    assert skipped == {}
    refusing.append(True)
    skipped = reach_databases(stack, scenario, store, answers)
    assert "does not answer from this machine (Connection refused)" in \
        skipped["mlflow.postgres-backend"]
    assert reach_databases(stack, load_scenario("defaults"), store, answers) == {}


def test_the_hub_expects_the_scenarios_authenticator_and_storage() -> None:
    assert tool_entry("jupyterhub", 80, load_scenario("defaults")).expect == {
        "authenticator": "dummy", "storage_path": "/home/jovyan/persistent",
        "storage_volume": True}
    assert tool_entry("jupyterhub", 80, load_scenario("oauth")).expect["authenticator"] == \
        "github"


def test_a_hub_without_user_volumes_expects_none() -> None:
    from harness.static.render import Release

    hub = Release(module="jupyterhub", name="jupyterhub", chart="jupyterhub", version="4.0.0",
                  repository="", namespace="jupyterhub",
                  values={"singleuser": {"storage": {"type": "none"}}})
    expect = tool_entry("jupyterhub", 80, load_scenario("defaults"), [hub]).expect
    assert expect["storage_volume"] is False


def test_prefect_expects_the_pool_type_the_charts_worker_creates() -> None:
    from harness.static.render import Release

    scenario = load_scenario("defaults")
    worker = Release(module="prefect", name="prefect-worker", chart="prefect-worker",
                     version="2025.1.0", repository="", namespace="prefect",
                     values={"worker": {"config": {"type": "kubernetes", "workPool": "p"}}})
    expect = tool_entry("prefect", 4200, scenario, [worker]).expect
    assert expect["work_pool_type"] == "kubernetes"
    assert expect["flow_code"] == "carried"  # flow-run pods cannot read this machine
    assert expect["work_pool"] == scenario.var("agent_work_pool_name")
    assert expect["worker"] is scenario.var("agent_enabled")


def test_feast_expects_the_scenarios_project_and_stores() -> None:
    assert tool_entry("feast", 6566, load_scenario("defaults")).expect == {
        "project": "feast", "online_store": "redis", "registry": "sql"}


def test_seldon_says_why_no_model_could_be_served_with_artifacts_in_the_pod() -> None:
    scenario = load_scenario("defaults")
    reasons = pending(["seldon"], scenario)
    reasons.pop("journey.train-and-serve")
    # Every check that serves the checks' model says why; a model nobody can fetch needs none.
    assert set(reasons) == set(SELDON_SERVING_CHECKS)
    assert "seldon.missing-model" not in reasons
    assert "MLflow keeps artifacts at '/tmp' inside its pod" in reasons["seldon.deploy"]
    assert set(SELDON_SERVING_CHECKS) <= known_check_ids()
    assert tool_entry("seldon", 8001, scenario, namespace="ci-run1-seldon").expect == {
        "namespace": "ci-run1-seldon", "model_store": None}
    scenario.tfvars["default_artifact_root"] = "s3://models/mlflow"
    assert set(pending(["seldon"], scenario)) == {"journey.train-and-serve"}
    assert tool_entry("seldon", 8001, scenario).expect["model_store"] == "s3://models/mlflow"
