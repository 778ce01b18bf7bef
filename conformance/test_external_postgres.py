"""MLflow and Prefect on an external PostgreSQL: what they write is in that database, and stays."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest
import requests

from harness.checks import expect, expect_equal

if TYPE_CHECKING:
    from collections.abc import Iterator

    import psycopg
    from mlflow import MlflowClient

    from harness.stack import Stack

# The checks this module runs; collection fails unless they match its checks exactly.
CHECK_IDS = (
    "mlflow.postgres-backend",
    "prefect.postgres-backend",
    "mlflow.restart-persistence",
)
RESTART_TIMEOUT_S = 300  # the server's own readiness timeout bounds it; this is the HTTP wait


def external_database(stack: Stack, tool: str) -> dict[str, Any]:
    """The external database the scenario names for `tool` (host, port, name, user from its
    tfvars), or skip the check with the reason.
    """
    database = stack.tools[tool].expect.get("external_database")
    if not database:
        pytest.skip(f"{tool} does not use an external PostgreSQL in this scenario")
    return dict(database)


def connect(stack: Stack, tool: str) -> psycopg.Connection[tuple[Any, ...]]:
    """Log in, over the checks' own connection, to the database the scenario names, as the user
    it names, on the server the target serves the scenario's host at.
    """
    import psycopg

    database = external_database(stack, tool)
    where = stack.tools[tool].endpoints.get("database")
    expect(tool, where, "the stack to say where the scenario's database host is served "
           "(endpoints.database)", stack.tools[tool].endpoints)
    served = urlparse(str(where))
    try:
        return psycopg.connect(host=served.hostname, port=served.port, dbname=database["name"],
                               user=database["user"], password=stack.secret(tool, "database"),
                               connect_timeout=10)
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())
        msg = (f"{tool}: cannot log in to the scenario's database {database['name']!r} as "
               f"{database['user']!r} on {database['host']}:{database['port']} (served at "
               f"{served.hostname}:{served.port}): {reason}")
        raise AssertionError(msg) from exc


def server_sessions(connection: psycopg.Connection[tuple[Any, ...]]) -> list[str]:
    """The databases that the other sessions of this user (the tool's server) are connected
    to, as the database server itself lists them.
    """
    rows = connection.execute(
        "SELECT DISTINCT datname FROM pg_stat_activity "
        "WHERE usename = current_user AND pid <> pg_backend_pid() ORDER BY 1").fetchall()
    return [str(row[0]) for row in rows]


@pytest.fixture(scope="module")
def client(stack: Stack) -> MlflowClient:
    """An MLflow client bound to the stack's tracking server."""
    import mlflow

    tracking_uri = stack.tools["mlflow"].endpoints["tracking"]
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.MlflowClient(tracking_uri)


@pytest.mark.check("mlflow.postgres-backend")
def test_mlflow_run_is_in_the_database(stack: Stack, client: MlflowClient) -> None:
    """A run logged through the server is in the database the scenario names (`database_name`
    on `db_host`): its experiment, name, status, params, metric history and tags, read with
    SQL; the server's own sessions as `db_username` are connected to that database.
    """
    database = external_database(stack, "mlflow")
    experiment = f"conformance-pg-{uuid.uuid4().hex[:10]}"
    experiment_id = client.create_experiment(experiment)
    run = client.create_run(experiment_id, run_name=f"run-{uuid.uuid4().hex[:8]}")
    run_id = run.info.run_id
    client.log_param(run_id, "learning_rate", "0.01")
    for step, loss in enumerate([0.9, 0.5]):
        client.log_metric(run_id, "loss", loss, step=step)
    client.set_tag(run_id, "stage", "conformance")
    client.set_terminated(run_id, "FINISHED")

    with connect(stack, "mlflow") as connection:
        sessions = server_sessions(connection)
        row = connection.execute(
            "SELECT r.name, r.status, e.name FROM runs r JOIN experiments e "
            "ON e.experiment_id = r.experiment_id WHERE r.run_uuid = %s", (run_id,)).fetchone()
        params = connection.execute(
            "SELECT key, value FROM params WHERE run_uuid = %s", (run_id,)).fetchall()
        losses = connection.execute(
            "SELECT step, value FROM metrics WHERE run_uuid = %s AND key = 'loss' ORDER BY step",
            (run_id,)).fetchall()
        tag = connection.execute(
            "SELECT value FROM tags WHERE run_uuid = %s AND key = 'stage'", (run_id,)).fetchone()
    expect_equal("mlflow", f"databases the server's sessions as {database['user']!r} use",
                 [database["name"]], sessions)
    expect_equal("mlflow", f"row of run {run_id} (name, status, experiment)",
                 (run.info.run_name, "FINISHED", experiment), row)
    expect_equal("mlflow", "params rows", [("learning_rate", "0.01")], params)
    expect_equal("mlflow", "loss rows (step, value)", [(0, 0.9), (1, 0.5)], losses)
    expect_equal("mlflow", "tag row stage", ("conformance",), tag)


@pytest.fixture(scope="module")
def prefect_client_settings(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Point this process's Prefect client at the stack; keep its files out of ~/.prefect."""
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    api = stack.tools["prefect"].endpoints["api"]
    home = tmp_path_factory.mktemp("prefect-home")
    with temporary_settings(updates={PREFECT_API_URL: api, PREFECT_HOME: home}):
        yield


@pytest.mark.check("prefect.postgres-backend")
def test_prefect_flow_run_is_in_the_database(stack: Stack, request: pytest.FixtureRequest) -> None:
    """A flow run is in the database the scenario names (`postgresql_database` on
    `postgresql_external_hostname`): its name, flow, state and parameters, read with SQL; the
    server's own sessions as `postgresql_username` are connected to that database.
    """
    database = external_database(stack, "prefect")
    request.getfixturevalue("prefect_client_settings")
    from prefect import flow

    run_name = f"conformance-pg-{uuid.uuid4().hex[:10]}"

    @flow(name="conformance-pg-add", flow_run_name=run_name)
    def add(a: int, b: int) -> int:
        return a + b

    state = add(20, 22, return_state=True)
    flow_run_id = state.state_details.flow_run_id
    with connect(stack, "prefect") as connection:
        sessions = server_sessions(connection)
        row = connection.execute(
            "SELECT fr.name, f.name, fr.state_type::text, fr.parameters FROM flow_run fr "
            "JOIN flow f ON f.id = fr.flow_id WHERE fr.id = %s", (flow_run_id,)).fetchone()
    expect_equal("prefect", f"databases the server's sessions as {database['user']!r} use",
                 [database["name"]], sessions)
    expect_equal("prefect", f"row of flow run {flow_run_id} (name, flow, state, parameters)",
                 (run_name, "conformance-pg-add", "COMPLETED", {"a": 20, "b": 22}), row)


def restart(stack: Stack, tool: str) -> dict[str, Any]:
    """Restart `tool`'s servers through the target (on Kubernetes: delete the pod, wait for
    the new one); skip when the target offers no restart.
    """
    entry = stack.tools[tool]
    if "restart" not in entry.endpoints:
        pytest.skip(f"the target offers no restart of {tool}")
    token = stack.secret(tool, "restart")
    response = requests.post(entry.endpoints["restart"], timeout=RESTART_TIMEOUT_S,
                             headers={"Authorization": f"Bearer {token}"})
    expect_equal(tool, f"restart answer ({response.text[:500]})", 200, response.status_code)
    return dict(response.json())


@pytest.mark.check("mlflow.restart-persistence")
def test_mlflow_data_survives_a_restart(stack: Stack, client: MlflowClient) -> None:
    """After the tracking server restarts, a run and a registered model with its version and
    alias read back unchanged (they live in the database, not in the server).
    """
    external_database(stack, "mlflow")
    experiment_id = client.create_experiment(f"conformance-restart-{uuid.uuid4().hex[:10]}")
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_metric(run_id, "rmse", 0.125)
    client.set_terminated(run_id, "FINISHED")
    name = f"conformance-restart-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name, description="survives a restart")
    version = client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id)
    client.set_registered_model_alias(name, "champion", version.version)

    components = restart(stack, "mlflow")["components"]
    expect("mlflow", components and all(c["before"] != c["after"] for c in components.values()),
           "every component replaced by the restart (new processes, or new pods)", components)

    stored = client.get_run(run_id)
    expect_equal("mlflow", "params after restart", {"alpha": "0.5"}, stored.data.params)
    expect_equal("mlflow", "metrics after restart", {"rmse": 0.125}, stored.data.metrics)
    expect_equal("mlflow", "run status after restart", "FINISHED", stored.info.status)
    model = client.get_registered_model(name)
    expect_equal("mlflow", "model description after restart", "survives a restart",
                 model.description)
    aliased = client.get_model_version_by_alias(name, "champion")
    expect_equal("mlflow", f"version behind {name}@champion after restart",
                 (version.version, run_id), (aliased.version, aliased.run_id))
