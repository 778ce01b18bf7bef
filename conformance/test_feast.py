"""Feast: registry, materialization, online reads (SDK and HTTP), point-in-time joins, stores."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest
import requests

from conformance.feature_repo.known_data import (
    BASE,
    LATE,
    UNKNOWN,
    WINDOW,
    WRITTEN,
    expected_online,
    known_rows,
    value,
)
from harness.checks import expect, expect_equal
from harness.errors import WaitTimeoutError
from harness.versioning import version_problems
from harness.wait import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from feast import FeatureStore

    from harness.stack import Stack

pytestmark = pytest.mark.feast
# The checks this module runs; collection fails unless they match its checks exactly.
CHECK_IDS = (
    "feast.apply",
    "feast.online-sdk",
    "feast.online-http",
    "feast.unknown-entity",
    "feast.historical",
    "feast.online-store",
    "feast.store-auth",
    "feast.versions",
)
REPO = Path(__file__).parent / "feature_repo"
FEATURES = ["driver_stats:conv_rate", "driver_stats:trips"]
DATA_PATH = "data/driver_stats.parquet"  # the path of definitions.py's source, relative
SERVER_TIMEOUT_S = 120  # the feature server sees new registry objects on its refresh


@pytest.fixture(scope="module")
def feast_entry(stack: Stack) -> Any:
    """Feast's Stack entry."""
    if "feast" not in stack.tools:
        pytest.skip("feast is not part of this stack")
    return stack.tools["feast"]


@pytest.fixture(scope="module")
def repo(stack: Stack, feast_entry: Any, tmp_path_factory: pytest.TempPathFactory
         ) -> Iterator[Path]:
    """A repository of `conformance/feature_repo` and the target's `feature_store.yaml`; the
    stores' passwords in the environment, where the yaml's ${VARS} find them.
    """
    path = tmp_path_factory.mktemp("feature_repo")
    shutil.copy(REPO / "definitions.py", path)
    (path / "feature_store.yaml").write_text(feast_entry.expect["feature_store_yaml"],
                                             encoding="utf-8")
    env = {var: stack.secret("feast", name)
           for var, name in feast_entry.expect["password_env"].items()
           if name in feast_entry.credentials}
    saved = {var: os.environ.get(var) for var in env}
    os.environ.update(env)
    try:
        yield path
    finally:
        for var, old in saved.items():
            os.environ.pop(var, None) if old is None else os.environ.update({var: old})


@pytest.fixture(scope="module")
def offline_data(feast_entry: Any, repo: Path) -> Path:
    """Where the deployment's file offline store reads the sources' relative paths (its
    `offline_store` endpoint; without one, the repository itself), the known rows written
    there at the path the registered source names.
    """
    import pandas as pd

    url = feast_entry.endpoints.get("offline_store")
    parts = urlsplit(url or "")
    if url and (parts.scheme != "file" or parts.netloc not in {"", "localhost"}):
        pytest.fail(f"feast: offline_store endpoint {url!r}: expected a local file:// URL "
                    "(the file offline store's directory)")
    path = Path(unquote(parts.path)) if url else repo
    (path / DATA_PATH).parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(known_rows()).to_parquet(path / DATA_PATH)
    return path


@pytest.fixture(scope="module")
def applied(repo: Path) -> subprocess.CompletedProcess[str]:
    """`feast apply` of the repository, run once; `feast.apply` judges it."""
    return subprocess.run([sys.executable, "-m", "feast.cli.cli", "--chdir", str(repo), "apply"],
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def store(repo: Path, offline_data: Path, applied: subprocess.CompletedProcess[str]
          ) -> FeatureStore:
    """An SDK client of the registered repository, with the stack's `feature_store.yaml`,
    that reads the sources' files where the deployment's offline store keeps them.
    """
    from feast import FeatureStore

    if applied.returncode != 0:
        pytest.skip("blocked: `feast apply` failed (see feast.apply)")
    return FeatureStore(repo_path=str(offline_data), fs_yaml_file=repo / "feature_store.yaml")


@pytest.fixture(scope="module")
def materialized(store: FeatureStore) -> FeatureStore:
    """The store after materializing the known window into the online store."""
    store.materialize(start_date=WINDOW[0], end_date=WINDOW[1])
    return store


def online_over_http(feast_entry: Any, drivers: list[int]) -> dict[str, Any]:
    """POST /get-online-features for `drivers`, retried until the server knows the view.

    Returns `{"status", "body"}` and, once answered, `"result"`: values by feature name.
    """
    url = f"{feast_entry.endpoints['feature_server']}/get-online-features"
    body = {"features": FEATURES, "entities": {"driver_id": drivers}}
    seen: dict[str, Any] = {}

    def answered() -> bool:
        response = requests.post(url, json=body, timeout=30)
        seen.update(status=response.status_code, body=response.text[:500])
        if response.status_code != 200:  # 404/500 until the server's registry refreshes
            return False
        payload = response.json()
        # Results are not in request order: index them by the names in the metadata.
        names = payload["metadata"]["feature_names"]
        seen["result"] = {n: r["values"] for n, r in zip(names, payload["results"], strict=True)}
        return True

    with contextlib.suppress(WaitTimeoutError):
        wait_until(answered, timeout_s=SERVER_TIMEOUT_S, what="the feature server")
    return seen


@pytest.mark.check("feast.apply")
def test_apply_registers_exactly_the_objects(
    repo: Path, applied: subprocess.CompletedProcess[str],
    record_version: Callable[[str, str, str], None],
) -> None:
    """`feast apply` registers the repo's objects; listing them back returns exactly them."""
    import feast

    record_version("feast", "client", feast.__version__)
    expect("feast", applied.returncode == 0, "`feast apply` to succeed",
           (applied.stderr or applied.stdout)[-1500:])
    store = feast.FeatureStore(repo_path=str(repo))
    expect_equal("feast", "entities", ["driver"], sorted(e.name for e in store.list_entities()))
    expect_equal("feast", "data sources", ["driver_stats_source"],
                 sorted(s.name for s in store.list_data_sources()))
    expect_equal("feast", "feature views", ["driver_stats"],
                 sorted(v.name for v in store.list_feature_views()))
    expect_equal("feast", "feature services", ["driver_service"],
                 sorted(s.name for s in store.list_feature_services()))
    view = store.get_feature_view("driver_stats")
    expect_equal("feast", "schema of driver_stats", {"conv_rate": "Float64", "trips": "Int64"},
                 {f.name: str(f.dtype) for f in view.features})
    expect_equal("feast", "ttl of driver_stats", timedelta(days=1), view.ttl)


@pytest.mark.check("feast.online-sdk")
def test_online_features_through_the_sdk(materialized: FeatureStore) -> None:
    """Materialized values read back through the SDK are exactly the latest in the window,
    for several entity keys.
    """
    drivers = list(WRITTEN)
    result = materialized.get_online_features(
        features=FEATURES, entity_rows=[{"driver_id": d} for d in drivers]).to_dict()
    expect_equal("feast", "online features (SDK)", expected_online(drivers), result)


@pytest.mark.check("feast.online-http")
def test_online_features_through_the_feature_server(
    feast_entry: Any, materialized: FeatureStore
) -> None:
    """The feature server's HTTP API returns the same values for the same entities."""
    if "feature_server" not in feast_entry.endpoints:
        pytest.skip("feast_online_serving_enabled = false: no feature server runs")
    drivers = list(WRITTEN)
    seen = online_over_http(feast_entry, drivers)
    expect("feast", "result" in seen, "a 200 answer from POST /get-online-features", seen)
    expect_equal("feast", "online features (HTTP)", expected_online(drivers), seen["result"])


@pytest.mark.check("feast.unknown-entity")
def test_unwritten_entities_read_as_nulls(feast_entry: Any, materialized: FeatureStore) -> None:
    """Entities never written (one with rows only after the window, one with none) read as
    nulls next to a written one, through the SDK and the feature server, not as an error.
    """
    drivers = [WRITTEN[0], LATE, UNKNOWN]
    result = materialized.get_online_features(
        features=FEATURES, entity_rows=[{"driver_id": d} for d in drivers]).to_dict()
    expect_equal("feast", "online features of unwritten entities (SDK)",
                 expected_online(drivers), result)
    if "feature_server" in feast_entry.endpoints:
        seen = online_over_http(feast_entry, drivers)
        expect_equal("feast", "POST /get-online-features status", 200, seen.get("status"))
        expect_equal("feast", "online features of unwritten entities (HTTP)",
                     expected_online(drivers), seen.get("result"))


@pytest.mark.check("feast.historical")
def test_point_in_time_join(store: FeatureStore, offline_data: Path) -> None:
    """Historical retrieval through the stack's configuration and registry, from the known
    rows in the deployment's offline store, joins each row to the latest value at or before
    its time, within the view's ttl; before any data, after the ttl and for unknown entities
    there is none.
    """
    import pandas as pd

    matched = {(1001, 1.5): value(1001, 1), (1002, 0.5): value(1002, 0),
               (1003, 3.0): value(1003, 3), (1003, 2.25): value(1003, 2)}
    unmatched = [(1001, -1.0), (1002, 3.0 + 48), (UNKNOWN, 1.0)]
    asked = [*matched, *unmatched]
    entity_df = pd.DataFrame({"driver_id": [d for d, _ in asked],
                              "event_timestamp": [BASE + timedelta(hours=h) for _, h in asked]})
    frame = store.get_historical_features(entity_df=entity_df, features=FEATURES).to_df()
    got: dict[tuple[int, float], tuple[float, int] | None] = {}
    for row in frame.to_dict("records"):
        hours = (row["event_timestamp"] - BASE) / timedelta(hours=1)
        rate, trips = row["conv_rate"], row["trips"]
        missing = rate is None or (isinstance(rate, float) and math.isnan(rate))
        got[(int(row["driver_id"]), hours)] = None if missing else (float(rate), int(trips))
    expect_equal("feast", f"rows joined to a value from the offline store at {offline_data}",
                 matched,
                 {key: found for key, found in got.items() if found is not None})
    # SQL offline stores keep such rows with nulls; the file store drops those of entities
    # that have data outside the window. Either way, none may carry a value.
    expect_equal("feast", "values for rows without a match", [],
                 [key for key in unmatched if got.get(key) is not None])
    expect("feast", set(got) <= set(asked), "only the asked rows back", sorted(got))


@pytest.mark.check("feast.online-store")
def test_online_store_is_the_one_asked_for(
    stack: Stack, feast_entry: Any, materialized: FeatureStore
) -> None:
    """The online store in use is the scenario's, and it holds one record per written entity."""
    kind = feast_entry.expect["online_store"]
    config = materialized.config.online_store
    expect_equal("feast", "online store type in the configuration", kind, config.type)
    project = feast_entry.expect["project"]
    if kind == "redis":
        import redis

        password = stack.secret("feast", "redis_password") \
            if "redis_password" in feast_entry.credentials else None
        with redis.Redis.from_url(feast_entry.endpoints["online_store"], password=password,
                                  socket_connect_timeout=10, socket_timeout=30) as client:
            # Feast's Redis keys are the serialized entity key followed by the project name.
            keys = [k for k in client.scan_iter(count=1000) if k.endswith(project.encode())]
        expect_equal("feast", f"Redis keys of project {project!r}", len(WRITTEN), len(keys))
        return
    table = f"{project}_driver_stats"
    if kind == "postgres":
        import psycopg

        with psycopg.connect(host=config.host, port=config.port, dbname=config.database,
                             user=config.user, password=config.password,
                             connect_timeout=10) as connection:
            row = connection.execute(
                f'SELECT count(DISTINCT entity_key) FROM "{table}"').fetchone()  # noqa: S608
    else:
        import sqlite3

        with contextlib.closing(sqlite3.connect(config.path)) as connection:
            row = connection.execute(
                f'SELECT count(DISTINCT entity_key) FROM "{table}"').fetchone()  # noqa: S608
    expect_equal("feast", f"entities in the {kind} online store", len(WRITTEN),
                 row[0] if row else None)


@pytest.mark.check("feast.store-auth")
def test_stores_refuse_wrong_credentials(feast_entry: Any) -> None:
    """The stores that have a password refuse a client without it or with a wrong one."""
    import yaml

    config = yaml.safe_load(feast_entry.expect["feature_store_yaml"])
    registry = str(config["registry"]["path"])
    checked = []
    if registry.startswith("postgresql"):
        import psycopg

        refused = False
        try:  # the registry's URL holds no password: the driver gets it apart, as here
            psycopg.connect(registry.replace("postgresql+psycopg://", "postgresql://"),
                            password="wrong-password", connect_timeout=10).close()  # noqa: S106
        except psycopg.OperationalError as exc:
            refused = "password authentication failed" in str(exc)
        expect("feast", refused, "the registry's PostgreSQL to refuse a wrong password")
        checked.append("postgres")
    if "redis_password" in feast_entry.credentials:
        import redis

        try:
            with redis.Redis.from_url(feast_entry.endpoints["online_store"],
                                      socket_connect_timeout=10, socket_timeout=30) as anonymous:
                anonymous.get("any-key")
            refused = False
        except redis.AuthenticationError:
            refused = True
        expect("feast", refused, "the Redis online store to refuse a client without password")
        checked.append("redis")
    if not checked:
        pytest.skip("no store of this scenario has a password (file registry, Redis without "
                    "feast_redis_use_password)")


@pytest.mark.check("feast.versions")
def test_versions(
    stack: Stack, feast_entry: Any, repo: Path, record_version: Callable[[str, str, str], None]
) -> None:
    """The feature server's Feast is of the client library's series (0.x: the same minor; the
    client writes the registry the server reads). The server reports no version, so its
    version is the target's claim. The stores report theirs, read now over their own
    connections: each must be the release the target says it runs.
    """
    import feast
    import yaml

    problems = []
    claimed = feast_entry.versions.get("server")
    if claimed:
        record_version("feast", "server", claimed)
        problems += version_problems("feature server", claimed, client=feast.__version__)
    if feast_entry.endpoints.get("online_store", "").startswith("redis://"):
        import redis

        password = stack.secret("feast", "redis_password") \
            if "redis_password" in feast_entry.credentials else None
        with redis.Redis.from_url(feast_entry.endpoints["online_store"], password=password,
                                  socket_connect_timeout=10, socket_timeout=10) as client:
            reported = str(client.info("server")["redis_version"])
        record_version("redis", "server", reported)
        problems += version_problems("Redis online store", reported,
                                     claimed=_claimed(stack, "redis"))
    registry = str(yaml.safe_load(feast_entry.expect["feature_store_yaml"])["registry"]["path"])
    if registry.startswith("postgresql"):
        import psycopg

        # The registry's URL holds no password (Feast hands it to the driver on its own).
        url = os.path.expandvars(registry).replace("postgresql+psycopg://", "postgresql://")
        password = stack.secret("feast", "postgres_password") \
            if "postgres_password" in feast_entry.credentials else None
        with psycopg.connect(url, password=password, connect_timeout=10) as connection:
            row = connection.execute("SHOW server_version").fetchone()
        reported = str(row[0]).split()[0] if row else ""
        record_version("postgres", "server", reported)
        problems += version_problems("registry's PostgreSQL", reported,
                                     claimed=_claimed(stack, "postgres"))
    if problems:
        raise AssertionError("feast: " + "; ".join(problems))


def _claimed(stack: Stack, tool: str) -> str | None:
    """The version the target says `tool`'s server runs, when the stack lists the tool."""
    entry = stack.tools.get(tool)
    return entry.versions.get("server") if entry else None
