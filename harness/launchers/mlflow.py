"""MLflow tracking server and model registry: `mlflow server` on SQLite, or on the scenario's
external PostgreSQL (`db_host`) as the chart's `backendStore.postgres`.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from harness.launchers._database import external_database_of
from harness.launchers._installed import installed_versions
from harness.launchers._server_env import server_python
from harness.launchers.base import Launcher, ProcessSpec, Stage, TaskSpec, free_port
from harness.settings import MlflowSettings
from harness.stack import ToolEntry

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from harness.launchers.base import LaunchContext
    from harness.launchers.postgres import Database, PostgresLauncher

# What the chart's `mlflow-db-migration` init container runs (its ConfigMap's migrations.py):
# create the tables of an empty database, then migrate to this version's schema. (`mlflow db
# upgrade` alone fails on an empty database before MLflow 3.x's later releases.)
_DB_UPGRADE = ("import os; from mlflow.store.db import utils; "
               "utils._initialize_tables(utils.create_sqlalchemy_engine_with_retry("
               "os.environ['MLFLOW_BACKEND_STORE_URI']))")
PASSWORD_SECRET = "db_password"  # noqa: S105 - the root variable's name, not its value


class MlflowLauncher(Launcher):
    """One `mlflow server` that serves artifacts itself (`mlflow-artifacts:/`)."""

    NAME = "mlflow"

    def __init__(self, context: LaunchContext) -> None:
        super().__init__(context)
        # What the checks expect comes from the scenario; what runs, from the chart's values.
        self.settings = MlflowSettings.from_scenario(context.scenario)
        values = context.values
        self.artifact_root = str(values.get("mlflow", "artifactRoot.defaultArtifactRoot", ""))
        self.external_database = bool(values.get("mlflow", "backendStore.postgres.enabled"))
        self.database_name = str(values.get("mlflow", "backendStore.postgres.database", ""))
        self.database_user = str(values.get("mlflow", "backendStore.postgres.user", ""))
        # The chart's URL is `postgresql+<driver>://`, plain `postgresql://` by default.
        self.driver = str(values.get("mlflow", "backendStore.postgres.driver", "") or "")
        # The chart migrates the schema before the server starts only with a database backend
        # (its own PostgreSQL, which the local SQLite file plays, or an external one).
        self.migrate = bool(values.get("mlflow", "backendStore.databaseMigration")) and (
            self.external_database or bool(values.get("mlflow", "postgresql.enabled")))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database: Database | None = None
        self.python = context.python  # until processes() has the chart version's environment

    def requires(self) -> tuple[str, ...]:
        """PostgreSQL when the chart's backend store is an external PostgreSQL."""
        return ("postgres",) if self.external_database else ()

    def bind(self, required: Mapping[str, Launcher]) -> None:
        """Ask for the external database the chart's `backendStore.postgres` names, with
        `db_password`.
        """
        if "postgres" in required:
            postgres: PostgresLauncher = required["postgres"]  # type: ignore[assignment]
            self.database = postgres.database(self.database_name, self.database_user,
                                              PASSWORD_SECRET, external=True)

    def artifact_destination(self, root: str) -> str:
        """Where artifacts under `root` land: a remote URI as given; a pod path mapped into the
        run's state.
        """
        if urlparse(root).scheme not in {"", "file"}:
            return root
        # In the pod `default_artifact_root` is a path in the container's filesystem; here the
        # run's state directory plays that filesystem, so nothing is written outside the run.
        path = PurePosixPath(urlparse(root).path)
        return str(self.context.state_dir / "rootfs" / path.relative_to(path.anchor))

    def processes(self) -> Iterator[Stage]:
        """Yield the build of MLflow's environment at the chart's version (once), then the
        tracking server.
        """
        self.python = yield from server_python(self.context, self.NAME, "server")
        yield from self.server_stages()

    def backend_store(self, driver: str | None = None) -> str:
        """The backend store's SQLAlchemy URL (password included: never logged), with the
        chart's `backendStore.postgres.driver` (empty: SQLAlchemy's default, psycopg2), or
        `driver`.
        """
        if self.database is None:
            return f"sqlite:///{self.context.state_dir / 'mlflow.db'}"
        chosen = self.driver if driver is None else driver
        return self.database.url(self._password, f"postgresql+{chosen}" if chosen
                                 else "postgresql")

    def schema_store(self) -> str:
        """The backend store as the harness reads it (its own driver, psycopg)."""
        return self.backend_store("psycopg")

    def server_stages(self) -> Iterator[Stage]:
        """Yield the schema migration (when the chart runs it) and the tracking server, from
        `self.python`.
        """
        destination = self.artifact_destination(self.artifact_root)
        if "://" not in destination:
            Path(destination).mkdir(parents=True, exist_ok=True)
        if self.database is not None:
            self.database.check_login("mlflow", self._password)
        backend_store = self.backend_store()
        if self.migrate:
            # The chart's `mlflow-db-migration` init container, with the store's URL (it may
            # hold a password) from the environment, never from argv.
            yield TaskSpec(
                name="mlflow-db-upgrade",
                argv=[str(self.python.python), "-c", _DB_UPGRADE],
                env={"MLFLOW_BACKEND_STORE_URI": backend_store},
                timeout_s=self.context.timeout_s("mlflow"),
            )
        yield ProcessSpec(
            name="mlflow",
            argv=self.python.module(
                "mlflow", "server",
                "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                "--serve-artifacts", "--artifacts-destination", destination,
            ),
            # The store's URL may hold a password: it goes in the environment, never in argv.
            # Background job execution costs ~1 GB and is not under test.
            env={"MLFLOW_BACKEND_STORE_URI": backend_store,
                 "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            health_url=f"{self.url}/health",
            timeout_s=self.context.timeout_s("mlflow"),
        )

    @property
    def _password(self) -> str:
        return self.context.secrets.get(PASSWORD_SECRET)

    def entry(self) -> ToolEntry:
        """Tracking URI; the artifact destination, the backend store and its database as the
        scenario asks for them (the connection's host and port are the run's own server).
        """
        settings = self.settings
        expect: dict[str, object] = {
            "artifact_destination": self.artifact_destination(settings.default_artifact_root),
            "backend_store": "postgresql" if settings.external_database else "sqlite"}
        endpoints, credentials = {"tracking": self.url}, {}
        if settings.external_database:
            # The scenario's database, from its tfvars: never from this launcher's connection.
            expect["external_database"] = external_database_of(
                self.context.scenario, "db_host", "db_port", "database_name", "db_username")
            if self.database is not None:
                # Where this target serves the scenario's database host, as DNS would resolve it.
                endpoints["database"] = f"postgresql://{self.database.host}:{self.database.port}"
            credentials["database"] = self.context.secrets.ref(PASSWORD_SECRET)
        return ToolEntry(endpoints=endpoints, credentials=credentials, expect=expect)

    def findings(self) -> list[str]:
        """Defaults in effect that lose data or lock other tools out, on a cluster."""
        if not self.settings.artifacts_in_pod:
            return []
        return [f"mlflow: default_artifact_root {self.settings.default_artifact_root!r} is a "
                "path inside the tracking server's container: on a cluster, artifacts (models "
                "among them) are lost when its pod is replaced, and Seldon's storage "
                "initializer cannot fetch a model from it; use an object store (s3://, gs://)"]

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """MLflow as installed where the server runs (not its `/version`: the check compares)."""
        return {"server": installed_versions(self.python.python, "mlflow")["mlflow"]}

