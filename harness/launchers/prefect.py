"""Prefect: `prefect server` on its PostgreSQL database (the subchart's, or the scenario's external
one), and a process worker (the seed's agent).
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import requests

from harness.errors import ProvisionError
from harness.launchers._database import external_database_of
from harness.launchers._installed import installed_versions
from harness.launchers._server_env import server_python
from harness.launchers.base import Launcher, ProcessSpec, Stage, free_port
from harness.settings import PrefectSettings
from harness.stack import ToolEntry

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from harness.launchers.base import LaunchContext
    from harness.launchers.postgres import Database, PostgresLauncher

# The subchart generates the password per install; so does each run.
PASSWORD_SECRET = "prefect_postgresql_password"  # noqa: S105 - the secret's name, not its value


def existing_secret_password(secret_name: str) -> str:
    """The run secret that plays Kubernetes Secret `secret_name` (key `password`), which the
    chart reads for an external database; the run generates it as an operator would create it.
    """
    return f"{secret_name}.password"


# The chart's worker creates a `kubernetes` pool; a local worker runs flows as processes, so
# its pool is of that type (a difference of the local target, which the checks expect).
WORKER_TYPE = "process"


class PrefectLauncher(Launcher):
    """The API server, then (with `agent_enabled`) its work pool, queues and a process worker."""

    NAME = "prefect"
    REQUIRES = ("postgres",)

    def __init__(self, context: LaunchContext) -> None:
        super().__init__(context)
        # What the checks expect comes from the scenario; what runs, from the charts' values.
        self.settings = PrefectSettings.from_scenario(context.scenario)
        values = context.values
        self.worker_enabled = "prefect-worker" in values.releases
        self.work_pool = str(values.get("prefect-worker", "worker.config.workPool", "")
                             if self.worker_enabled else "")
        self.work_queues = [str(q) for q in (values.get(
            "prefect-worker", "worker.config.workQueues", []) if self.worker_enabled else [])]
        # How often the worker asks for runs, and how far ahead: the chart's environment
        # (PREFECT_WORKER_QUERY_SECONDS, ..._PREFETCH_SECONDS), not Prefect's own defaults.
        self.worker_timing: dict[str, str] = {}
        for variable, key in (("PREFECT_WORKER_QUERY_SECONDS", "queryInterval"),
                              ("PREFECT_WORKER_PREFETCH_SECONDS", "prefetchSeconds")):
            setting = values.get("prefect-worker", f"worker.config.{key}") \
                if self.worker_enabled else None
            if setting is not None:
                self.worker_timing[variable] = str(setting)
        self.subchart = bool(values.get("prefect-server", "postgresql.enabled"))
        database = "postgresql.auth" if self.subchart else "externalDatabase"
        self.database_name = str(values.get(
            "prefect-server", f"{database}.{'database' if self.subchart else 'name'}", ""))
        self.database_user = str(values.get("prefect-server", f"{database}.username", ""))
        self.existing_secret = str(values.get("prefect-server", f"{database}.existingSecret",
                                              ""))
        self.port = free_port()
        self.worker_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.database: Database | None = None
        # Until processes() has the chart versions' environments.
        self.python = {"server": context.python, "worker": context.python}

    def bind(self, required: Mapping[str, Launcher]) -> None:
        """Ask PostgreSQL for the server's database and user, as the chart's values name them:
        the subchart's (`postgresql.auth`), or the external one's (`externalDatabase`), whose
        password is the `password` key of its `existingSecret`.
        """
        postgres: PostgresLauncher = required["postgres"]  # type: ignore[assignment]
        external = not self.subchart
        secret = existing_secret_password(self.existing_secret or "prefect") \
            if external else PASSWORD_SECRET
        self.database = postgres.database(self.database_name, self.database_user, secret,
                                          external=external)

    def _environment(self, home: str) -> dict[str, str]:
        # Everything Prefect writes (profiles, local results, logs) stays in the run's state.
        return {
            "PREFECT_HOME": str(self.context.state_dir / home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_API_URL": self.url,
        }

    def processes(self) -> Iterator[Stage]:
        """Yield the builds of the server's and the worker's environments at their charts'
        versions (once), then the servers.
        """
        for component in ("server", "worker") if self.worker_enabled else ("server",):
            self.python[component] = yield from server_python(self.context, self.NAME,
                                                              component)
        yield from self.server_stages()

    def server_stages(self) -> Iterator[Stage]:
        """Yield the server; create the pool and queues; yield the worker if enabled."""
        assert self.database is not None, "bind() gives the server its database"
        password = self.context.secrets.get(self.database.password_secret)
        if not self.subchart:
            self.database.check_login("prefect-server", password)
        yield ProcessSpec(
            name="prefect-server",
            argv=self.python["server"].module(
                "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port),
                "--no-ui", "--analytics-off"),
            env={**self._environment("server"),
                 "PREFECT_API_DATABASE_CONNECTION_URL":
                     self.database.url(password, "postgresql+asyncpg")},
            health_url=f"{self.url}/health",
            timeout_s=self.context.timeout_s("prefect-server"),
        )
        if not self.worker_enabled:
            return
        self._create_pool()
        queues = [arg for queue in self.work_queues for arg in ("--work-queue", queue)]
        yield ProcessSpec(
            name="prefect-worker",
            argv=self.python["worker"].module(
                "prefect", "worker", "start", "--pool", self.work_pool,
                "--type", WORKER_TYPE, "--name", "local-worker", "--with-healthcheck",
                "--install-policy", "never", *queues),
            env={**self._environment("worker"), **self.worker_timing,
                 "PREFECT_WORKER_WEBSERVER_HOST": "127.0.0.1",
                 "PREFECT_WORKER_WEBSERVER_PORT": str(self.worker_port)},
            health_url=f"http://127.0.0.1:{self.worker_port}/health",
            timeout_s=self.context.timeout_s("prefect-worker"),
            # On SIGTERM the worker interrupts itself and can then wait forever (Prefect 3.9);
            # it holds no state of its own, so it is killed outright.
            stop_signal=signal.SIGKILL,
        )

    def schema_store(self) -> str:
        """The server's database as a SQLAlchemy URL (password included: never logged)."""
        assert self.database is not None, "bind() gives the server its database"
        return self.database.url(self.context.secrets.get(self.database.password_secret),
                                 "postgresql+psycopg")

    def _create_pool(self) -> None:
        """The worker's process pool and its queues, before the worker polls them; those that
        exist are kept (the server started again on its database, as in an upgrade).
        """
        pool = self.work_pool
        try:
            response = requests.post(f"{self.url}/work_pools/",
                                     json={"name": pool, "type": WORKER_TYPE}, timeout=30)
            _created_or_exists(response)
            for queue in self.work_queues:
                response = requests.post(f"{self.url}/work_pools/{pool}/queues/",
                                         json={"name": queue}, timeout=30)
                _created_or_exists(response)
        except requests.RequestException as exc:
            msg = f"prefect-server: cannot create work pool {pool!r}: {exc}"
            raise ProvisionError(msg) from exc

    def entry(self) -> ToolEntry:
        """The API URL; whether a worker runs, and on which pool and queues; with an external
        database, where it is and a reference to its password: as the scenario asks.
        """
        expect: dict[str, object] = {
            "worker": self.settings.agent_enabled,
            "work_pool": self.settings.agent_work_pool_name,
            "work_queues": list(self.settings.agent_prefect_labels),
            "work_pool_type": WORKER_TYPE,
            "database": "postgresql",
        }
        endpoints, credentials = {"api": self.url}, {}
        if self.database is not None and not self.settings.postgresql_use_subchart:
            # The scenario's database, from its tfvars: never from this launcher's connection.
            expect["external_database"] = external_database_of(
                self.context.scenario, "postgresql_external_hostname", "postgresql_service_port",
                "postgresql_database", "postgresql_username")
            # Where this target serves the scenario's database host, as DNS would resolve it.
            endpoints["database"] = f"postgresql://{self.database.host}:{self.database.port}"
            credentials["database"] = self.context.secrets.ref(self.database.password_secret)
        return ToolEntry(endpoints=endpoints, credentials=credentials, expect=expect)

    def findings(self) -> list[str]:
        """Insecure defaults in effect."""
        return ["prefect: the API accepts requests without authentication (no basic auth is "
                "configured); anyone who reaches it can read and start flow runs"]

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """Prefect as installed where the server runs (not its `/admin/version`: the check
        compares the two).
        """
        versions = {"server": installed_versions(self.python["server"].python,
                                                 "prefect")["prefect"]}
        if self.worker_enabled:
            versions["worker"] = installed_versions(self.python["worker"].python,
                                                    "prefect")["prefect"]
        return versions


def _created_or_exists(response: requests.Response) -> None:
    if response.status_code != 409:  # "conflict": it exists already
        response.raise_for_status()
