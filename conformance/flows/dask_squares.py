"""`prefect.dask-task-runner`'s flow: squares computed as Prefect tasks on a Dask cluster,
each answering with the worker it ran on.

Run as a script in the flows' environment (`harness.flow_env`): `python dask_squares.py
SCHEDULER COUNT`; it prints one line, `result <json>`, with its flow run's id and the results.
"""

from __future__ import annotations

import json
import sys

from prefect import flow, task


@task
def square(value: int) -> tuple[int, str]:
    """`value` squared, and the address of the Dask worker that computed it."""
    from distributed import get_worker

    return value * value, str(get_worker().address)


@flow
def squares(count: int) -> list[tuple[int, str]]:
    """`square` of 0..count-1, as tasks of the flow's task runner."""
    return [future.result() for future in square.map(range(count))]


if __name__ == "__main__":
    from prefect_dask import DaskTaskRunner

    scheduler, count = sys.argv[1], int(sys.argv[2])
    state = squares.with_options(task_runner=DaskTaskRunner(address=scheduler))(
        count, return_state=True)
    completed = state.is_completed()
    print("result " + json.dumps({"flow_run_id": str(state.state_details.flow_run_id),
                                  "state": state.type.value, "message": state.message,
                                  "results": state.result() if completed else None}))
