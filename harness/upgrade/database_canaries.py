"""The databases' contents: rows the harness writes into every database the run's PostgreSQL
holds for a tool (MLflow's, Prefect's, Feast's registry), in a schema of its own so no tool's
migration has a reason to touch it, and each database's owner. Read back after the upgrade,
they show each tool came back on the same database, not on a new or re-initialised one.

A database on an external server (the external-postgres scenario's lease) is the
operator's: nothing is written there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from harness.launchers.postgres import SUPERUSER
from harness.upgrade.canaries import CanaryError

if TYPE_CHECKING:
    from harness.stack import Stack

SCHEMA = "conformance_canary"  # spelled out in the statements: no SQL is built from text
_ROWS = 3
_TIMEOUT_S = 10


class DatabaseCanaries:
    """Writes and reads the canary rows of each database on the run's own PostgreSQL."""

    TOOL = "postgres"

    def __init__(self) -> None:
        self.databases: list[str] = []
        self.why_none = ""  # why nothing was written, when nothing was

    def write(self, stack: Stack, label: str) -> dict[str, Any]:
        """Create the schema and rows in each database; return the readings they must give."""
        import psycopg  # noqa: PLC0415 - only where PostgreSQL runs

        entry = stack.tools[self.TOOL]
        owners: dict[str, str] = entry.expect.get("databases", {})
        self.databases = sorted(set(owners) - set(entry.expect.get("leased", [])))
        if "server" not in entry.endpoints or not self.databases:
            self.why_none = ("every database of this stack is on the external server, which "
                             "is the operator's" if owners else "no tool keeps a database here")
            self.databases = []
            return {}
        expected: dict[str, Any] = {}
        for database in self.databases:
            try:
                with _connect(stack, database) as connection:
                    connection.execute("CREATE SCHEMA IF NOT EXISTS conformance_canary")
                    connection.execute("CREATE TABLE conformance_canary.rows "
                                       "(id integer PRIMARY KEY, note text NOT NULL)")
                    for row in range(1, _ROWS + 1):
                        connection.execute("INSERT INTO conformance_canary.rows VALUES (%s, %s)",
                                           (row, f"{label} row {row}"))
            except psycopg.Error as exc:
                msg = f"postgres: database {database}: {exc}"
                raise CanaryError(msg) from exc
            expected[f"database {database} owner"] = owners[database]
            for row in range(1, _ROWS + 1):
                expected[f"database {database} row {row}"] = f"{label} row {row}"
        return expected

    def read(self, stack: Stack) -> dict[str, Any]:
        """Each database's owner and canary rows; a database or table that is gone gives none."""
        import psycopg  # noqa: PLC0415

        found: dict[str, Any] = {}
        for database in self.databases:
            try:
                with _connect(stack, database) as connection:
                    owner = connection.execute(
                        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                        (database,)).fetchone()
                    if owner:
                        found[f"database {database} owner"] = owner[0]
                    rows = connection.execute(
                        "SELECT id, note FROM conformance_canary.rows").fetchall()
            except psycopg.Error:  # no such database, or no such table: its rows are lost
                continue
            found.update({f"database {database} row {row}": note for row, note in rows})
        return found


def _connect(stack: Stack, database: str) -> Any:
    import psycopg  # noqa: PLC0415

    server = stack.tools["postgres"].endpoints["server"]
    return psycopg.connect(f"{server}/{database}", user=SUPERUSER, autocommit=True,
                           password=stack.secret("postgres", "superuser"),
                           connect_timeout=_TIMEOUT_S)
