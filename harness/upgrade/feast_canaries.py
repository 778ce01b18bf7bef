"""Feast's canaries: registry objects applied with the SDK (an entity, a file source, a
feature view and a feature service) and the values materialized from that source into the
online store. After the upgrade the registry is read back through the SDK, and the online
values twice: from the online store through the SDK, and through the upgraded feature server
by the service's name, as its users ask for them. Once read, they leave the project.

Public API:
    FeastCanaries: writes and reads them
    feast_sdk(stack) -> a context manager giving the SDK client of the stack's project
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import requests

from harness.errors import WaitTimeoutError
from harness.upgrade.canaries import CanaryError
from harness.wait import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from feast import FeatureStore

    from harness.stack import Stack

_AT = datetime(2025, 6, 1, tzinfo=UTC)  # the rows' event time, inside the materialized window
_IDS = (1, 2, 3)
_TIMEOUT_S = 30
_SERVER_TIMEOUT_S = 60  # a feature server answers 404 until its registry has the service


def _row(canary: int) -> tuple[int, str]:
    """The known (count, note) of canary entity `canary`."""
    return canary * 10 + 1, f"note-{canary}"


class FeastCanaries:
    """Writes and reads Feast's canaries in the stack's project."""

    TOOL = "feast"
    why_none = ""  # it always writes some, or fails saying why

    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # kind -> the canary object's name

    def write(self, stack: Stack, label: str) -> dict[str, Any]:
        """Apply the objects, materialize their values; return the readings they must give."""
        import pandas as pd  # noqa: PLC0415
        from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType  # noqa: PLC0415
        from feast.types import Int64, String  # noqa: PLC0415

        suffix = re.sub(r"\W", "_", label)
        self.names = {kind: f"canary_{kind}_{suffix}"
                      for kind in ("entity", "source", "view", "service")}
        data = Path("data") / f"canary_{suffix}.parquet"
        with feast_sdk(stack) as (store, offline):
            (offline / data).parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame([{"canary_id": canary, "event_timestamp": _AT,
                           "count": _row(canary)[0], "note": _row(canary)[1]}
                          for canary in _IDS]).to_parquet(offline / data)
            entity = Entity(name=self.names["entity"], join_keys=["canary_id"],
                            value_type=ValueType.INT64, description="upgrade canary")
            source = FileSource(name=self.names["source"], path=str(data),
                                timestamp_field="event_timestamp")
            view = FeatureView(name=self.names["view"], entities=[entity],
                               ttl=timedelta(days=3650), online=True, source=source,
                               schema=[Field(name="count", dtype=Int64),
                                       Field(name="note", dtype=String)],
                               tags={"purpose": "upgrade canary"})
            service = FeatureService(name=self.names["service"], features=[view])
            try:  # quietly: the SDK prints its progress, which is not the run's
                with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
                    store.apply([entity, source, view, service])
                    store.materialize(start_date=_AT - timedelta(days=1),
                                      end_date=_AT + timedelta(days=1),
                                      feature_views=[self.names["view"]])
            except Exception as exc:  # Feast raises its own types and its stores' drivers'
                msg = f"feast: apply or materialize of the canaries: {exc}"
                raise CanaryError(msg) from exc
        expected: dict[str, Any] = {
            f"entity {self.names['entity']} join key": "canary_id",
            f"source {self.names['source']} path": str(data),
            f"feature view {self.names['view']} features": ["count:Int64", "note:String"],
            f"feature view {self.names['view']} tag purpose": "upgrade canary",
            f"feature service {self.names['service']} views": [self.names["view"]],
        }
        for canary in _IDS:
            for reading in ("online store", "feature server"):
                expected[f"{reading} canary_id={canary}"] = list(_row(canary))
        return expected

    def read(self, stack: Stack) -> dict[str, Any]:
        """Read every object and value again; what is gone is left out."""
        from feast.errors import FeastObjectNotFoundException  # noqa: PLC0415

        names = self.names
        found: dict[str, Any] = {}
        with feast_sdk(stack) as (store, _):
            store.refresh_registry()  # type: ignore[no-untyped-call]
            readers: dict[str, Callable[[], Any]] = {
                f"entity {names['entity']} join key":
                    lambda: store.get_entity(names["entity"]).join_key,
                f"source {names['source']} path":
                    lambda: store.get_data_source(names["source"]).path,  # type: ignore[attr-defined]
                f"feature view {names['view']} features":
                    lambda: [f"{f.name}:{f.dtype}" for f in
                             store.get_feature_view(names["view"]).features],
                f"feature view {names['view']} tag purpose":
                    lambda: store.get_feature_view(names["view"]).tags["purpose"],
                f"feature service {names['service']} views":
                    lambda: [p.name for p in
                             store.get_feature_service(names["service"]).feature_view_projections],
            }
            for reading, reader in readers.items():
                try:
                    found[reading] = reader()
                except (FeastObjectNotFoundException, KeyError):
                    continue
            try:
                online = store.get_online_features(
                    features=[f"{names['view']}:count", f"{names['view']}:note"],
                    entity_rows=[{"canary_id": canary} for canary in _IDS],
                ).to_dict()
            except FeastObjectNotFoundException:
                online = {}
            _put_values(found, "online store", online)
            server = stack.tools[self.TOOL].endpoints.get("feature_server")
            if server:
                _put_values(found, "feature server", _over_http(server, names["service"]))
            self._remove(store)
        return found

    def _remove(self, store: FeatureStore) -> None:
        """Take the canaries out of the project, once read, values in the online store too:
        the checks that follow own it (the journey materializes every view it holds, from
        paths in its own repository; `feast.online-store` counts the project's keys).
        """
        from feast.errors import FeastObjectNotFoundException  # noqa: PLC0415

        objects: list[Any] = []
        for get, kind in ((store.get_feature_service, "service"),
                          (store.get_feature_view, "view"),
                          (store.get_data_source, "source"),
                          (store.get_entity, "entity")):
            try:
                objects.append(get(self.names[kind]))
            except FeastObjectNotFoundException:  # lost: counted already
                continue
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            store.apply([], objects_to_delete=objects, partial=False)


def _put_values(found: dict[str, Any], reading: str, values: dict[str, list[Any]]) -> None:
    """`values` (feature name -> one value per canary id) as one reading per canary; an id
    whose values are all null (never written, or lost) is left out.
    """
    for index, canary in enumerate(_IDS):
        row = [(values.get(name) or [None] * len(_IDS))[index] for name in ("count", "note")]
        if any(item is not None for item in row):
            found[f"{reading} canary_id={canary}"] = row


def _over_http(server: str, service: str) -> dict[str, list[Any]]:
    """The service's values of the canary ids from the feature server; {} if it never knows
    the service.
    """
    seen: dict[str, list[Any]] = {}

    def answered() -> bool:
        response = requests.post(f"{server}/get-online-features", timeout=_TIMEOUT_S,
                                 json={"feature_service": service,
                                       "entities": {"canary_id": list(_IDS)}})
        if response.status_code != 200:  # 404/500 until its registry has the service
            return False
        payload = response.json()
        names = [name.split(":")[-1].split("__")[-1]
                 for name in payload["metadata"]["feature_names"]]
        seen.update({name: result["values"]
                     for name, result in zip(names, payload["results"], strict=True)})
        return True

    try:
        wait_until(answered, timeout_s=_SERVER_TIMEOUT_S, what="the feature server",
                   interval_s=1)
    except WaitTimeoutError:
        return {}
    return seen


@contextmanager
def feast_sdk(stack: Stack) -> Iterator[tuple[FeatureStore, Path]]:
    """An SDK client of the stack's `feature_store.yaml` that reads sources where the
    deployment's offline store keeps them (its directory, also returned), with the stores'
    passwords in the environment for the yaml's ${VARS} meanwhile.
    """
    from feast import FeatureStore  # noqa: PLC0415

    entry = stack.tools["feast"]
    env = {var: stack.secret("feast", name)
           for var, name in entry.expect["password_env"].items() if name in entry.credentials}
    saved = {var: os.environ.get(var) for var in env}
    os.environ.update(env)
    try:
        with tempfile.TemporaryDirectory(prefix="feast-canaries-") as config:
            # Where the offline store reads sources; on a cluster the SDK materializes from
            # the client's side, so a directory of this process does.
            url = entry.endpoints.get("offline_store")
            offline = Path(unquote(urlsplit(url).path)) if url else Path(config)
            yaml_file = Path(config) / "feature_store.yaml"
            yaml_file.write_text(entry.expect["feature_store_yaml"], encoding="utf-8")
            store = FeatureStore(repo_path=str(offline), fs_yaml_file=yaml_file)
            try:
                yield store, offline
            finally:
                _close(store)
    finally:  # the passwords leave the environment: later children must not inherit them
        for var, old in saved.items():
            if old is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = old


def _close(store: FeatureStore) -> None:
    """Close what the SDK keeps open in this process: PostgreSQL ends its smart shutdown only
    once no session is left, so pooled connections would hold the teardown until it kills the
    server. The SDK has no public close for them (`teardown` would drop the stores' data).
    """
    registry = getattr(store, "_registry", None)
    timer = getattr(registry, "registry_refresh_thread", None)
    if timer is not None:
        timer.cancel()
    for name in ("write_engine", "read_engine"):
        engine = getattr(registry, name, None)
        if engine is not None:
            engine.dispose()
    online = getattr(getattr(store, "_provider", None), "_online_store", None)
    for name in ("_conn_pool", "_conn"):
        connection = getattr(online, name, None)
        if connection is not None:
            connection.close()
            setattr(online, name, None)
