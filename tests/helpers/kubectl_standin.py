"""A stand-in for `kubectl port-forward service/NAME LOCAL:REMOTE`, for the port-forward
manager's tests: no cluster runs here. It behaves as kubectl does on the parts the manager
uses: the same arguments, `Forwarding from 127.0.0.1:LOCAL -> REMOTE` once it listens,
`Handling connection for LOCAL` per connection, an error and exit 1 for a Service that does
not exist, and exit 1 with "lost connection to pod" when the pod behind it is gone (here: its
backend refuses) - kubectl >= 1.23 ends the session then.

The "cluster" is `KUBECTL_STANDIN_SERVICES`: JSON `{"namespace/service": backend_port}`, each
a local socket standing in for the pod.

Run as: python kubectl_standin.py [--kubeconfig F] [--context C] --namespace NS port-forward
service/NAME LOCAL:REMOTE --address 127.0.0.1
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import threading


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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubeconfig")
    parser.add_argument("--context")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("verb", choices=["port-forward"])
    parser.add_argument("resource")
    parser.add_argument("ports")
    parser.add_argument("--address", required=True)
    args = parser.parse_args()
    kind, _, name = args.resource.partition("/")
    services = json.loads(os.environ.get("KUBECTL_STANDIN_SERVICES", "{}"))
    backend = services.get(f"{args.namespace}/{name}") if kind == "service" else None
    if backend is None:
        print(f'Error from server (NotFound): services "{name}" not found', file=sys.stderr)
        return 1
    local, remote = (int(p) for p in args.ports.split(":"))
    listener = socket.socket()
    listener.bind((args.address, local))
    listener.listen(16)
    print(f"Forwarding from {args.address}:{local} -> {remote}", flush=True)
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
