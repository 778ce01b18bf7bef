"""Prefect's canaries, through its REST API with request bodies every 3.x server accepts (the
checks' client sends fields older servers refuse): a flow, a work pool and queue, a
deployment on them, a completed and a failed flow run, and the failed run's logs.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from harness.stack import Stack

_TIMEOUT_S = 30
_LOG_LINES = ("canary: loading data", "canary: step failed on purpose")


class _Gone(Exception):
    """The object does not exist (any more): its readings are left out, and count as lost."""


class PrefectCanaries:
    """Writes and reads Prefect's canaries at the API endpoint."""

    TOOL = "prefect"
    why_none = ""  # it always writes some, or fails saying why

    def __init__(self) -> None:
        self.flow_id = ""
        self.pool = ""
        self.queue = ""
        self.deployment_id = ""
        self.flow_runs: dict[str, str] = {}  # flow run id -> the state it was given

    def write(self, stack: Stack, label: str) -> dict[str, Any]:
        """Create the canaries; return the readings they must give back."""
        api = stack.tools[self.TOOL].endpoints["api"]
        expected: dict[str, Any] = {}
        flow = f"canary-flow-{label}"
        self.flow_id = _send(api, "post", "flows/", {"name": flow})["id"]
        expected[f"flow {flow} name"] = flow
        self.pool, self.queue = f"canary-pool-{label}", "canary-queue"
        _send(api, "post", "work_pools/", {"name": self.pool, "type": "process"})
        _send(api, "post", f"work_pools/{self.pool}/queues/", {"name": self.queue})
        expected[f"work pool {self.pool} type"] = "process"
        expected[f"work queue {self.pool}/{self.queue} name"] = self.queue
        deployment = {"name": "canary-deployment", "flow_id": self.flow_id,
                      "work_pool_name": self.pool, "work_queue_name": self.queue,
                      "entrypoint": "flows/canary.py:canary", "parameters": {"rows": 3},
                      "tags": ["canary"]}
        self.deployment_id = _send(api, "post", "deployments/", deployment)["id"]
        for key in ("name", "work_pool_name", "work_queue_name", "entrypoint", "parameters",
                    "tags"):
            expected[f"deployment canary-deployment {key}"] = deployment[key]
        for state in ("COMPLETED", "FAILED"):
            run_id = _send(api, "post", "flow_runs/", {
                "flow_id": self.flow_id, "name": f"canary-{state.lower()}",
                "parameters": {"rows": 3}})["id"]
            _send(api, "post", f"flow_runs/{run_id}/set_state", {
                "state": {"type": state, "message": f"canary {state.lower()}"}, "force": True})
            self.flow_runs[run_id] = state
            expected[f"flow run {run_id} name"] = f"canary-{state.lower()}"
            expected[f"flow run {run_id} state"] = state
            expected[f"flow run {run_id} state message"] = f"canary {state.lower()}"
            if state == "FAILED":
                now = datetime.now(UTC)
                # A millisecond apart: the read-back sorts by time, and must find this order.
                _send(api, "post", "logs/", [
                    {"name": "canary", "level": 40 if "failed" in line else 20,
                     "message": line, "flow_run_id": run_id,
                     "timestamp": (now + timedelta(milliseconds=index)).isoformat()}
                    for index, line in enumerate(_LOG_LINES)])
                expected[f"flow run {run_id} logs"] = list(_LOG_LINES)
        return expected

    def read(self, stack: Stack) -> dict[str, Any]:
        """Read every canary again; an object that is gone leaves its readings out."""
        api = stack.tools[self.TOOL].endpoints["api"]
        found: dict[str, Any] = {}
        with suppress(_Gone):
            flow = _send(api, "get", f"flows/{self.flow_id}")
            found[f"flow {flow['name']} name"] = flow["name"]
        with suppress(_Gone):
            pool = _send(api, "get", f"work_pools/{self.pool}")
            found[f"work pool {self.pool} type"] = pool["type"]
        with suppress(_Gone):
            queue = _send(api, "get", f"work_pools/{self.pool}/queues/{self.queue}")
            found[f"work queue {self.pool}/{self.queue} name"] = queue["name"]
        with suppress(_Gone):
            deployment = _send(api, "get", f"deployments/{self.deployment_id}")
            for key in ("name", "work_pool_name", "work_queue_name", "entrypoint",
                        "parameters", "tags"):
                found[f"deployment canary-deployment {key}"] = deployment.get(key)
        for run_id in self.flow_runs:
            with suppress(_Gone):
                run = _send(api, "get", f"flow_runs/{run_id}")
                found[f"flow run {run_id} name"] = run["name"]
                state = run.get("state") or {}
                found[f"flow run {run_id} state"] = state.get("type")
                found[f"flow run {run_id} state message"] = state.get("message")
            logs = _send(api, "post", "logs/filter", {
                "logs": {"flow_run_id": {"any_": [run_id]}}, "sort": "TIMESTAMP_ASC"})
            if logs:
                found[f"flow run {run_id} logs"] = [line["message"] for line in logs]
        return found


def _send(api: str, method: str, path: str, body: Any = None) -> Any:
    response = requests.request(method, f"{api}/{path}", json=body, timeout=_TIMEOUT_S)
    if response.status_code == 404:
        raise _Gone(path)
    response.raise_for_status()
    return response.json() if response.content else None
