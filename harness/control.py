"""A target's control endpoint: checks restart a tool, as deleting its pods does.

`POST /restart/<tool>` with `Authorization: Bearer <token>` restarts the tool as the target
does (the local target: its processes, started again as they were; the kubernetes target: its
pods, deleted and replaced), answering once it is ready again, with what ran before and after
per component: `{"tool": "mlflow", "components": {"mlflow": {"before": 1, "after": 2}}}`
(process ids, or pod names).
It serves on 127.0.0.1 only, in a thread of the harness, which owns the supervisor.
"""

from __future__ import annotations

import hmac
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.httpjson import send_json

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from harness.secrets import SecretStore
    from harness.stack import Stack


class ControlServer:
    """A tiny HTTP server; `url` once `start()` returned, gone after `stop()`."""

    def __init__(self, restart: Callable[[str], Mapping[str, Mapping[str, Any]]],
                 token: str) -> None:
        """`restart(tool)` returns `{component: {"before", "after"}}`, or raises KeyError for
        a tool that is not running.
        """
        self._restart = restart
        self._token = token
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()  # one restart at a time: they share the supervisor
        self.url = ""

    def start(self) -> str:
        """Listen on a free port of 127.0.0.1 and return the base URL."""
        control = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                control.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # requests are the checks' business; the harness log stays quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="control").start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self.url

    def restart_url(self, tool: str) -> str:
        """Where a check asks for `tool` to be restarted."""
        return f"{self.url}/restart/{tool}"

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        """Authenticate, route `/restart/<tool>`, answer JSON."""
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {self._token}".encode()):
            send_json(request, HTTPStatus.UNAUTHORIZED, {"error": "a bearer token is required"})
            return
        prefix, _, tool = request.path.partition("/restart/")
        if prefix or not tool:
            send_json(request, HTTPStatus.NOT_FOUND, {"error": f"no route {request.path!r}"})
            return
        try:
            with self._lock:
                components = self._restart(tool)
        except KeyError:
            send_json(request, HTTPStatus.NOT_FOUND, {"error": f"no running tool {tool!r}"})
        except HarnessError as exc:
            send_json(request, HTTPStatus.BAD_GATEWAY, {"error": str(exc)})
        except Exception as exc:
            send_json(request, HTTPStatus.INTERNAL_SERVER_ERROR, {"error": repr(exc)})
        else:
            send_json(request, HTTPStatus.OK, {"tool": tool, "components": components})

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def serve_restarts(stack: Stack, secrets: SecretStore, token_secret: str,
                   restart: Callable[[str], Mapping[str, Mapping[str, Any]]]) -> ControlServer:
    """Start a control server for `restart` and offer it to every tool of `stack`: its
    `endpoints.restart`, and the token (run secret `token_secret`) as `credentials.restart`.
    """
    control = ControlServer(restart, secrets.generate(token_secret))
    control.start()
    for name, entry in stack.tools.items():
        entry.endpoints["restart"] = control.restart_url(name)
        entry.credentials["restart"] = secrets.ref(token_secret)
    return control
