"""The journey's feature flow: raw trips aggregated per rider on Dask, written for Feast."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow


@flow(log_prints=True)
def rider_features(scheduler: str, out_dir: str, riders: int, seed: int,
                   event_time: str) -> int:
    """Aggregate seeded random trips per rider on the Dask cluster at `scheduler`; write the
    features (Feast's offline source) and a label per rider to `out_dir`; return the rows.
    """
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    from distributed import Client

    rng = np.random.default_rng(seed)
    trips = pd.DataFrame({"rider_id": rng.integers(0, riders, size=riders * 20),
                          "distance_km": rng.gamma(2.0, 3.0, size=riders * 20)})
    with Client(scheduler, timeout=30) as client:
        grouped = dd.from_pandas(trips, npartitions=4).groupby("rider_id")["distance_km"]
        features = client.compute(grouped.agg(["mean", "count"])).result()
    features = features.rename(columns={"mean": "avg_distance_km", "count": "trip_count"})
    features = features.reset_index().sort_values("rider_id")
    features["trip_count"] = features["trip_count"].astype("int64")
    features["event_timestamp"] = datetime.fromisoformat(event_time).astimezone(UTC)
    out = Path(out_dir)
    features.to_parquet(out / "rider_stats.parquet", index=False)
    # The label the model learns: a long-distance rider.
    median = float(features["avg_distance_km"].median())
    labels = features[["rider_id", "event_timestamp"]].copy()
    labels["long_distance"] = (features["avg_distance_km"] > median).astype("int64")
    labels.to_parquet(out / "labels.parquet", index=False)
    print(f"journey: wrote features of {len(features)} riders to {out}")
    return len(features)
