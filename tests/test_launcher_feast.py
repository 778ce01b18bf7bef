"""Feast launcher: the store configuration the scenario implies, and a real feature server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests
import yaml

from harness.errors import BadInputError
from harness.launchers.base import Launcher
from harness.launchers.feast import FeastLauncher, FeastSettings
from harness.launchers.postgres import PostgresLauncher
from harness.launchers.redis import RedisLauncher
from harness.secrets import SecretStore
from tests import launching

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from harness.supervisor import Supervisor


def bound(root: Path, secrets: SecretStore | None = None,
          **tfvars: object) -> tuple[FeastLauncher, list[Launcher]]:
    """A Feast launcher bound to the PostgreSQL and Redis launchers it requires (returned too)."""
    secrets = secrets or SecretStore()
    feast = FeastLauncher(launching.context(root, "feast", secrets=secrets, **tfvars))
    kinds: dict[str, type[Launcher]] = {"postgres": PostgresLauncher, "redis": RedisLauncher}
    services = {name: kinds[name](launching.context(root, name, secrets=secrets))
                for name in feast.requires()}
    feast.bind(services)
    return feast, list(services.values())


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    running = launching.supervisor(tmp_path)
    yield running
    running.stop_all()


@pytest.mark.parametrize(("postgres", "redis", "registry", "online"), [
    (True, True, "sql", "redis"),
    (True, False, "sql", "postgres"),
    (False, True, "file", "redis"),
    (False, False, "file", "sqlite"),
])
def test_stores_follow_the_scenario(
    tmp_path: Path, postgres: bool, redis: bool, registry: str, online: str
) -> None:
    feast, _ = bound(tmp_path, feast_posgresql_enabled=postgres, feast_redis_enabled=redis)
    assert set(feast.requires()) == {n for n, on in (("postgres", postgres), ("redis", redis))
                                     if on}
    config = feast.feature_store()
    assert config["registry"]["registry_type"] == registry
    assert config["online_store"]["type"] == online
    assert config["offline_store"] == {"type": "file"}
    assert feast.entry().expect["online_store"] == online


def test_passwords_stay_out_of_the_configuration(tmp_path: Path) -> None:
    secrets = SecretStore()
    feast, _ = bound(tmp_path, secrets, feast_redis_use_password=True,
                  feast_redis_enabled=True, feast_posgresql_enabled=True)
    text = feast.entry().expect["feature_store_yaml"]
    assert "${FEAST_POSTGRES_PASSWORD}" in text
    assert "password=${FEAST_REDIS_PASSWORD}" in text
    for name in ("feast_postgresql_password", "feast_redis_password"):
        assert secrets.get(name) not in text
    assert set(feast.entry().credentials) == {"postgres_password", "redis_password"}


def test_settings_reject_a_bad_project(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="feast_project"):
        FeastLauncher(launching.context(tmp_path, "feast", feast_project="my-project"))
    settings = FeastSettings.from_scenario(launching.context(tmp_path, "feast").scenario)
    assert settings.online_store == "redis"


@pytest.mark.integration
def test_feature_server_on_sql_registry_and_redis_with_password(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    feast, services = bound(tmp_path, feast_redis_use_password=True)
    for launcher in [*services, feast]:
        launching.start(supervisor, launcher)
    url = feast.entry().endpoints["feature_server"]
    assert requests.get(f"{url}/health", timeout=10).status_code == 200
    written = yaml.safe_load((feast.context.state_dir / "repo" / "feature_store.yaml")
                             .read_text(encoding="utf-8"))
    assert written["registry"]["path"].startswith("postgresql+psycopg://feast@")
    assert written["registry"]["sqlalchemy_config_kwargs"]["connect_args"] == \
        {"password": "${FEAST_POSTGRES_PASSWORD}"}
    assert written["online_store"]["connection_string"].endswith(
        ",password=${FEAST_REDIS_PASSWORD}")
    assert feast.versions(feast.entry())["server"][:1].isdigit()
    assert [r.spec.name for r in supervisor.running] == \
        ["postgres", "redis", "feast-feature-server"]
