"""One model server of the local Seldon stand-in: the storage initializer fetches the model,
then an MLServer process with the MLflow runtime serves the copy, as in the operator's pod.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import requests

from harness.launchers._storage_initializer import Initializer, InitializerError
from harness.launchers.base import free_port

if TYPE_CHECKING:
    from pathlib import Path

# The last Python exception line of a log, e.g. "mlflow.exceptions.RestException: ... not found".
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception)\b[^:\n]*: .+$", re.MULTILINE)
_STOP_GRACE_S = 15.0
# A port picked free can be taken before MLServer binds it (ports are picked, then bound
# seconds later); like a restarted pod, the server then starts again on fresh ports.
_PORT_TAKEN = re.compile(r"address already in use", re.IGNORECASE)
_PORT_ATTEMPTS = 3
# What the operator reports once a pod's deployment stops progressing (its init container or
# model server failing); the stand-in adds the failing container's own message.
_NOT_PROGRESSING = "Deployment is no longer progressing and not available"
METRICS_ENDPOINT = "/prometheus"


@dataclass
class ModelServer:
    """A model deployed from a URI; `state` follows Seldon's: Creating, Available, Failed."""

    model_name: str
    model_uri: str
    directory: Path
    initializer: Initializer
    state: str = "Creating"
    description: str = ""
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    ready_s: float | None = None
    attempts: int = 0
    process: subprocess.Popen[bytes] | None = None
    model_path: str = ""  # the initializer's copy: MLServer's MLSERVER_MODEL_URI
    _fetching: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _log: IO[bytes] | None = None
    _log_offset: int = 0
    _stopped: bool = False
    # Held while a process starts or stops: a stop never misses a server being restarted.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Base URL of the V2 (Open Inference Protocol) REST endpoint."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def address(self) -> str:
        """What the operator puts in `status.address.url` for the V2 protocol: the model's
        inference URL (`/v2/models/GRAPH/infer` on the predictor's Service).
        """
        return f"{self.url}/v2/models/{self.model_name}/infer"

    def start(self, python: Path, environment: dict[str, str], ready_timeout_s: float) -> None:
        """Fetch the model and start the server in a thread, until it is Available or Failed."""
        threading.Thread(target=self._run, args=(python, environment, ready_timeout_s),
                         daemon=True).start()

    def _run(self, python: Path, environment: dict[str, str], ready_timeout_s: float) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        started: list[subprocess.Popen[bytes]] = []
        try:
            with self._lock:
                if self._stopped:
                    return
                # Held by a stop only to read `process`; rclone runs unlocked, watched by stop.
                self._fetching = started
            models = self.initializer.fetch(self.model_uri, self.directory / "initroot",
                                            self.directory / "initializer.log", ready_timeout_s,
                                            started)
        except InitializerError as exc:
            self._fail(f"{_NOT_PROGRESSING}: init container model-initializer: {exc}")
            return
        self.model_path = str(models)
        self._launch(python, environment)
        self._watch(python, environment, ready_timeout_s)

    def _launch(self, python: Path, environment: dict[str, str]) -> None:
        """Write MLServer's settings and start it in its own session, unless stopped."""
        with self._lock:
            if not self._stopped:
                self._launch_locked(python, environment)

    def _launch_locked(self, python: Path, environment: dict[str, str]) -> None:
        self.attempts += 1
        self.directory.mkdir(parents=True, exist_ok=True)
        settings: dict[str, Any] = {
            "host": "127.0.0.1", "http_port": self.http_port, "grpc_port": self.grpc_port,
            "metrics_port": self.metrics_port,
            # As the operator sets MLSERVER_METRICS_ENDPOINT: the chart's executor.prometheus.path.
            "metrics_endpoint": METRICS_ENDPOINT,
            # The inference pool crashes with uvloop 0.23; inline inference is enough here.
            "parallel_workers": 0,
        }
        # As the operator's MLSERVER_MODEL_* variables: the copy in /mnt/models, version v1.
        model = {"name": self.model_name, "implementation": "mlserver_mlflow.MLflowRuntime",
                 "parameters": {"uri": self.model_path, "version": "v1"}}
        (self.directory / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
        model_dir = self.directory / "model"
        model_dir.mkdir(exist_ok=True)
        (model_dir / "model-settings.json").write_text(json.dumps(model), encoding="utf-8")
        if self._log is not None:
            self._log.close()
        self._log = (self.directory / "mlserver.log").open("ab")
        self._log_offset = self._log.tell()
        # Own session: a stop reaches every process MLServer forks, and nothing else.
        self.process = subprocess.Popen(
            # Absolute: MLServer resolves the folder against its own working directory.
            [str(python), "-m", "mlserver.cli.main", "start", str(self.directory.resolve())],
            env={**os.environ, **environment}, cwd=self.directory, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def _watch(self, python: Path, environment: dict[str, str], timeout_s: float) -> None:
        started = time.monotonic()
        while self.state == "Creating" and self.process is not None:
            code = self.process.poll()
            if (code is not None and not self._stopped and self.attempts < _PORT_ATTEMPTS
                    and self._port_was_taken()):
                _signal_group(self.process.pid, signal.SIGKILL)  # forked helpers, if any
                self.http_port, self.grpc_port, self.metrics_port = (
                    free_port(), free_port(), free_port())
                self._launch(python, environment)
                continue
            if code is not None:
                self._fail(f"model server exited with code {code} while loading "
                           f"{self.model_uri!r}: {self.error_line() or 'see its log'}")
                return
            try:
                ready_url = f"{self.url}/v2/models/{self.model_name}/ready"
                if requests.get(ready_url, timeout=2).status_code == 200:
                    self.state, self.ready_s = "Available", time.monotonic() - started
                    return
            except requests.RequestException:
                pass
            if time.monotonic() - started > timeout_s:
                self.stop()
                self._fail(f"model {self.model_uri!r} not ready after {timeout_s:g}s")
                return
            time.sleep(0.25)

    def _fail(self, description: str) -> None:
        self.state, self.description = "Failed", description

    def _port_was_taken(self) -> bool:
        """Whether the last attempt's log says one of its ports was taken."""
        try:
            with (self.directory / "mlserver.log").open("rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            return False
        return bool(_PORT_TAKEN.search(text))

    def error_line(self) -> str:
        """The last exception line in the server's log, if any."""
        try:
            text = (self.directory / "mlserver.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        found = _EXCEPTION_LINE.findall(text)
        return found[-1].strip() if found else ""

    def stop(self) -> None:
        """Stop the server's whole process group: SIGTERM, then SIGKILL after a grace period."""
        with self._lock:
            self._stopped = True
            for fetch in self._fetching:  # the storage initializer, if it still runs
                _signal_group(fetch.pid, signal.SIGKILL)
            process = self.process
            if process is not None and process.poll() is None:
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    process.wait(_STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    _signal_group(process.pid, signal.SIGKILL)
                    process.wait()
                _signal_group(process.pid, signal.SIGKILL)  # forked helpers left in the group
            # A server that exited earlier (a model that failed to load) was reaped then: its
            # pid, and so its group id, may belong to another process by now (pids wrap at
            # 32768 here within minutes): it is not signalled.
            if self._log is not None:
                self._log.close()

    def status(self) -> dict[str, Any]:
        """The Seldon-style status: state, description, address, replicas."""
        status: dict[str, Any] = {
            "state": self.state,
            "address": {"url": self.address},
            "deploymentStatus": {self.model_name: {
                "replicas": 1, "availableReplicas": int(self.state == "Available")}},
            # The stand-in's own field: where a pod's `metrics` port would be.
            "localMetrics": f"http://127.0.0.1:{self.metrics_port}{METRICS_ENDPOINT}",
        }
        if self.description:
            status["description"] = self.description
        if self.ready_s is not None:
            status["readySeconds"] = round(self.ready_s, 2)
        return status


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
