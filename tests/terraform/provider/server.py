"""Run one test provider as a go-plugin gRPC server, the way Terraform starts providers."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from tf.gen import grpc_controller_pb2 as controller_pb
from tf.gen import grpc_controller_pb2_grpc as controller_rpc
from tf.gen import grpc_stdio_pb2_grpc as stdio_rpc
from tf.gen import tfplugin_pb2_grpc as rpc

from .servicer import SchemaProvider

# go-plugin's handshake: core protocol 1, Terraform plugin protocol 6.
_HANDSHAKE = "1|6|unix|{address}|grpc|{cert}"


def _load_certificate(tls_dir: Path) -> tuple[bytes, bytes, str]:
    """(key PEM, cert PEM, cert DER in base64) of the certificate mirror.py wrote."""
    key_pem = (tls_dir / "key.pem").read_bytes()
    cert_pem = (tls_dir / "cert.pem").read_bytes()
    # A PEM body is the DER certificate in base64: no need to load cryptography here.
    body = b"".join(line for line in cert_pem.splitlines() if not line.startswith(b"-----"))
    return key_pem, cert_pem, body.decode()


class _Controller(controller_rpc.GRPCControllerServicer):  # type: ignore[misc]
    """go-plugin's controller: Terraform asks the plugin to shut down through it."""

    def __init__(self, stopped: threading.Event) -> None:
        self.stopped = stopped

    def Shutdown(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.stopped.set()
        return controller_pb.Empty()


class _Stdio(stdio_rpc.GRPCStdioServicer):  # type: ignore[misc]
    """go-plugin's stdio stream; this provider writes nothing worth forwarding."""

    def StreamStdio(self, request: Any, context: grpc.ServicerContext) -> Any:
        return iter(())


def serve(provider: str, tls_dir: Path) -> None:
    """Serve the named provider until Terraform shuts it down."""
    stopped = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    rpc.add_ProviderServicer_to_server(SchemaProvider(provider), server)
    controller_rpc.add_GRPCControllerServicer_to_server(_Controller(stopped), server)
    stdio_rpc.add_GRPCStdioServicer_to_server(_Stdio(), server)
    key_pem, cert_pem, cert_b64 = _load_certificate(tls_dir)
    credentials = grpc.ssl_server_credentials([(key_pem, cert_pem)])
    with tempfile.TemporaryDirectory() as tmp:
        address = f"{tmp}/plugin.sock"
        server.add_secure_port(f"unix://{address}", credentials)
        server.start()
        print(_HANDSHAKE.format(address=address, cert=cert_b64.rstrip("=")), flush=True)
        # Terraform calls Shutdown, or kills us; should it die first, stop with it.
        parent = os.getppid()
        while not stopped.wait(1.0) and os.getppid() == parent:
            pass
        server.stop(grace=0.2)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the launchers in the mirror: `main(["helm", TLS_DIR])`."""
    args = sys.argv[1:] if argv is None else argv
    serve(args[0], Path(args[1]))
