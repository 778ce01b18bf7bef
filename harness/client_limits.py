"""Timeouts and retry budgets of the checks' clients, set through each library's own settings.

The checks' pytest child gets these environment variables (names verified against the pinned
libraries), so no client waits out its library's default budget against a dead endpoint:
MLflow's default is 7 retries with exponential backoff (minutes per request), Prefect's 5.
A variable already set by the user wins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

CLIENT_LIMITS: dict[str, str] = {
    # MLflow's REST client (mlflow.utils.rest_utils): urllib3 retries, backoff, per-request timeout.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
    # Prefect's API client: retries of transient errors, and each request's timeout.
    "PREFECT_CLIENT_MAX_RETRIES": "2",
    "PREFECT_API_REQUEST_TIMEOUT": "60",
    # Dask comms (Client, DaskTaskRunner): give up connecting to a scheduler after this long.
    "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "20s",
    # libpq (psycopg, and SQLAlchemy under Feast's SQL registry): connect timeout in seconds.
    "PGCONNECT_TIMEOUT": "10",
}


def checks_environment(base: Mapping[str, str]) -> dict[str, str]:
    """`base` (the harness's environment) with the client limits it does not set itself."""
    return {**CLIENT_LIMITS, **base}
