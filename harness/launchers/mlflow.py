"""MLflow tracking server and model registry, as `mlflow server` with a SQLite backend store."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import requests

from harness.launchers.base import Launcher, ProcessSpec, Stage, free_port
from harness.settings import MlflowSettings
from harness.stack import ToolEntry

if TYPE_CHECKING:
    from collections.abc import Iterator

    from harness.launchers.base import LaunchContext


class MlflowLauncher(Launcher):
    """One `mlflow server` that serves artifacts itself (`mlflow-artifacts:/`)."""

    NAME = "mlflow"

    def __init__(self, context: LaunchContext) -> None:
        super().__init__(context)
        self.settings = MlflowSettings.from_scenario(context.scenario)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def artifact_destination(self) -> str:
        """Where artifacts land: a remote URI as given; a pod path mapped into the run's state."""
        root = self.settings.default_artifact_root
        if urlparse(root).scheme not in {"", "file"}:
            return root
        # In the pod `default_artifact_root` is a path in the container's filesystem; here the
        # run's state directory plays that filesystem, so nothing is written outside the run.
        path = PurePosixPath(urlparse(root).path)
        return str(self.context.state_dir / "rootfs" / path.relative_to(path.anchor))

    def processes(self) -> Iterator[Stage]:
        """Yield the tracking server."""
        destination = self.artifact_destination
        if "://" not in destination:
            Path(destination).mkdir(parents=True, exist_ok=True)
        database = self.context.state_dir / "mlflow.db"
        yield ProcessSpec(
            name="mlflow",
            argv=self.context.python.module(
                "mlflow", "server",
                "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                "--backend-store-uri", f"sqlite:///{database}",
                "--serve-artifacts", "--artifacts-destination", destination,
            ),
            # Background job execution costs ~1 GB and is not under test.
            env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            health_url=f"{self.url}/health",
            timeout_s=self.context.timeout_s("mlflow"),
        )

    def entry(self) -> ToolEntry:
        """Tracking URI, and the artifact destination the scenario asked for."""
        return ToolEntry(
            endpoints={"tracking": self.url},
            expect={"artifact_destination": self.artifact_destination},
        )

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """The server's own `/version`."""
        response = requests.get(f"{entry.endpoints['tracking']}/version", timeout=10)
        response.raise_for_status()
        return {"server": response.text.strip()}
