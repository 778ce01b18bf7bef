"""Process supervision for the local target: start, wait ready, watch, stop users first.

mirakuru does the low-level work (own session per server, HTTP readiness, killing every
process that carries the executor's marker); this module adds logs, death watch and pid files.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
import subprocess
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import psutil
from mirakuru import HTTPExecutor
from mirakuru.base import ENV_UUID, cleanup_subprocesses
from mirakuru.exceptions import (
    AlreadyRunning,
    ExecutorError,
    ProcessExitedWithError,
    TimeoutExpired,
)

from harness.errors import InterruptedRunError, ProvisionError, WaitTimeoutError
from harness.process_env import process_env

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping
    from pathlib import Path

    from harness.launchers.base import ProcessSpec, TaskSpec

LOG_TAIL_LINES = 15
_TASK_GRACE_S = 5.0  # a stopped task gets this long after SIGTERM before SIGKILL


class _Executor(HTTPExecutor):
    """HTTPExecutor that fails on any exit before readiness, and stops waiting on shutdown."""

    closing: threading.Event

    @property
    def envvars(self) -> dict[str, str]:
        # mirakuru starts from all of os.environ; a server gets only the allow-listed part
        # (the spec's own variables were given as `envvars`), plus mirakuru's process marker.
        return {**self._envvars, ENV_UUID: self._uuid}

    def stop(self, stop_signal: int | None = None,
             expected_returncode: int | None = None) -> _Executor:
        """Stop the process as mirakuru does, unless it already exited and was reaped.

        mirakuru signals the group whose id is the process's pid. Once the process is reaped
        (its `returncode` is set), that pid is free unless its group still has members: on a
        busy machine (pid_max 32768) it can be another process's by now, e.g. a server of a
        parallel run leading its own session, which would then get this server's stop signal
        (SIGKILL for the Prefect worker). The kernel keeps a pid from reuse while a group of
        that id has members, so: a live process with the pid is not ours and is left alone;
        otherwise the group's members, if any, are ours and are signalled.
        """
        process = self.process
        if process is None or process.returncode is None:
            super().stop(stop_signal, expected_returncode)
            return self
        sig = stop_signal if stop_signal is not None else self._stop_signal
        if not psutil.pid_exists(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)  # members left behind by the exited leader
        self._kill_all_kids(sig)  # descendants that carry this executor's marker
        self._clear_process()
        return self

    def check_subprocess(self) -> bool:
        if self.closing.is_set():
            raise InterruptedRunError(f"{self.command_parts[0]}: stopped while starting")
        if self.process is not None and self.process.poll() is not None:
            raise ProcessExitedWithError(self, self.process.returncode)
        return super().check_subprocess()


class _ProbeExecutor(_Executor):
    """The same, for a server with no HTTP health endpoint: ready when its probe says so."""

    probe: Callable[[], bool]

    def pre_start_check(self) -> bool:
        return False  # the port was free when chosen; the probe may need the server itself

    def after_start_check(self) -> bool:
        try:
            return self.probe()
        except Exception:  # a refused connection or a server still starting: not ready yet
            return False


@dataclass
class Running:
    """A started server."""

    spec: ProcessSpec
    executor: _Executor
    log_path: Path
    log_file: IO[bytes]
    ready_s: float = 0.0
    stopping: bool = False


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """Return the last `lines` lines of a log file, or a note that it is empty."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            tail = "".join(deque(handle, maxlen=lines)).rstrip()
    except OSError:
        return "(no log)"
    return tail or "(log is empty)"


class Supervisor:
    """Owns every server process of one run."""

    def __init__(self, log_dir: Path, pid_file: Path, on_death: Callable[[str], None],
                 redact: Callable[[str], str] = str) -> None:
        self.log_dir = log_dir
        self.pid_file = pid_file
        self.on_death = on_death
        self.redact = redact  # log tails quoted in messages: a server may log a secret
        self.failure: str | None = None
        self._running: list[Running] = []
        self._tasks: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, spec: ProcessSpec) -> Running:
        """Start `spec` and block until its health URL answers 2xx.

        Raises:
            ProvisionError: the process exited first; the message quotes its log.
            WaitTimeoutError: not ready within `spec.timeout_s`.
            InterruptedRunError: the supervisor is shutting down.

        """
        log_path = self.log_dir / f"{spec.name}.log"
        with self._lock:
            if self._closing.is_set():
                raise InterruptedRunError(f"{spec.name}: not started, the run is stopping")
            log_file = log_path.open("ab")
            # A probe-checked server still gets a (never requested) URL: HTTPExecutor wants one.
            executor = (_ProbeExecutor if spec.ready_check else _Executor)(
                spec.argv, url=spec.health_url or "http://127.0.0.1:1/", method="GET",
                timeout=spec.timeout_s, envvars=process_env(spec.env), request_timeout=5,
                sleep=0.2, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            )
            executor.closing = self._closing
            if isinstance(executor, _ProbeExecutor) and spec.ready_check is not None:
                executor.probe = spec.ready_check
            running = Running(spec, executor, log_path, log_file)
            self._running.append(running)
        self._await_start(running)
        return running

    def run_task(self, spec: TaskSpec) -> None:
        """Run one-shot command `spec` in its own session until it exits; output to its log.

        Raises:
            ProvisionError: it exited with a non-zero code; the message quotes its log.
            WaitTimeoutError: it did not finish within `spec.timeout_s`; it is killed.
            InterruptedRunError: the run is stopping; it is killed.

        """
        log_path = self.log_dir / f"{spec.name}.log"
        with self._lock, log_path.open("ab") as log_file:
            if self._closing.is_set():
                raise InterruptedRunError(f"{spec.name}: not started, the run is stopping")
            # Started under the lock: stop_all either sees it or it never starts.
            process = subprocess.Popen(
                spec.argv, env=_task_env(spec), stdin=subprocess.DEVNULL,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
            self._tasks.append(process)
        deadline = time.monotonic() + spec.timeout_s
        try:
            while process.poll() is None:
                if self._closing.is_set():
                    raise InterruptedRunError(f"{spec.name}: stopped while running")
                if time.monotonic() > deadline:
                    msg = f"{spec.name} did not finish within {spec.timeout_s:g}s; " \
                        f"last lines of {log_path}:\n{self.redact(log_tail(log_path))}"
                    raise WaitTimeoutError(msg)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=0.2)
        finally:
            _stop_task(process)
            with self._lock:
                self._tasks.remove(process)
        if process.returncode != 0 and self._closing.is_set():
            raise InterruptedRunError(f"{spec.name}: stopped while running")
        if process.returncode != 0:
            msg = f"{spec.name} failed with exit code {process.returncode}; " \
                f"last lines of {log_path}:\n{self.redact(log_tail(log_path))}"
            raise ProvisionError(msg)

    def restart(self, name: str) -> tuple[int, int]:
        """Stop server `name` and start it again as it was started, blocking until it is ready;
        the death watch does not report the stop. A failed restart is reported as a death.

        Returns:
            The server's pid before and after.

        Raises:
            KeyError: no server of that name was started.
            ProvisionError: it did not come back; the message quotes its log.

        """
        with self._lock:
            found = [r for r in self._running if r.spec.name == name]
        if not found:
            raise KeyError(name)
        running = found[0]
        before = running.executor.process.pid if running.executor.process else 0
        running.stopping = True
        # An unexpected exit code while stopping does not matter: it is gone either way.
        with contextlib.suppress(ExecutorError):
            running.executor.stop(stop_signal=running.spec.stop_signal)
        try:
            self._await_start(running)
        except ProvisionError as exc:
            if self.failure is None and not self._closing.is_set():
                self.failure = f"{name} did not come back after a restart: {exc}"
                self.on_death(self.failure)
            raise
        finally:
            running.stopping = False
        after = running.executor.process.pid if running.executor.process else 0
        return before, after

    def stop(self, name: str) -> list[str]:
        """Stop server `name` and forget it, so a new spec can start under its name (an
        upgrade starts the next version on the same state); the death watch does not report
        the stop. Returns the problems met.

        Raises:
            KeyError: no server of that name runs.

        """
        with self._lock:
            found = [r for r in self._running if r.spec.name == name]
        if not found:
            raise KeyError(name)
        problems = _stop(found[0])
        with self._lock:
            self._running.remove(found[0])
        self._write_pids()
        return problems

    def _await_start(self, running: Running) -> None:
        """Start `running`'s executor, wait until ready; errors name it and quote its log."""
        spec, executor, log_path = running.spec, running.executor, running.log_path
        started = time.monotonic()
        try:
            executor.start()
        except InterruptedRunError:
            executor.kill()
            raise
        except ProcessExitedWithError as exc:
            if self._closing.is_set():
                raise InterruptedRunError(f"{spec.name}: stopped while starting") from exc
            msg = f"{spec.name} exited with code {exc.exit_code} before it was ready; " \
                f"last lines of {log_path}:\n{self.redact(log_tail(log_path))}"
            raise ProvisionError(msg) from exc
        except AlreadyRunning as exc:
            msg = (f"{spec.name}: {spec.readiness} already answers before it started; another "
                   "process holds its port or the health URL is wrong")
            raise ProvisionError(msg) from exc
        except TimeoutExpired as exc:
            msg = f"{spec.name} not ready after {spec.timeout_s:g}s ({spec.readiness}); " \
                f"last lines of {log_path}:\n{self.redact(log_tail(log_path))}"
            raise WaitTimeoutError(msg) from exc
        running.ready_s = time.monotonic() - started
        self._write_pids()

    def watch(self, interval_s: float = 0.5) -> None:
        """Start a thread that reports any server that dies after it was ready."""
        self._watcher = threading.Thread(target=self._watch, args=(interval_s,), daemon=True)
        self._watcher.start()

    def _watch(self, interval_s: float) -> None:
        while not self._closing.wait(interval_s):
            for running in list(self._running):
                process = running.executor.process
                if running.stopping or process is None or process.poll() is None:
                    continue
                if running.ready_s and self.failure is None:
                    tail = self.redact(log_tail(running.log_path))
                    self.failure = (
                        f"{running.spec.name} died (exit code {process.returncode}); "
                        f"last lines of {running.log_path}:\n{tail}"
                    )
                    self.on_death(self.failure)

    def stop_all(self, users: Mapping[str, Collection[str]] | None = None) -> list[str]:
        """Stop every server; return the problems met, if any.

        `users` names, per server, the servers that use it: a server stops once all its users
        are stopped, and servers with no user still running stop side by side. Without it,
        each server counts every one started after it as a user: last started, first stopped.
        """
        self._closing.set()
        with self._lock:
            to_stop = list(self._running)
            tasks = list(self._tasks)
        for task in tasks:  # an initdb or an environment build still going
            _stop_task(task)
        names = [running.spec.name for running in to_stop]
        if users is None:
            users = {name: names[index + 1:] for index, name in enumerate(names)}
        problems: list[str] = []
        for wave in _stop_waves(to_stop, users):
            if len(wave) == 1:
                problems += _stop(wave[0])
                continue
            with ThreadPoolExecutor(max_workers=len(wave)) as pool:
                problems += [problem for found in pool.map(_stop, wave) for problem in found]
        with self._lock:
            self._running.clear()
        self.pid_file.unlink(missing_ok=True)
        return problems

    def detach(self) -> None:
        """Stop watching and let every server outlive this process (`--keep`)."""
        self._closing.set()
        # mirakuru kills, at interpreter exit, every process it started, and an executor kills
        # its process when garbage-collected: forget them (pids.json still knows them).
        atexit.unregister(cleanup_subprocesses)
        for running in self._running:
            running.executor.process = None

    @property
    def running(self) -> list[Running]:
        """Servers started so far, in start order."""
        return list(self._running)

    def _write_pids(self) -> None:
        # `mlops-conformance down` reads this to stop a stack left running with --keep.
        entries: dict[str, Any] = {}
        for running in self._running:
            process = running.executor.process
            if process is not None and process.poll() is None:
                created = psutil.Process(process.pid).create_time()
                entries[running.spec.name] = {"pid": process.pid, "create_time": created}
        self.pid_file.write_text(json.dumps(entries, indent=2), encoding="utf-8")


def _stop_waves(running: list[Running],
                users: Mapping[str, Collection[str]]) -> list[list[Running]]:
    """`running` in waves: each server after every server of an earlier wave that uses it."""
    left = {entry.spec.name: entry for entry in running}
    waves: list[list[Running]] = []
    while left:
        wave = [entry for name, entry in left.items()
                if not any(user in left for user in users.get(name, ()) if user != name)]
        if not wave:  # a cycle in `users`: stop the rest last started, first stopped
            wave = [list(left.values())[-1]]
        waves.append(wave)
        for entry in wave:
            del left[entry.spec.name]
    return waves


def _stop(running: Running) -> list[str]:
    """Stop one server (SIGTERM, or its own stop signal; SIGKILL after mirakuru's wait)."""
    running.stopping = True
    problems: list[str] = []
    try:
        running.executor.stop(stop_signal=running.spec.stop_signal)
    except ExecutorError:
        pass  # it exited with an unexpected code while stopping: it is gone either way
    except OSError as exc:
        problems.append(f"{running.spec.name}: {exc}")
        running.executor.kill()
    running.log_file.close()
    return problems


def _task_env(spec: TaskSpec) -> dict[str, str]:
    return {k: v for k, v in process_env(spec.env).items() if k not in spec.unset_env}


def _stop_task(process: subprocess.Popen[bytes]) -> None:
    """Stop a task's whole process group, if it still runs: SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    for sig, wait_s in ((signal.SIGTERM, _TASK_GRACE_S), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait_s)
            return


def stop_recorded(pid_file: Path, timeout_s: float = 10.0) -> list[str]:
    """Stop the process groups listed in a pid file left by a kept run; return their names."""
    try:
        entries = json.loads(pid_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ProvisionError(f"{pid_file}: no running stack recorded here ({exc})") from exc
    stopped: list[str] = []
    for name, entry in reversed(list(entries.items())):
        try:
            process = psutil.Process(entry["pid"])
            if abs(process.create_time() - entry["create_time"]) > 1:
                continue  # the pid was reused by an unrelated process
            os.killpg(entry["pid"], 15)
            psutil.wait_procs([process], timeout=timeout_s)
            if process.is_running():
                os.killpg(entry["pid"], 9)
            stopped.append(name)
        except (psutil.NoSuchProcess, ProcessLookupError):
            continue
    pid_file.unlink(missing_ok=True)
    return stopped


__all__ = ["Running", "Supervisor", "WaitTimeoutError", "log_tail", "stop_recorded"]
