"""Faults of a running Feast deployment (feature server, PostgreSQL registry, Redis online
store), each caught by the checks that guard against it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from tests.faults.conftest import Started, started
from tests.faults.framework import assert_caught, run_check

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
