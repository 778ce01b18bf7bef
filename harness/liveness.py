"""Before a tool's checks, make sure its endpoints answer, and answer as that tool.

A dead endpoint fails every check of its tool at once, as an infrastructure error, instead of
each check waiting out its own client timeouts and retries; an endpoint that answers as some
other service fails them as a check failure. Verdicts last the session; a failed check makes the
next check of the same tools probe again, so a tool that dies mid-run is caught at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from harness.errors import ProvisionError
from harness.probes import Verdict, probe

if TYPE_CHECKING:
    from collections.abc import Iterable

    from harness.stack import Stack


class EndpointDeadError(ProvisionError):
    """A tool's endpoint does not accept connections or does not answer."""


class NotTheToolError(AssertionError):
    """A tool's endpoint answers, but not as that tool: a check failure, not infrastructure."""


@dataclass
class _State:
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    suspects: set[str] = field(default_factory=set)


_STATE = pytest.StashKey[_State]()


def _state(config: pytest.Config) -> _State:
    if _STATE not in config.stash:
        config.stash[_STATE] = _State()
    return config.stash[_STATE]


def gate(item: pytest.Item, stack: Stack, tools: Iterable[str]) -> None:
    """Fail `item` at once unless every tool it needs answers as itself.

    Raises:
        EndpointDeadError: an endpoint does not answer (status `error`).
        NotTheToolError: an endpoint answers as something else (status `fail`).

    """
    __tracebackhide__ = True  # the message says it all; the gate's code is no help to a reader
    state = _state(item.config)
    dead, other = [], []
    for tool in tools:
        known = state.verdicts.get(tool)
        if tool in stack.tools and (known is None or (tool in state.suspects and not (
                known.dead or known.other))):
            known = state.verdicts[tool] = probe(tool, stack.tools[tool])
        state.suspects.discard(tool)
        if known and known.dead:
            dead.append(known.dead)
        elif known and known.other:
            other.append(known.other)
    if dead or other:
        # Retrying cannot help: the verdict stands for the rest of the session.
        item.add_marker(pytest.mark.flaky(condition=False))
    if dead:
        raise EndpointDeadError("; ".join(dead + other))
    if other:
        raise NotTheToolError("; ".join(other))


def suspect(item: pytest.Item) -> None:
    """A check failed: probe the tools it needs again before their next check."""
    marker = item.get_closest_marker("check")
    if marker:
        tool = str(marker.args[0]).split(".", 1)[0]
        _state(item.config).suspects.update(marker.kwargs.get("requires", ()) or (tool,))
