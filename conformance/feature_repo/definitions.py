"""The Feast objects the checks register: an entity, a file source, a feature view, a service."""

from __future__ import annotations

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

# The check writes this file (relative to the repo) with known values before `feast apply`.
DATA_PATH = "data/driver_stats.parquet"

driver = Entity(name="driver", join_keys=["driver_id"], value_type=ValueType.INT64,
                description="A driver, by id")

driver_stats_source = FileSource(name="driver_stats_source", path=DATA_PATH,
                                 timestamp_field="event_timestamp")

driver_stats = FeatureView(
    name="driver_stats",
    entities=[driver],
    ttl=timedelta(days=1),  # a row older than this is no answer in a point-in-time join
    schema=[Field(name="conv_rate", dtype=Float64), Field(name="trips", dtype=Int64)],
    online=True,
    source=driver_stats_source,
)

driver_service = FeatureService(name="driver_service", features=[driver_stats])
