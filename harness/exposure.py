"""Exposure: every server of a local stack listens on loopback only (check `local.loopback-only`).

Two readings are matched: psutil says which ports each recorded server's process tree listens
on (pids.json, as the supervisor writes it), testinfra's `host.socket` says on which addresses
the host listens on each port. A port of the stack that the host serves on any other address
(`0.0.0.0`, `::`, a LAN address) fails, naming the server and the port. The checks phase is
sampled, so servers that start during the checks (users' notebook servers, model servers)
are seen too.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psutil

from harness.report.model import CheckResult

if TYPE_CHECKING:
    from pathlib import Path

CHECK_ID = "local.loopback-only"
_SAMPLE_S = 2.0


def stack_listeners(pid_file: Path) -> dict[int, str]:
    """TCP port -> server name, for every listening socket of each recorded process tree."""
    try:
        entries = json.loads(pid_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    ports: dict[int, str] = {}
    for name, entry in entries.items():
        try:
            root = psutil.Process(entry["pid"])
            if abs(root.create_time() - entry["create_time"]) > 1:
                continue  # the pid now belongs to an unrelated process
            for member in [root, *root.children(recursive=True)]:
                for connection in member.net_connections("tcp"):
                    if connection.status == psutil.CONN_LISTEN:
                        ports.setdefault(connection.laddr.port, name)
        except psutil.Error:
            continue  # it stopped meanwhile
    return ports


def host_listening() -> dict[int, set[str]]:
    """TCP port -> the addresses the host listens on, as testinfra reads them (`ss`)."""
    import testinfra  # noqa: PLC0415 - loads its backends; only when the check runs

    host = testinfra.get_host("local://")
    addresses: dict[int, set[str]] = {}
    for url in host.socket.get_listening_sockets():
        protocol, _, rest = url.partition("://")
        if protocol != "tcp":
            continue
        address, _, port = rest.rpartition(":")
        addresses.setdefault(int(port), set()).add(address.strip("[]"))
    return addresses


def _loopback(address: str) -> bool:
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address == "localhost"
    # `::ffff:127.0.0.1` (an IPv4 loopback seen through an IPv6 socket) is loopback too.
    mapped = getattr(parsed, "ipv4_mapped", None)
    return bool(parsed.is_loopback or (mapped is not None and mapped.is_loopback))


@dataclass
class LoopbackWatch:
    """Samples the stack's listening sockets until stopped; `result()` gives the verdict."""

    pid_file: Path
    interval_s: float = _SAMPLE_S
    seen: dict[int, str] = field(default_factory=dict)  # port -> server
    exposed: set[tuple[str, str, int]] = field(default_factory=set)  # (server, address, port)
    problem: str | None = None  # the host's sockets could not be read
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        """Read both sides once and keep every port of the stack not on loopback."""
        ours = stack_listeners(self.pid_file)
        if not ours:
            return
        try:
            host = host_listening()
        except (RuntimeError, OSError) as exc:  # neither `ss` nor `netstat` here
            self.problem = f"cannot read the host's listening sockets: {exc}"
            return
        for port, server in ours.items():
            self.seen.setdefault(port, server)
            for address in host.get(port, set()):
                if not _loopback(address):
                    self.exposed.add((server, address, port))

    def start(self) -> LoopbackWatch:
        """Sample now, then every `interval_s` in a thread until `stop()`."""
        self.sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def stop(self) -> CheckResult:
        """Stop sampling (after one last sample) and return the verdict."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.sample()
        return self.result()

    def result(self) -> CheckResult:
        """Fail naming each server and port not on loopback; pass listing what was seen."""
        if self.exposed:
            found = "; ".join(f"{server} listens on {address}:{port}"
                              for server, address, port in sorted(self.exposed))
            return CheckResult(id=CHECK_ID, tool="local", status="fail",
                               message=f"{found}: every server must listen on loopback only")
        if self.problem is not None:
            return CheckResult(id=CHECK_ID, tool="local", status="error", message=self.problem)
        if not self.seen:
            return skipped("no listening socket of the stack's recorded servers was found")
        servers = sorted(set(self.seen.values()))
        return CheckResult(id=CHECK_ID, tool="local", status="pass",
                           message=f"{len(self.seen)} listening ports of {len(servers)} servers, "
                                   f"all on loopback: {', '.join(servers)}")


def skipped(reason: str) -> CheckResult:
    """The check's row when it cannot run here."""
    return CheckResult(id=CHECK_ID, tool="local", status="skip", message=reason)


NOT_LOCAL = ("the stack's server processes are not recorded here (pids.json): only the local "
             "target's servers can be read from this host's sockets")
