"""The Target contract: turn a scenario into a running Stack, and take it down again."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from pathlib import Path

    from harness.scenario import Scenario
    from harness.secrets import SecretStore
    from harness.stack import Stack
    from harness.static.render import Rendered


NOT_SELECTED = "{tool} was not selected (--tools)"


class Progress(Protocol):
    """Where a target reports what it is doing, component by component."""

    def component(self, name: str, status: str, detail: str = "") -> None:
        """Report that component `name` is now `status` (e.g. starting, ready, stopped)."""


class Target(ABC):
    """A place the stack runs: local processes, or a Kubernetes cluster."""

    NAME: ClassVar[str]

    def __init__(self, url: str, options: dict[str, str]) -> None:
        self.url = url
        self.options = options

    def connect(self) -> None:  # noqa: B027 - optional hook: a local target has nothing to reach
        """Reach what the target runs on (a cluster's API server), before any scenario's work,
        so an unreachable one is said within seconds.

        Raises:
            ProvisionError: it does not answer; the message names it and why.

        """

    def prepare(  # noqa: B027 - optional hook: targets that validate nothing need not override
        self, scenario: Scenario, run_dir: Path, secrets: SecretStore,
        tools: frozenset[str] | None = None, unselected: str = NOT_SELECTED,
        rendered: Rendered | None = None,
    ) -> None:
        """Validate everything the target needs from the scenario, starting nothing.

        `rendered` holds the modules' Helm values for the scenario (the static stage's), which
        configure what the target runs; a target renders them itself when not given.

        `tools`, when given, limits the run to those tools (and what they require); the
        others are skipped with the reason `unselected` (`{tool}` is replaced).

        Raises:
            BadInputError: a setting the target needs is missing or wrong.

        """

    @abstractmethod
    def up(self, scenario: Scenario, run_dir: Path, progress: Progress) -> Stack:
        """Provision the scenario and return its Stack once every component is ready.

        Raises:
            ProvisionError: a component failed to start; the message names it and why.

        """

    @abstractmethod
    def down(self, progress: Progress) -> list[str]:
        """Remove everything `up` created, also after a partial `up`; return problems met."""

    def version_note(self, tool: str, component: str) -> str:
        """Why this target runs `tool`'s `component` at another version than its chart deploys
        (for the report's version drift table); empty when it has nothing to say.
        """
        return ""

    def provisioned_tools(self) -> frozenset[str] | None:
        """The tools `up` will provision, once prepared; None when the target cannot tell."""
        return None

    def failure(self) -> str | None:
        """A component that died after it was ready, if any (checked during the checks)."""
        return None

    def detach(self) -> None:  # noqa: B027 - optional hook
        """Let what `up` started outlive this process (`--keep`)."""

    def diagnostics_of(self, run_dir: Path, failing: frozenset[str],
                       always: bool) -> dict[str, str]:
        """Collect, before teardown, the state that explains failures of the `failing` tools
        (all tools when `always`) where the logs of `run_dir/logs` do not reach it (a
        cluster's); per tool, what a failing check of it links to. Nothing by default.
        """
        return {}

    def rss_bytes(self) -> int:
        """Resident memory of everything the target runs on this machine (0 if remote)."""
        return 0

    def ready_times_s(self) -> dict[str, float]:
        """Seconds each component took from start to ready."""
        return {}

    def findings(self) -> list[str]:
        """Insecure defaults in effect in what was provisioned (listed by the report)."""
        return []

    def keep_instructions(self, run_dir: Path) -> str:
        """How the user stops a stack that `--keep` left running."""
        return f"mlops-conformance down {run_dir}"
