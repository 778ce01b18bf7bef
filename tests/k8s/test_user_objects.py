"""The Secrets a scenario's modules say the user creates beforehand, planned by the
kubernetes target for the run's namespaces (`harness.k8s.user_objects`): their contents from
the run, and a clear stop, before anything is created, when a value is missing.
"""

from __future__ import annotations

import base64
import json

import pytest

from harness.errors import ProvisionError
from harness.k8s.user_objects import password_variable, plan_secrets
from harness.scenario import load_scenario
from harness.secrets import SecretStore
from harness.static.render import UserProvided

REGCRED = ("kubectl create secret docker-registry regcred --namespace dask "
           "--docker-server=<registry> --docker-username=<user> --docker-password=<password>")
DASK = UserProvided("dask", "Secret", "regcred", "dask", REGCRED)
HUB = UserProvided("jupyterhub", "Secret", "regcred", "jhub", REGCRED)
PREFECT = UserProvided("prefect", "Secret", "prefect-postgresql", "prefect",
                       "kubectl create secret generic prefect-postgresql --namespace prefect "
                       "--from-literal=password=<database password>")
RUN = {"dask": "ci-run1-dask", "prefect": "ci-run1-prefect"}


def _store(**values: str) -> SecretStore:
    store = SecretStore()
    for name, value in values.items():
        store.put(name, value)
    return store


def test_a_pull_secret_holds_the_runs_registry_login() -> None:
    (planned,) = plan_secrets([DASK, HUB], load_scenario("private-registry"),
                              _store(docker_auth_key="dXNlcjpwYXNz"), RUN, {})
    assert (planned.namespace, planned.name, planned.type) == (
        "ci-run1-dask", "regcred", "kubernetes.io/dockerconfigjson")  # jupyterhub: not run
    body = planned.body({"app.kubernetes.io/managed-by": "mlops-conformance"})
    assert body["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "mlops-conformance"}
    config = json.loads(base64.b64decode(body["data"][".dockerconfigjson"]))  # type: ignore[index]
    assert config == {"auths": {"registry.example.internal:5000": {"auth": "dXNlcjpwYXNz"}}}
    assert "dXNlcjpwYXNz" not in repr(planned)


def test_a_pull_secret_without_a_login_or_a_registry_says_the_fix() -> None:
    with pytest.raises(ProvisionError, match=r"Secret regcred \(dask\): .* set "
                       r"TF_VAR_docker_auth_key \(base64 of user:password\)"):
        plan_secrets([DASK], load_scenario("private-registry"), _store(), RUN, {})
    with pytest.raises(ProvisionError, match="set tfvars.docker_registry_server"):
        plan_secrets([DASK], load_scenario("defaults"), _store(docker_auth_key="x"), RUN, {})


def test_a_database_password_comes_from_the_environment_and_is_masked() -> None:
    variable = password_variable("prefect-postgresql")
    assert variable == "HARNESS_SECRET_PREFECT_POSTGRESQL_PASSWORD"
    store = _store()
    (planned,) = plan_secrets([PREFECT], load_scenario("external-postgres"), store, RUN,
                              {variable: "p@ss:word"})
    assert (planned.namespace, planned.type, planned.data) == (
        "ci-run1-prefect", "Opaque", {"password": "p@ss:word"})
    assert store.redactor("saw p@ss:word") == "saw ***"
    with pytest.raises(ProvisionError, match=(
            r"Secret prefect-postgresql \(prefect\): key 'password' holds your database's "
            rf"password: set {variable}")):
        plan_secrets([PREFECT], load_scenario("external-postgres"), _store(), RUN, {})


def test_every_literal_is_filled_and_an_unknown_placeholder_is_named() -> None:
    subchart = UserProvided("prefect", "Secret", "pg", "prefect", (
        "kubectl create secret generic pg --from-literal=password=<database password> "
        "--from-literal=connection-string=postgresql+asyncpg://prefect:<database password>"
        "@pg.prefect:5432/prefect"))
    env = {password_variable("pg"): "s3cret"}
    (planned,) = plan_secrets([subchart], load_scenario("defaults"), _store(), RUN, env)
    assert planned.data == {"password": "s3cret", "connection-string":
                            "postgresql+asyncpg://prefect:s3cret@pg.prefect:5432/prefect"}
    odd = UserProvided("prefect", "Secret", "pg", "prefect",
                       "kubectl create secret generic pg --from-literal=token=<api token>")
    with pytest.raises(ProvisionError, match="key 'token' needs <api token>"):
        plan_secrets([odd], load_scenario("defaults"), _store(), RUN, env)
    config_map = UserProvided("prefect", "ConfigMap", "settings", "prefect", "kubectl ...")
    with pytest.raises(ProvisionError, match="the harness creates only Secrets"):
        plan_secrets([config_map], load_scenario("defaults"), _store(), RUN, env)
