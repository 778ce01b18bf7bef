"""Prefect launcher: settings from the scenario, a real server on PostgreSQL, pool and worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from harness.errors import BadInputError
from harness.launchers.postgres import PostgresLauncher
from harness.launchers.prefect import PrefectLauncher
from harness.secrets import SecretStore
from harness.settings import PrefectSettings
from tests import launching

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness.supervisor import Supervisor


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    running = launching.supervisor(tmp_path)
    yield running
    running.stop_all()


def test_settings_follow_the_root_variables(tmp_path: Path) -> None:
    context = launching.context(tmp_path, "prefect", agent_prefect_labels=["gpu", "etl"],
                                agent_work_pool_name="pool-a")
    settings = PrefectSettings.from_scenario(context.scenario)
    assert settings.agent_enabled is True
    assert settings.agent_prefect_labels == ["gpu", "etl"]
    assert (settings.postgresql_database, settings.postgresql_username) == ("prefect", "prefect")


def test_bad_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="agent_work_pool_name"):
        PrefectLauncher(launching.context(tmp_path, "prefect", agent_work_pool_name=""))


def test_agent_disabled_means_no_worker(tmp_path: Path) -> None:
    launcher = PrefectLauncher(launching.context(tmp_path, "prefect", agent_enabled=False))
    assert launcher.entry().expect["worker"] is False


def test_the_worker_polls_as_the_chart_configures_it(
    tmp_path: Path, charts_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The chart sets PREFECT_WORKER_QUERY_SECONDS from worker.config.queryInterval (5), not
    # Prefect's own 10 s: a flow run waits on the chart's interval, and so does the local one.
    monkeypatch.setenv("HARNESS_CHARTS", str(charts_repo))
    launcher = PrefectLauncher(launching.context(tmp_path, "prefect"))
    assert launcher.worker_timing == {"PREFECT_WORKER_QUERY_SECONDS": "5",
                                      "PREFECT_WORKER_PREFETCH_SECONDS": "10"}


@pytest.mark.integration
def test_server_on_postgres_with_pool_queues_and_worker(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    secrets = SecretStore()
    postgres = PostgresLauncher(launching.context(tmp_path, "postgres", secrets=secrets))
    prefect = PrefectLauncher(launching.context(
        tmp_path, "prefect", secrets=secrets, agent_prefect_labels=["gpu", "etl"]))
    prefect.bind({"postgres": postgres})
    launching.start(supervisor, postgres)
    launching.start(supervisor, prefect)
    api = prefect.entry().endpoints["api"]
    assert requests.get(f"{api}/health", timeout=10).json() is True
    assert prefect.versions(prefect.entry())["server"].startswith("3.")
    pool = requests.get(f"{api}/work_pools/default-agent-pool", timeout=10).json()
    assert pool["type"] == "process"
    queues = requests.post(f"{api}/work_pools/default-agent-pool/queues/filter",
                           json={}, timeout=10).json()
    assert {"gpu", "etl"} <= {queue["name"] for queue in queues}
    assert [s.spec.name for s in supervisor.running] == \
        ["postgres", "prefect-server", "prefect-worker"]
    # The server's tables live in its own PostgreSQL database, owned by its own user.
    import psycopg

    database = postgres.databases["prefect"]
    url = database.url(secrets.get(database.password_secret))
    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE tableowner = 'prefect'").fetchone()
    assert row is not None
    assert row[0] > 10
    supervisor.stop_all()
