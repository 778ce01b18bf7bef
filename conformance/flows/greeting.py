"""A flow deployed from here through the work pool; the check finds its print in the logs."""

from __future__ import annotations

from prefect import flow


@flow(log_prints=True)
def greet(marker: str) -> str:
    """Print a line carrying `marker` (the check reads it back from the API) and return it."""
    print(f"conformance greeting {marker}")
    return marker.upper()
