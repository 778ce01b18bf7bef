"""A Dask client of the cluster's version, answering the checks one request at a time.

`harness.dask_client` runs it as `python serve.py SCHEDULER` in the Dask workers' environment:
distributed wants client, scheduler and workers of one version, and the harness's own is newer
than the charts'. One JSON request per line on stdin (`{"op": ..., "args": {...}}`), one JSON
answer per line on stdout (`{"ok": ...}` or `{"error": ..., "timeout": bool}`). It imports
Dask only, never the harness, and ends when stdin closes (its parent gone included).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import socket
import sys
from typing import Any

import dask.array as da
import dask.dataframe as dd
import pandas as pd
from distributed import Client

CONNECT_TIMEOUT_S = 30
OPS = frozenset({"identity", "workers", "environments", "places", "importable", "executed",
                 "arange_sum",
                 "ones_product_sum", "group_sums", "versions"})


def _environment(names: list[str]) -> tuple[dict[str, str | None], str, int]:
    return {name: os.environ.get(name) for name in names}, socket.gethostname(), os.getpid()


def _place() -> tuple[str, str]:
    return socket.gethostname(), sys.executable


def _importable(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _executed(dask_worker: Any) -> int:
    return int(dask_worker.state.executed_count)


class Agent:
    """The operations the Dask checks ask for, on one client connected on first use."""

    def __init__(self, scheduler: str) -> None:
        self.scheduler = scheduler
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        """The client, connected on first use (a failure is that request's answer)."""
        if self._client is None:
            self._client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
        return self._client

    def identity(self) -> dict[str, Any]:
        """The scheduler's type and the client's status."""
        info = self.client.scheduler_info()
        return {"type": info.get("type"), "status": self.client.status}

    def workers(self) -> dict[str, str]:
        """The workers connected now: address -> name."""
        # Newer clients list only a few workers unless asked for all; older ones list all.
        wanted = {"n_workers": -1} if "n_workers" in inspect.signature(
            self.client.scheduler_info).parameters else {}
        workers = self.client.scheduler_info(**wanted)["workers"]
        return {address: str(info.get("name")) for address, info in workers.items()}

    def environments(self, names: list[str]) -> dict[str, Any]:
        """Per worker: `names` in its environment, its host name and process id."""
        return self.client.run(_environment, names)

    def places(self) -> dict[str, Any]:
        """Per worker: its host name and interpreter."""
        return self.client.run(_place)

    def importable(self, module: str) -> dict[str, Any]:
        """Whether `module` imports on the scheduler, and on each worker."""
        return {"scheduler": self.client.run_on_scheduler(_importable, module),
                "workers": self.client.run(_importable, module)}

    def executed(self) -> dict[str, int]:
        """Per worker: how many tasks it has executed."""
        return self.client.run(_executed)

    def arange_sum(self, n: int, chunk: int, timeout_s: float) -> int:
        """The sum of 0..n-1 as a chunked dask.array, computed on the workers."""
        total = da.arange(n, chunks=chunk, dtype="int64").sum()
        return int(self.client.compute(total).result(timeout=timeout_s))

    def ones_product_sum(self, size: int, block: int, timeout_s: float) -> float:
        """The sum of ones @ ones.T for a blocked square of ones, computed on the workers."""
        ones = da.ones((size, size), chunks=(block, block))
        return float(self.client.compute((ones @ ones.T).sum()).result(timeout=timeout_s))

    def group_sums(self, keys: list[int], values: list[int], partitions: int,
                   timeout_s: float) -> dict[str, int]:
        """Sums of `values` per key over `partitions` dask.dataframe partitions."""
        frame = dd.from_pandas(pd.DataFrame({"key": keys, "value": values}),
                               npartitions=partitions)
        sums = self.client.compute(frame.groupby("key")["value"].sum()).result(
            timeout=timeout_s)
        return {str(key): int(value) for key, value in sums.items()}

    def versions(self) -> dict[str, Any]:
        """Package versions of client, scheduler and workers, as distributed reports them."""
        return self.client.get_versions(check=False)

    def close(self) -> None:
        """Close the client, if it connected."""
        if self._client is not None:
            self._client.close()


def main() -> None:
    """Answer requests from stdin until it closes."""
    # Dask's logs and warnings go to stderr; stdout carries the answers only.
    answers = sys.stdout
    sys.stdout = sys.stderr
    agent = Agent(sys.argv[1])
    try:
        for line in sys.stdin:
            request = json.loads(line)
            try:
                if request["op"] not in OPS:
                    raise ValueError(f"no operation {request['op']!r}")  # noqa: TRY301
                answer: dict[str, Any] = {
                    "ok": getattr(agent, request["op"])(**request.get("args", {}))}
            except Exception as exc:  # every failure is the check's to report
                answer = {"error": f"{type(exc).__name__}: {exc}",
                          "timeout": isinstance(exc, TimeoutError)}
            answers.write(json.dumps(answer, default=str) + "\n")
            answers.flush()
    finally:
        agent.close()


if __name__ == "__main__":
    main()
