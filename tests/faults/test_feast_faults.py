"""Faults of a running Feast deployment (feature server, PostgreSQL registry, Redis online
store, file offline store), each caught by the checks that guard against it.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from conformance import feature_repo
from conformance.feature_repo.known_data import WINDOW, known_rows
from harness.launchers.base import ProcessSpec, TaskSpec, free_port
from tests.faults.conftest import READY_TIMEOUT_S, Started, started
from tests.faults.framework import assert_caught, broken_copy, run_check, write_stack

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = [pytest.mark.faults, pytest.mark.integration]


@pytest.fixture(scope="module")
def feast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """The defaults scenario's Feast: feature server, registry in PostgreSQL, Redis."""
    with started(tmp_path_factory.mktemp("feast"), {"feast"}) as stack:
        yield stack


def test_online_store_that_loses_its_data(feast: Started) -> None:
    """An online store emptied as soon as it is written (a Redis that keeps nothing)."""
    import redis

    entry = feast.stack.tools["feast"]
    password = feast.stack.secret("feast", "redis_password") \
        if "redis_password" in entry.credentials else None
    stop = threading.Event()

    def flush_forever() -> None:
        with redis.Redis.from_url(entry.endpoints["online_store"], password=password) as client:
            while not stop.wait(0.05):
                client.flushall()

    flusher = threading.Thread(target=flush_forever, daemon=True)
    flusher.start()
    try:
        verdict = run_check(feast.stack_file, keyword="online or unwritten")
    finally:
        stop.set()
        flusher.join(timeout=10)
    for check in ("feast.online-sdk", "feast.online-http", "feast.unknown-entity"):
        assert_caught(verdict, f"{check}:emptied-online-store", check,
                      says=("online features", "expected {"))
    assert_caught(verdict, "feast.online-store:emptied-online-store", "feast.online-store",
                  says=("Redis keys of project", "expected 3, got 0"))


def test_offline_store_that_loses_its_data(feast: Started) -> None:
    """An offline store whose data file is emptied as soon as it is written."""
    import pandas as pd

    data = Path(unquote(urlsplit(feast.stack.tools["feast"].endpoints["offline_store"]).path))
    source = data / "data" / "driver_stats.parquet"
    source.parent.mkdir(parents=True, exist_ok=True)
    empty = data / "empty.parquet"
    pd.DataFrame(known_rows()).iloc[0:0].to_parquet(empty)
    stop = threading.Event()

    def empty_forever() -> None:
        while not stop.wait(0.05):
            shutil.copyfile(empty, data / "emptied.parquet")
            os.replace(data / "emptied.parquet", source)  # whole, never half-written

    emptier = threading.Thread(target=empty_forever, daemon=True)
    emptier.start()
    try:
        verdict = run_check(feast.stack_file, keyword="point_in_time")
    finally:
        stop.set()
        emptier.join(timeout=10)
    assert_caught(verdict, "feast.historical:emptied-offline-store", "feast.historical",
                  says=("rows joined to a value from the offline store at", "expected {",
                        "got {}"))


def test_stores_of_other_versions_than_the_target_claims(feast: Started) -> None:
    """A Redis and a PostgreSQL that are not the versions the target says it runs (as when
    an image other than the claimed one was pulled): each reports its own version.
    """
    broken = broken_copy(feast.stack)
    for store in ("redis", "postgres"):
        assert store in broken.tools, f"the Feast stack lists no {store}"
        broken.tools[store].versions["server"] = "1.0.0"
    verdict = run_check(write_stack(broken, feast.directory, "other-versions"),
                        keyword="versions")
    assert_caught(verdict, "feast.versions:stores-of-other-versions", "feast.versions",
                  says=("Redis online store reports", "registry's PostgreSQL reports",
                        "but the target says it runs 1.0.0"))


@pytest.fixture(scope="module")
def other_repository_server(feast: Started, tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of a real `feast serve` of another repository: the checks' definitions under
    another project, with its own registry and online store, holding other values.
    """
    import pandas as pd

    repo = tmp_path_factory.mktemp("other_feature_repo")
    shutil.copy(Path(feature_repo.__file__).parent / "definitions.py", repo)
    (repo / "data").mkdir()
    other = pd.DataFrame(known_rows())
    other["trips"] += 7  # values no run of the checks writes
    other.to_parquet(repo / "data" / "driver_stats.parquet")
    config = {"project": "another_repository", "provider": "local",
              "registry": {"registry_type": "file", "path": str(repo / "registry.db")},
              "online_store": {"type": "sqlite", "path": str(repo / "online.db")},
              "offline_store": {"type": "file"}, "entity_key_serialization_version": 3}
    (repo / "feature_store.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    feast_cli = [sys.executable, "-m", "feast.cli.cli", "--chdir", str(repo)]
    feast.supervisor.run_task(TaskSpec(name="other-feast-apply", argv=[*feast_cli, "apply"],
                                       timeout_s=float(READY_TIMEOUT_S)))
    start, end = (moment.isoformat() for moment in WINDOW)
    feast.supervisor.run_task(TaskSpec(name="other-feast-materialize",
                                       argv=[*feast_cli, "materialize", start, end],
                                       timeout_s=float(READY_TIMEOUT_S)))
    port = free_port()
    # Stopped with the stack's other processes when the module's Feast goes down.
    feast.supervisor.start(ProcessSpec(
        name="other-feature-server", health_url=f"http://127.0.0.1:{port}/health",
        argv=[*feast_cli, "serve", "--host", "127.0.0.1", "--port", str(port),
              "--no-access-log"], timeout_s=float(READY_TIMEOUT_S)))
    return f"http://127.0.0.1:{port}"


def test_feature_server_of_another_repository(feast: Started, other_repository_server: str
                                              ) -> None:
    """The stack's feature server endpoint points at a Feast serving another repository."""
    stack = broken_copy(feast.stack)
    stack.tools["feast"].endpoints["feature_server"] = other_repository_server
    verdict = run_check(write_stack(stack, feast.directory, "other-repository"),
                        keyword="online or unwritten")
    assert_caught(verdict, "feast.online-http:other-repository-server", "feast.online-http",
                  says=("online features (HTTP)", "expected {", "'trips': [110, 210, 310]"))
    assert_caught(verdict, "feast.unknown-entity:other-repository-server",
                  "feast.unknown-entity", says=("(HTTP)", "expected {"))
