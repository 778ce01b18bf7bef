"""A tiny HTTP server for supervisor tests: `/health` answers 200; it can spawn a child first."""

from __future__ import annotations

import subprocess
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    port, children = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0
    for _ in range(children):  # grandchildren that must not outlive the run
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    print(f"serving on {port}", flush=True)
    HTTPServer(("127.0.0.1", port), Health).serve_forever()
