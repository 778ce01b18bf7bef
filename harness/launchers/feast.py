"""Feast: the `feature_store.yaml` the module renders for its servers, pointed at local stores,
and `feast serve` as the online server.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import yaml
from pydantic import Field

from harness.feature_store_yaml import Quoted, dump
from harness.launchers._installed import installed_versions
from harness.launchers._server_env import server_python
from harness.launchers.base import Launcher, ProcessSpec, Stage, free_port
from harness.settings import ToolSettings
from harness.stack import ToolEntry

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from harness.launchers.base import LaunchContext
    from harness.launchers.postgres import Database, PostgresLauncher
    from harness.launchers.redis import RedisLauncher

POSTGRES_SECRET = "feast_postgresql_password"  # noqa: S105 - a root variable's name
REDIS_SECRET = "feast_redis_password"  # noqa: S105 - the secret's name, not its value
# Feast expands ${VAR} in feature_store.yaml, so passwords stay out of the file, as in the
# Terraform module; each variable names the Stack credential that holds its value.
SERVER = "feast-feature-server"  # the online server's release
OTHER_SERVERS = ("feast-registry", "feast-offline")  # same configuration, other modes
PASSWORD_ENV = {"FEAST_POSTGRES_PASSWORD": "postgres_password",
                "FEAST_REDIS_PASSWORD": "redis_password"}


class FeastSettings(ToolSettings):
    """Feast's stores and servers, named after the root variables."""

    feast_project: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    feast_online_serving_enabled: bool
    feast_posgresql_enabled: bool
    feast_redis_enabled: bool
    feast_redis_use_password: bool

    @property
    def online_store(self) -> str:
        """`redis`, else `postgres` with PostgreSQL, else `sqlite` (the Terraform module's rule)."""
        if self.feast_redis_enabled:
            return "redis"
        return "postgres" if self.feast_posgresql_enabled else "sqlite"


class FeastLauncher(Launcher):
    """Writes the store configuration; runs the feature server when online serving is on."""

    NAME = "feast"
    REQUIRES = ("postgres", "redis")

    def __init__(self, context: LaunchContext) -> None:
        super().__init__(context)
        # What the checks expect comes from the scenario; what runs, from the servers' values:
        # the `feature_store.yaml` the module renders for them.
        self.settings = FeastSettings.from_scenario(context.scenario)
        self.serving = SERVER in context.values.releases
        self.store = self._rendered_store()
        self.port = free_port()
        self.database: Database | None = None
        self.redis: RedisLauncher | None = None
        self.python = context.python  # the feature server's, once its environment is built

    def _rendered_store(self) -> dict[str, Any]:
        values = self.context.values
        release = next((r for r in (SERVER, *OTHER_SERVERS) if r in values.releases), None)
        encoded = values.get(release, "feature_store_yaml_base64", "") if release else ""
        if not encoded:  # no server at all: a client-side repository of the scenario's project
            return {"project": self.settings.feast_project}
        store: dict[str, Any] = yaml.safe_load(base64.b64decode(encoded)) or {}
        return store

    def _store_type(self, store: str) -> str:
        kind = (self.store.get(store) or {})
        return str(kind.get("registry_type" if store == "registry" else "type", ""))

    def requires(self) -> tuple[str, ...]:
        """PostgreSQL and Redis where the rendered configuration uses them."""
        wanted = {"postgres": "postgres" in {self._store_type("online_store"),
                                             self._store_type("offline_store")}
                              or self._store_type("registry") == "sql",
                  "redis": self._store_type("online_store") == "redis"}
        return tuple(name for name in self.REQUIRES if wanted[name])

    def bind(self, required: Mapping[str, Launcher]) -> None:
        """Ask PostgreSQL for the database and user the configuration names; Redis for a
        password where its connection string has one.
        """
        if "postgres" in required:
            postgres: PostgresLauncher = required["postgres"]  # type: ignore[assignment]
            name, user = self._database()
            self.database = postgres.database(name, user, POSTGRES_SECRET)
        if "redis" in required:
            redis: RedisLauncher = required["redis"]  # type: ignore[assignment]
            online = self.store.get("online_store") or {}
            if ",password=" in str(online.get("connection_string", "")):
                redis.require_password(REDIS_SECRET)
            self.redis = redis

    def _database(self) -> tuple[str, str]:
        """Database and user of the SQL registry, else of the PostgreSQL online store."""
        registry = self.store.get("registry") or {}
        if self._store_type("registry") == "sql":
            url = urlparse(str(registry.get("path", "")))
            return url.path.lstrip("/"), url.username or ""
        online = self.store.get("online_store") or {}
        return str(online.get("database", "")), str(online.get("user", ""))

    def feature_store(self) -> dict[str, Any]:
        """The `feature_store.yaml` contents, passwords as `${VAR}` references."""
        state = self.context.state_dir
        registry: dict[str, Any] = {"registry_type": "file", "path": str(state / "registry.db")}
        online: dict[str, Any] = {"type": "sqlite", "path": str(state / "online_store.db")}
        if self.database is not None:
            db = self.database
            if self._store_type("registry") == "sql":
                # Feast pastes ${VAR} into the text as it is: inside a URL a password with `@:/#`
                # would break it, so the registry's password goes to the driver on its own.
                registry = {"registry_type": "sql", "path": db.url(None, "postgresql+psycopg"),
                            "sqlalchemy_config_kwargs": {
                                "echo": False,
                                "connect_args": {
                                    "password": Quoted("${FEAST_POSTGRES_PASSWORD}")}}}
            if self._store_type("online_store") == "postgres":
                online = {"type": "postgres", "host": db.host, "port": db.port,
                          "database": db.name, "db_schema": "public", "user": db.user,
                          "password": Quoted("${FEAST_POSTGRES_PASSWORD}"), "sslmode": "disable"}
        if self.redis is not None:
            password = ",password=${FEAST_REDIS_PASSWORD}" if self.redis.password_secret else ""
            online = {"type": "redis",
                      "connection_string": Quoted(f"127.0.0.1:{self.redis.port}{password}")}
        registry["cache_ttl_seconds"] = 60
        return {"project": self.store.get("project", ""), "provider": "local",
                "registry": registry, "online_store": online, "offline_store": {"type": "file"},
                "entity_key_serialization_version": 3}

    def _credentials(self) -> dict[str, str]:
        """Stack credential name -> secret name."""
        credentials = {}
        if self.database is not None:
            credentials["postgres_password"] = self.database.password_secret
        if self.redis is not None and self.redis.password_secret:
            credentials["redis_password"] = self.redis.password_secret
        return credentials

    def processes(self) -> Iterator[Stage]:
        """Write the repo's configuration; if online serving is enabled, yield the build of
        Feast's environment at the chart's version (once), then `feast serve`.
        """
        repo = self.context.state_dir / "repo"
        repo.mkdir(exist_ok=True)
        text = dump(self.feature_store())
        (repo / "feature_store.yaml").write_text(text, encoding="utf-8")
        if not self.serving:
            return
        self.python = yield from server_python(self.context, self.NAME, "server")
        by_credential = {v: k for k, v in PASSWORD_ENV.items()}
        env = {by_credential[name]: self.context.secrets.get(secret)
               for name, secret in self._credentials().items()}
        yield ProcessSpec(
            name="feast-feature-server",
            argv=self.python.module(
                "feast.cli.cli", "--chdir", str(repo), "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--no-access-log",
                "--registry_ttl_sec", "5"),  # the checks apply right after startup
            env=env,
            health_url=f"http://127.0.0.1:{self.port}/health",
            timeout_s=self.context.timeout_s("feast-feature-server"),
        )

    def entry(self) -> ToolEntry:
        """The feature server and online store; the client-side `feature_store.yaml` of what
        runs; the project and stores the scenario asks for.
        """
        endpoints: dict[str, str] = {}
        if self.serving:
            endpoints["feature_server"] = f"http://127.0.0.1:{self.port}"
        # The file offline store reads a source's relative path in the repository its servers
        # run from: that directory is where the deployment's offline data lives.
        endpoints["offline_store"] = (self.context.state_dir / "repo").as_uri()
        if self.redis is not None:
            endpoints["online_store"] = self.redis.url()
        elif self.database is not None and self._store_type("online_store") == "postgres":
            database = self.database
            endpoints["online_store"] = f"postgresql://127.0.0.1:{database.port}/{database.name}"
        credentials = {name: self.context.secrets.ref(secret)
                       for name, secret in self._credentials().items()}
        return ToolEntry(
            endpoints=endpoints, credentials=credentials,
            expect={"project": self.settings.feast_project,
                    "online_store": self.settings.online_store,
                    "registry": "sql" if self.settings.feast_posgresql_enabled else "file",
                    "feature_store_yaml": dump(self.feature_store()),
                    "password_env": PASSWORD_ENV},
        )

    def findings(self) -> list[str]:
        """Insecure defaults in effect."""
        found = []
        if self.settings.feast_online_serving_enabled:
            found.append("feast: the feature server accepts requests without authentication "
                         "(auth `no_auth`)")
        if self.settings.feast_redis_enabled and not self.settings.feast_redis_use_password:
            found.append("feast: the Redis online store accepts clients without a password "
                         "(feast_redis_use_password is false)")
        return found

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """Feast's version in the environment the feature server runs from (it has no
        version endpoint; `feast version` would spend seconds on imports).
        """
        return {"server": installed_versions(self.python.python, "feast")["feast"]}
