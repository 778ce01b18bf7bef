"""What a run shows on the terminal: the phase and component it is on, secrets masked."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.markup import escape

from harness.secrets import Redactor

_STYLE = {"ready": "green", "done": "green", "stopped": "dim", "died": "bold red",
          "failed": "bold red"}


class RunConsole:
    """Progress lines for a run; also what targets report components through."""

    def __init__(self, redact: Redactor | None = None, *, quiet: bool = False) -> None:
        self.out = Console(file=sys.stderr, highlight=False, soft_wrap=True)
        self.redact = redact or Redactor()
        self.quiet = quiet
        self._phase_started = time.monotonic()

    def phase(self, name: str, detail: str = "") -> None:
        """Announce a phase of the run."""
        self._phase_started = time.monotonic()
        if not self.quiet:
            suffix = f" [dim]{escape(self.redact(detail))}[/]" if detail else ""
            self.out.print(f"[bold cyan]▶ {escape(name)}[/]{suffix}")

    def component(self, name: str, status: str, detail: str = "") -> None:
        """Report a component's status change."""
        if self.quiet and status not in {"died", "failed"}:
            return
        style = _STYLE.get(status, "yellow")
        text = f"  {escape(name)}: [{style}]{escape(status)}[/]"
        if detail:
            text += f" {escape(self.redact(detail))}"
        self.out.print(text)

    def line(self, text: str) -> None:
        """Print one line of output from a child (e.g. pytest), secrets masked."""
        if not self.quiet:
            self.out.print(escape(self.redact(text)))

    def error(self, text: str) -> None:
        """Print an error line."""
        self.out.print(f"[bold red]error:[/] {escape(self.redact(text))}")
