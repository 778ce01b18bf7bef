"""Hard per-check ceilings, so that no check hangs a run: pytest-timeout enforces them.

Each covers a check with its first use of the tool's module fixtures, and is generous for a real
slow run: the clients' own timeouts and retry budgets decide first; the ceiling only stops what
those cannot (a call without a timeout deep in a library, a deadlock).
"""

from __future__ import annotations

CEILING_S: dict[str, float] = {
    "mlflow": 600.0,      # model logging and registry on a busy machine
    "dask": 300.0,
    "feast": 900.0,       # `feast apply` (300 s budget), materialization, the server's refresh
    "prefect": 900.0,     # a deployment run through the worker (240 s budget) plus its logs
    "jupyterhub": 900.0,  # spawns and stops of single-user servers (180 s budget each)
    "seldon": 1200.0,     # model registration, a deploy to Available (300 s), deletion
    "journey": 1200.0,    # every tool in turn, a flow run and a deploy among them
}
DEFAULT_CEILING_S = 900.0


def ceiling_s(check_id: str) -> float:
    """The ceiling of check `check_id` (`tool.name`), by its tool."""
    return CEILING_S.get(check_id.split(".", 1)[0], DEFAULT_CEILING_S)
