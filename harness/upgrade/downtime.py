"""How long each tool was unavailable during an upgrade: its health endpoint probed once a
second from before the first tool stops until after the last one is back.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from collections.abc import Mapping

_INTERVAL_S = 1.0


class HealthProbes(threading.Thread):
    """Probes every health URL each second; `unavailable_s` sums the failed probes per tool."""

    def __init__(self, health_urls: Mapping[str, str]) -> None:
        super().__init__(daemon=True, name="upgrade-health-probes")
        self.health_urls = dict(health_urls)
        self.unavailable_s = dict.fromkeys(self.health_urls, 0.0)
        self.probes = 0
        self._done = threading.Event()

    def run(self) -> None:
        """Probe until stopped; a probe that fails or takes over a second counts a second."""
        while not self._done.is_set():
            started = time.monotonic()
            for tool, url in self.health_urls.items():
                try:
                    ok = requests.get(url, timeout=_INTERVAL_S).ok
                except requests.RequestException:
                    ok = False
                if not ok:
                    self.unavailable_s[tool] += _INTERVAL_S
            self.probes += 1
            self._done.wait(max(0.0, _INTERVAL_S - (time.monotonic() - started)))

    def stop(self) -> dict[str, float]:
        """Stop probing; the seconds each tool was unavailable."""
        self._done.set()
        self.join(timeout=10)
        return dict(self.unavailable_s)
