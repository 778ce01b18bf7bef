"""How long each tool was unavailable during an upgrade: its health endpoint (or, on a
cluster, the tool's identity probe through its port-forward) tried once a second from before
the first tool stops until after the last one is back.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_INTERVAL_S = 1.0


class HealthProbes(threading.Thread):
    """Probes each tool once a second: a health URL (up when it answers 2xx) or a callable
    (up when it returns True). `unavailable_s` sums, per tool, the time of the rounds in which
    it was down: a round that takes longer than a second (a probe waiting on a dead port)
    counts its whole length.
    """

    def __init__(self, health: Mapping[str, str | Callable[[], bool]]) -> None:
        super().__init__(daemon=True, name="upgrade-health-probes")
        self.health = dict(health)
        self.unavailable_s = dict.fromkeys(self.health, 0.0)
        self.probes = 0
        self._done = threading.Event()

    def run(self) -> None:
        """Probe until stopped."""
        while not self._done.is_set():
            started = time.monotonic()
            down = [tool for tool, health in self.health.items() if not _up(health)]
            self.probes += 1
            self._done.wait(max(0.0, _INTERVAL_S - (time.monotonic() - started)))
            for tool in down:
                self.unavailable_s[tool] += round(time.monotonic() - started, 1)

    def stop(self) -> dict[str, float]:
        """Stop probing; the seconds each tool was unavailable."""
        self._done.set()
        self.join(timeout=10)
        return dict(self.unavailable_s)


def _up(health: str | Callable[[], bool]) -> bool:
    if callable(health):
        return health()
    try:
        return requests.get(health, timeout=_INTERVAL_S).ok
    except requests.RequestException:
        return False
