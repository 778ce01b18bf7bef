"""The SeldonDeployment the harness creates to serve an MLflow model: one MLFLOW_SERVER node
over the V2 (Open Inference) protocol, as the `seldon.*` checks deploy it on any target.

Public API:
    seldon_deployment(name, model_uri, *, namespace="", graph="classifier", replicas=1,
                      progress_deadline_s=None) -> dict
    harness_deployment(model_store) -> dict   the one the checks create, for static checks
"""

from __future__ import annotations

from typing import Any

GROUP_VERSION = "machinelearning.seldon.io/v1"
KIND = "SeldonDeployment"
# The checks' model, where the checks register it (conformance/test_seldon.py).
CHECK_MODEL_NAME = "conformance-seldon"
DEPLOY_NAMESPACE = "seldon"  # where the checks deploy models (the operator has its own)


def seldon_deployment(name: str, model_uri: str, *, namespace: str = "",
                      graph: str = "classifier", replicas: int = 1,
                      progress_deadline_s: int | None = None) -> dict[str, Any]:
    """A SeldonDeployment serving the MLflow model at `model_uri` with MLFLOW_SERVER, V2;
    with `progress_deadline_s`, its Deployments' progressDeadlineSeconds: how long pods may
    fail to start before the operator calls the deployment Failed (Kubernetes' default: 600).

    >>> seldon_deployment("m", "s3://models/m")["spec"]["predictors"][0]["graph"]["implementation"]
    'MLFLOW_SERVER'
    """
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    node = {"name": graph, "implementation": "MLFLOW_SERVER", "modelUri": model_uri}
    predictor: dict[str, Any] = {"name": "default", "replicas": replicas, "graph": node}
    if progress_deadline_s is not None:
        predictor["progressDeadlineSeconds"] = progress_deadline_s
    return {"apiVersion": GROUP_VERSION, "kind": KIND, "metadata": metadata,
            "spec": {"protocol": "v2", "predictors": [predictor]}}


def harness_deployment(model_store: str) -> dict[str, Any]:
    """The deployment the checks create, for a model in `model_store` (e.g. `s3://bucket/root`,
    `pvc://CLAIM`): its schema is judged before any cluster sees it.
    """
    return seldon_deployment(CHECK_MODEL_NAME, f"{model_store.rstrip('/')}/{CHECK_MODEL_NAME}",
                             namespace=DEPLOY_NAMESPACE)
