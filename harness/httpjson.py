"""One JSON response for the harness's small stdlib HTTP servers (control API, stand-ins)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from http import HTTPStatus
    from http.server import BaseHTTPRequestHandler


def send_json(request: BaseHTTPRequestHandler, status: HTTPStatus, body: Any) -> None:
    """Answer `request` with `body` as JSON and the given status."""
    payload = json.dumps(body).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    request.wfile.write(payload)
