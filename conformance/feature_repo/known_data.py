"""The known rows the Feast checks write, and the answers they imply."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

BASE = datetime(2026, 1, 1, tzinfo=UTC)  # the known data's first event
WRITTEN = (1001, 1002, 1003)  # drivers whose rows fall inside the materialized window
LATE = 1004  # rows only after the window: never materialized
UNKNOWN = 9999  # no row at all
WINDOW = (BASE - timedelta(hours=1), BASE + timedelta(hours=3, minutes=30))


def value(driver: int, hour: int) -> tuple[float, int]:
    """The known (conv_rate, trips) of `driver` at `BASE + hour`."""
    return round((driver - 1000) * 0.1 + hour * 0.01, 4), (driver - 1000) * 100 + hour


def known_rows() -> list[dict[str, Any]]:
    """Hourly rows 0..3 of the written drivers, and one row at hour 5 of the late one."""
    rows = [(driver, hour) for driver in WRITTEN for hour in range(4)] + [(LATE, 5)]
    return [{"driver_id": d, "event_timestamp": BASE + timedelta(hours=h),
             "conv_rate": value(d, h)[0], "trips": value(d, h)[1]} for d, h in rows]


def expected_online(drivers: list[int]) -> dict[str, list[Any]]:
    """Latest values inside the window (hour 3); nothing for drivers never written."""
    latest = [value(d, 3) if d in WRITTEN else (None, None) for d in drivers]
    return {"driver_id": drivers, "conv_rate": [v[0] for v in latest],
            "trips": [v[1] for v in latest]}
