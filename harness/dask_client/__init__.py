"""The checks' Dask client, at the version of the cluster it checks.

distributed wants client, scheduler and workers of one version, and a chart's Dask is older
than the harness's. So the checks' client runs where a user's would, in an environment of the
workers' version (as a notebook image built for that cluster): `serve.py` in a child process
of that environment, asked one request at a time. What the checks compare it with (the
closed-form answers, pandas' own group sums, the processes' environments) is read here, in
the harness.

Public API:
    running_version(scheduler) -> the distributed the workers run, read through the scheduler
    workers_version(stack) -> that, else the target's claim
    client_python(stack) -> the environment of that version (built on first use)
    DaskClient(python, scheduler, log) -> a context manager; `.ask(op, **args)` answers
    DaskClientError: the client answered with an error
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import json
import queue
import subprocess
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from harness.launchers._server_env import built_now, component_stages
from harness.launchers.base import PythonEnv

if TYPE_CHECKING:
    from types import TracebackType

    from harness.stack import Stack

SERVE = Path(__file__).with_name("serve.py")
# An answer later than this is a client that hangs; computations carry their own, shorter one.
ANSWER_TIMEOUT_S = 240.0
CLOSE_TIMEOUT_S = 15.0
CONNECT_TIMEOUT_S = 10.0


class DaskClientError(Exception):
    """The client answered a request with an error (it could not connect, a task failed)."""


def running_version(scheduler: str) -> str | None:
    """`distributed` as the workers connected to `scheduler` report it (the scheduler's own
    when they disagree or none is connected), asked through the scheduler's RPC, which older
    and newer releases speak alike; None when it does not answer.
    """
    from distributed.core import rpc  # noqa: PLC0415 - heavy; only when Dask is checked

    async def ask() -> tuple[str, set[str]]:
        async with rpc(scheduler, timeout=CONNECT_TIMEOUT_S) as connected:  # type: ignore[no-untyped-call]
            own = await asyncio.wait_for(connected.versions(packages=[]), CONNECT_TIMEOUT_S)
            workers = await asyncio.wait_for(
                connected.broadcast(msg={"op": "versions", "packages": []}), CONNECT_TIMEOUT_S)
        return (str(own["packages"]["distributed"]),
                {str(found["packages"]["distributed"]) for found in workers.values()})

    try:
        scheduler_version, worker_versions = asyncio.run(ask())
    except Exception:  # unreachable, or not a scheduler: the checks say so
        return None
    return worker_versions.pop() if len(worker_versions) == 1 else scheduler_version


def workers_version(stack: Stack) -> str | None:
    """The one `distributed` the stack's Dask workers run: as they report it
    (`running_version`), else as the target says; None where neither names one version.
    """
    entry = stack.tools["dask"]
    version = running_version(entry.endpoints["scheduler"]) or \
        entry.versions.get("workers", "")
    return version if version and "," not in version else None


def client_python(stack: Stack) -> PythonEnv:
    """The environment the checks' Dask client runs: of the workers' `distributed`
    (`workers_version`), built with uv on first use as the chart's image is (on the local
    target, the one the workers run); the harness's own where that is its version, or nothing
    names one.

    Raises:
        ProvisionError: the environment could not be built; the message quotes uv.
    """
    version = workers_version(stack)
    if version is None or version == importlib.metadata.version("distributed"):
        return PythonEnv()
    return built_now(component_stages("dask", "workers", version, None))


class DaskClient:
    """A Dask client in a child process of `python`, connected to `scheduler` on first use;
    its own log (Dask's messages) goes to `log`.
    """

    def __init__(self, python: PythonEnv, scheduler: str, log: Path) -> None:
        self.python = python
        self.scheduler = scheduler
        self.log = log
        self._process: subprocess.Popen[str] | None = None
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._unanswered = ""  # a request that got no answer: a late one would be misread

    def __enter__(self) -> DaskClient:
        with self.log.open("a", encoding="utf-8") as log:
            self._process = subprocess.Popen(
                [str(self.python.python), str(SERVE), self.scheduler], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=log, text=True)
        threading.Thread(target=self._read, args=(self._process.stdout,), daemon=True).start()
        return self

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._answers.put(line)
        self._answers.put(None)  # it exited

    def ask(self, op: str, **args: Any) -> Any:
        """What the client answers to `op` with `args`.

        Raises:
            DaskClientError: it answered with an error, or exited (its log's tail quoted).
            TimeoutError: a computation timed out there, or no answer came in time.
        """
        process = self._process
        assert process is not None, "use it as a context manager"
        assert process.stdin is not None
        if self._unanswered:
            msg = f"the Dask client has not answered {self._unanswered!r}; not asked {op!r}"
            raise DaskClientError(msg)
        try:
            process.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
            process.stdin.flush()
            line = self._answers.get(timeout=ANSWER_TIMEOUT_S)
        except queue.Empty:
            self._unanswered = op
            msg = f"dask client: no answer to {op!r} within {ANSWER_TIMEOUT_S:g}s"
            raise TimeoutError(msg) from None
        except BrokenPipeError:
            line = None
        if line is None:
            try:
                code: int | None = process.wait(timeout=CLOSE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                code = None
            raise DaskClientError(f"the Dask client exited ({code}): {self._tail()}")
        answer = json.loads(line)
        if "error" in answer:
            if answer.get("timeout"):
                raise TimeoutError(f"dask client ({op}): {answer['error']}")
            raise DaskClientError(f"dask client ({op}): {answer['error']}")
        return answer["ok"]

    def _tail(self) -> str:
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-5:])

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        process = self._process
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()  # it ends at the end of its input
        try:
            process.wait(timeout=CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
