"""Port-forwards to the run's Services: each a `kubectl port-forward` (or, for a client of the
API server itself, a `kubectl proxy`) supervised like the local target's servers (started,
ready once its local port accepts, watched, stopped at teardown), and started again on the
same local port when it drops, so `stack.json`'s URLs stay valid.

kubectl listens only once the API server has upgraded its connection to the pod, so a port
that accepts means the tunnel is up; and it exits when its pod goes away (a rollout, an
eviction, a check that restarts the tool), which is what the watch notices. A forward that
keeps dropping (more than `restart_budget` times) is reported once, as a dead server is.

Public API:
    Forward(name, namespace, service, port)    what to forward
    api_proxy(name, namespace) -> Forward      the API server itself, as `kubectl proxy`
    kubectl_argv(kubectl, context, kubeconfig) -> Callable[[Forward, int], list[str]]
    PortForwards(log_dir, argv, on_failure, restart_budget=5, redact=str, watch_s=1.0,
                 ready_timeout_s=90.0)
    PortForwards.start(forward) -> int         the local port, once it accepts
    PortForwards.watch()                       restart dropped forwards from now on
    PortForwards.restarts -> dict[str, int]    restarts so far, per forward
    PortForwards.pid(name) -> int | None       its kubectl's pid while it forwards
    PortForwards.stop_all() -> list[str]       problems met
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import ProvisionError
from harness.launchers.base import ProcessSpec, free_port
from harness.process_env import FORBIDDEN_PREFIXES
from harness.supervisor import Supervisor, log_tail

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

LOCALHOST = "127.0.0.1"
READY_TIMEOUT_S = 90.0  # kubectl waits up to a minute (--pod-running-timeout) for a pod
_CONNECT_TIMEOUT_S = 1.0


API_SERVER = ""  # a Forward's service when it is the API server (`kubectl proxy`)


@dataclass(frozen=True)
class Forward:
    """A Service port to forward, under the name its process and log carry."""

    name: str
    namespace: str
    service: str
    port: int

    @property
    def is_api_proxy(self) -> bool:
        """Whether this serves the API server itself (`kubectl proxy`), not a Service."""
        return self.service == API_SERVER

    @property
    def target(self) -> str:
        """What it forwards to, in words."""
        if self.is_api_proxy:
            return "the API server (kubectl proxy)"
        return f"service {self.namespace}/{self.service} port {self.port}"

    @property
    def process_name(self) -> str:
        """`port-forward-<name>`: the supervisor's name for it, and its log's."""
        return f"port-forward-{self.name}"


def api_proxy(name: str, namespace: str) -> Forward:
    """The API server on loopback over plain HTTP with the user's credentials (`kubectl
    proxy`), for a tool whose client is the API server (Seldon's: SeldonDeployments, and the
    Services and pods they create, through the API server's proxy).
    """
    return Forward(name, namespace, API_SERVER, 0)


def kubectl_argv(kubectl: str, context: str | None,
                 kubeconfig: str | None) -> Callable[[Forward, int], list[str]]:
    """How to run kubectl for a forward: the context and kubeconfig the run connected with,
    listening on loopback only (never on every address, as `--address 0.0.0.0` would).
    """
    def argv(forward: Forward, local_port: int) -> list[str]:
        found = [kubectl]
        if kubeconfig:
            found += ["--kubeconfig", kubeconfig]
        if context:
            found += ["--context", context]
        if forward.is_api_proxy:  # its default --accept-hosts takes loopback names only
            return [*found, "proxy", "--port", str(local_port), "--address", LOCALHOST]
        return [*found, "--namespace", forward.namespace, "port-forward",
                f"service/{forward.service}", f"{local_port}:{forward.port}",
                "--address", LOCALHOST]
    return argv


def user_env() -> dict[str, str]:
    """The environment kubectl runs in, as the user's own would: credential plugins (`aws eks
    get-token`, `gke-gcloud-auth-plugin`) read their settings from it. Only the harness's
    settings and Terraform's secret inputs stay behind.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith(FORBIDDEN_PREFIXES)}


def _accepts(port: int) -> bool:
    with socket.create_connection((LOCALHOST, port), timeout=_CONNECT_TIMEOUT_S):
        return True


class PortForwards:
    """The port-forwards of one run."""

    def __init__(self, log_dir: Path, argv: Callable[[Forward, int], list[str]],
                 on_failure: Callable[[str], None], restart_budget: int = 5,
                 redact: Callable[[str], str] = str, watch_s: float = 1.0,
                 ready_timeout_s: float = READY_TIMEOUT_S) -> None:
        self.argv = argv
        self.ready_timeout_s = ready_timeout_s
        self.on_failure = on_failure
        self.restart_budget = restart_budget
        self.redact = redact
        self.watch_s = watch_s
        self.restarts: dict[str, int] = {}
        self.failure: str | None = None
        # The supervisor's own death watch is not started, and its report of a failed restart
        # is ignored: a dropped forward is restarted here, and only one that cannot be kept
        # up is a failure.
        self._supervisor = Supervisor(log_dir, log_dir / "port-forwards.json",
                                      on_death=lambda _message: None, redact=redact)
        self._forwards: dict[str, Forward] = {}
        self._closing = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self, forward: Forward) -> int:
        """Start forwarding `forward` to a free local port; return that port once it accepts.

        Raises:
            ProvisionError: kubectl exited first (its log quoted: a missing Service, a pod
                that never ran, a refused port-forward) or the port never accepted.
        """
        port = free_port()
        spec = ProcessSpec(name=forward.process_name, argv=self.argv(forward, port),
                           env=user_env(), ready_check=lambda: _accepts(port),
                           timeout_s=self.ready_timeout_s)
        try:
            self._supervisor.start(spec)
        except ProvisionError as exc:
            msg = f"cannot forward to {forward.target}: {exc}"
            raise ProvisionError(msg) from exc
        self._forwards[forward.process_name] = forward
        self.restarts[forward.name] = 0
        return port

    def watch(self) -> None:
        """From now on, start again every forward whose kubectl exits."""
        self._watcher = threading.Thread(target=self._watch, daemon=True,
                                         name="port-forward-watch")
        self._watcher.start()

    def _watch(self) -> None:
        while not self._closing.wait(self.watch_s):
            for running in self._supervisor.running:
                process = running.executor.process
                if running.stopping or process is None or process.poll() is None:
                    continue
                if self._closing.is_set() or self.failure is not None:
                    return
                self._restart(self._forwards[running.spec.name], process.returncode,
                              running.log_path)

    def _restart(self, forward: Forward, code: int, log: Path) -> None:
        # A kubectl that exits again while starting (its new pod not running yet) is one more
        # drop: each counts against the budget, and only an exhausted budget is a failure.
        while not self._closing.is_set():
            if self.restarts[forward.name] >= self.restart_budget:
                self._fail(f"the port-forward to {forward.target} dropped "
                           f"{self.restarts[forward.name] + 1} times (last exit code {code}); "
                           f"last lines of {log}:\n{self.redact(log_tail(log))}")
                return
            self.restarts[forward.name] += 1
            try:
                self._supervisor.restart(forward.process_name)
            except ProvisionError as exc:
                code = getattr(exc.__cause__, "exit_code", code)
                continue
            return

    def pid(self, name: str) -> int | None:
        """The pid of forward `name`'s kubectl while it forwards; None while it restarts."""
        for running in self._supervisor.running:
            process = running.executor.process
            forward = self._forwards.get(running.spec.name)
            if forward is not None and forward.name == name and not running.stopping \
                    and process is not None and process.poll() is None:
                return process.pid
        return None

    def _fail(self, message: str) -> None:
        if self.failure is None and not self._closing.is_set():
            self.failure = message
            self.on_failure(message)

    def stop_all(self) -> list[str]:
        """Stop every forward; return the problems met."""
        self._closing.set()
        if self._watcher is not None:
            self._watcher.join(timeout=30)
        # Independent of each other: no forward uses another.
        return self._supervisor.stop_all(users={name: () for name in self._forwards})
