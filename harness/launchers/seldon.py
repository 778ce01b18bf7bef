"""Seldon: model serving from MLflow through a SeldonDeployment API, served by MLServer."""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING

import requests

from harness.envs import building
from harness.launchers.base import Launcher, ProcessSpec, Stage, TaskSpec, free_port
from harness.settings import ToolSettings
from harness.stack import ToolEntry

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from harness.launchers.base import LaunchContext, PythonEnv

# MLServer's pins conflict with the main environment's (fastapi, starlette), so it gets its own.
# uvloop 0.23 crashes MLServer 1.7.1's inference pool.
MLSERVER_REQUIREMENTS = ("mlserver==1.7.1", "mlserver-mlflow==1.7.1", "uvloop<0.22")
# The model server must unpickle what the checks' environment logged: same mlflow and sklearn.
_FOLLOW_MAIN_ENV = {"mlflow": "3.17.2", "scikit-learn": "1.9.1"}
DEPLOY_NAMESPACE = "seldon"  # where models are deployed; the operator lives in seldon_namespace


def mlserver_requirements() -> tuple[str, ...]:
    """MLServer's pins plus the main environment's mlflow and scikit-learn versions."""
    pins = []
    for package, fallback in _FOLLOW_MAIN_ENV.items():
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = fallback
        pins.append(f"{package}=={version}")
    return (*MLSERVER_REQUIREMENTS, *pins)


class SeldonSettings(ToolSettings):
    """Seldon operator: whether usage metrics are on (locally: each model server's /metrics)."""

    usage_metrics_enabled: bool


class SeldonLauncher(Launcher):
    """The local control plane (cluster API + operator stand-in) that starts MLServer per model."""

    NAME = "seldon"
    REQUIRES = ("mlflow",)

    def __init__(self, context: LaunchContext) -> None:
        super().__init__(context)
        self.settings = SeldonSettings.from_scenario(context.scenario)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tracking_uri = ""
        self.model_env: PythonEnv | None = None

    def bind(self, required: Mapping[str, Launcher]) -> None:
        """Models come from the stack's MLflow."""
        self.tracking_uri = required["mlflow"].entry().endpoints["tracking"]

    def processes(self) -> Iterator[Stage]:
        """Build (or reuse) MLServer's environment, then yield the control plane."""
        timeout_s = self.context.timeout_s("seldon")
        with building("mlserver", mlserver_requirements()) as build:
            # The first run builds MLServer's environment; the supervisor runs uv, so a run
            # stopped meanwhile stops the build too (and a later run starts it over).
            for step, argv in enumerate(build.steps):
                yield TaskSpec(name=f"mlserver-env-{step}", argv=argv, env=build.env,
                               timeout_s=600, unset_env=build.unset_env)
        self.model_env = build.python
        argv = self.context.python.module(
            "harness.launchers.seldon_controlplane", "--port", str(self.port),
            "--python", str(self.model_env.python),
            "--state-dir", str(self.context.state_dir / "deployments"),
            "--tracking-uri", self.tracking_uri, "--ready-timeout-s", str(max(timeout_s, 180)),
        )
        if self.settings.usage_metrics_enabled:
            argv.append("--metrics")
        yield ProcessSpec(name="seldon-controlplane", argv=argv, health_url=f"{self.url}/healthz",
                          timeout_s=timeout_s)

    def entry(self) -> ToolEntry:
        """The SeldonDeployment collection URL and the namespace models go to."""
        return ToolEntry(
            endpoints={"api": self.url},
            expect={"namespace": DEPLOY_NAMESPACE,
                    "metrics": self.settings.usage_metrics_enabled},
        )

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """Versions of MLServer and its MLflow runtime in the model servers' environment."""
        response = requests.get(f"{entry.endpoints['api']}/version", timeout=10)
        response.raise_for_status()
        return {str(k): str(v) for k, v in response.json().items()}

    def findings(self) -> list[str]:
        """Insecure defaults in effect."""
        return ["seldon: the deployment API and every model's inference endpoint accept "
                "requests without authentication"]
