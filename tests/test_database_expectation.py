"""The external-database checks read where the tool's server is connected from PostgreSQL
itself and compare it with the scenario's names, not with the connection's own parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
import pytest

from conformance.test_external_postgres import connect, server_sessions
from harness.launchers.postgres import PostgresLauncher
from harness.stack import SecretRef, Stack, ToolEntry
from tests import launching

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[PostgresLauncher]:
    """A PostgreSQL with the scenario's database `mlflow` and another one, both mlflow's."""
    supervisor = launching.supervisor(tmp_path)
    launcher = PostgresLauncher(launching.context(tmp_path, "postgres"))
    launcher.database("mlflow", "mlflow", "db_password")
    launcher.database("elsewhere", "mlflow", "db_password")
    try:
        launching.start(supervisor, launcher)
        yield launcher
    finally:
        supervisor.stop_all()


def stack_of(launcher: PostgresLauncher, tmp_path: Path, name: str) -> Stack:
    """A stack whose MLflow expects the scenario's database `name` on the scenario's host."""
    (tmp_path / "db_password").write_text(launcher.context.secrets.get("db_password"),
                                          encoding="utf-8")
    entry = ToolEntry(
        endpoints={"database": f"postgresql://127.0.0.1:{launcher.port}"},
        credentials={"database": SecretRef(file="db_password")},
        expect={"external_database": {"host": "postgres.mlops.example.internal", "port": 5432,
                                      "name": name, "user": "mlflow"}})
    return Stack(target="local://", scenario="external-postgres", tools={"mlflow": entry},
                 base_dir=tmp_path)


def test_sessions_of_the_tool_in_another_database_are_seen(
    postgres: PostgresLauncher, tmp_path: Path,
) -> None:
    stack = stack_of(postgres, tmp_path, "mlflow")
    database = postgres.databases["elsewhere"]
    # The tool's server, connected to another database than the scenario names.
    with psycopg.connect(database.url(postgres.context.secrets.get("db_password"))), \
            connect(stack, "mlflow") as checks:
        assert checks.execute("SELECT current_database()").fetchone() == ("mlflow",)
        assert server_sessions(checks) == ["elsewhere"]


def test_a_scenario_database_that_is_not_there_fails_naming_it(
    postgres: PostgresLauncher, tmp_path: Path,
) -> None:
    stack = stack_of(postgres, tmp_path, "mlflow_prod")
    with pytest.raises(AssertionError, match=(
            r"^mlflow: cannot log in to the scenario's database 'mlflow_prod' as 'mlflow' on "
            r"postgres\.mlops\.example\.internal:5432 \(served at 127\.0\.0\.1:\d+\): .*"
            r"mlflow_prod")):
        connect(stack, "mlflow")
