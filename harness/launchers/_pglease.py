"""A lease on an already running PostgreSQL (`HARNESS_EXTERNAL_POSTGRES_DSN`): databases for a run.

Run as `python -m harness.launchers._pglease` under the supervisor: it creates the roles and
databases it is given that do not exist yet, reports ready, and on SIGTERM drops exactly what it
created. A role that exists is left as it is: its password is the server's business, as it is
for a database that a DBA manages. Secrets come in the environment, never in argv.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from harness.errors import BadInputError

ENV_DSN = "HARNESS_EXTERNAL_POSTGRES_DSN"
# The lease's own variables: no HARNESS_* variable reaches a process the harness starts.
LEASE_DSN = "PGLEASE_ADMIN_DSN"  # the admin DSN, given to this process only
ENV_SPEC = "PGLEASE_SPEC"  # JSON list of {"name", "user", "password"}
ENV_READY = "PGLEASE_READY"  # file written once every database exists


def address(dsn: str) -> tuple[str, int]:
    """Host and port of an admin DSN, without ever echoing it (it holds a password).

    Raises:
        ValueError: the DSN does not parse or names no TCP host.

    """
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - only with a DSN

    try:
        parts = conninfo_to_dict(dsn)
    except Exception as exc:
        raise ValueError("not a PostgreSQL connection string or URL") from exc
    host = str(parts.get("host") or "")
    if not host or host.startswith("/"):
        raise ValueError("it names no TCP host (e.g. postgresql://postgres:PW@127.0.0.1:5432/)")
    return host, int(str(parts.get("port") or 5432))


def external_address() -> tuple[str, int] | None:
    """Where `HARNESS_EXTERNAL_POSTGRES_DSN` points, if it is set.

    Raises:
        BadInputError: it is set but unusable; the message never quotes it.

    """
    dsn = os.environ.get(ENV_DSN)
    if not dsn:
        return None
    try:
        return address(dsn)
    except ValueError as exc:
        raise BadInputError(f"postgres: {ENV_DSN}: {exc}; give an admin DSN such as "
                            "postgresql://postgres:PASSWORD@HOST:5432/postgres") from exc


def admin_secrets() -> list[str]:
    """The admin DSN and its password, for the run to mask (empty when none is set)."""
    dsn = os.environ.get(ENV_DSN)
    if not dsn:
        return []
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - only with a DSN

    try:
        password = conninfo_to_dict(dsn).get("password")
    except Exception:  # unusable: external_address() says so, without quoting it
        return [dsn]
    return [dsn, str(password)] if password else [dsn]


def _exists(connection: Any, table: str, column: str, name: str) -> bool:
    from psycopg import sql  # noqa: PLC0415

    query = sql.SQL("SELECT 1 FROM {} WHERE {} = %s").format(
        sql.Identifier(table), sql.Identifier(column))
    return connection.execute(query, (name,)).fetchone() is not None


def main() -> int:
    """Create, hold until SIGTERM, drop; exit 1 with one line on stderr if creation fails."""
    import psycopg  # noqa: PLC0415
    from psycopg import sql  # noqa: PLC0415

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    wanted: list[dict[str, str]] = json.loads(os.environ[ENV_SPEC])
    created_roles: list[str] = []
    created_databases: list[str] = []
    with psycopg.connect(os.environ[LEASE_DSN], autocommit=True, connect_timeout=10) as admin:
        try:
            for database in wanted:
                name, user = database["name"], database["user"]
                if _exists(admin, "pg_roles", "rolname", user):
                    print(f"role {user!r} exists: left as it is", flush=True)
                elif user not in created_roles:
                    admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(user), sql.Literal(database["password"])))
                    created_roles.append(user)
                if _exists(admin, "pg_database", "datname", name):
                    print(f"database {name!r} exists: left as it is", flush=True)
                    continue
                admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(name), sql.Identifier(user)))
                created_databases.append(name)
                print(f"created database {name!r} owned by {user!r}", flush=True)
        except psycopg.Error as exc:
            print(f"cannot create the run's databases: {exc}", file=sys.stderr, flush=True)
            stop.set()
        else:
            Path(os.environ[ENV_READY]).write_text("ready\n", encoding="utf-8")
        stop.wait()
        # The clients are stopped first (reverse start order); FORCE ends any stray session.
        for name in created_databases:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            print(f"dropped database {name!r}", flush=True)
        for user in created_roles:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))
            print(f"dropped role {user!r}", flush=True)
    return 0 if Path(os.environ[ENV_READY]).exists() else 1


if __name__ == "__main__":
    sys.exit(main())
