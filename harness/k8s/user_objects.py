"""The objects a scenario's modules say the user creates beforehand (`Rendered.user_provided`:
registry pull secrets, an existing database's password Secret), made by the kubernetes target
in the run's namespaces. Those namespaces exist for one run only, so nobody could create them
beforehand: Terraform creates the namespaces first (a targeted apply), these Secrets follow,
the releases come last.

Their contents come from what the run holds, never from a command line or a file:

- a `docker-registry` pull secret: the scenario's `docker_registry_server` and the run's
  `docker_auth_key` (base64 of `user:password`; `TF_VAR_docker_auth_key` for a real registry),
  as the MLflow module builds its own pull secret;
- a generic Secret's `--from-literal` keys, as the module's `how` lists them, with the
  password of the user's database from `HARNESS_SECRET_<NAME>_PASSWORD` (e.g.
  `HARNESS_SECRET_PREFECT_POSTGRESQL_PASSWORD`).

Public API:
    plan_secrets(items, scenario, secrets, namespaces, env) -> list[PlannedSecret]
        raises ProvisionError naming the object and what it needs, before anything is made
    PlannedSecret.body(labels) -> dict             the Secret as the API takes it
    password_variable(name) -> str                the environment variable of its password
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.errors import ProvisionError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from harness.scenario import Scenario
    from harness.secrets import SecretStore
    from harness.static.render import UserProvided

DATABASE_PASSWORD = "<database password>"  # noqa: S105 - the placeholder of the modules' `how`
_PLACEHOLDER = re.compile(r"<[^<>]+>")
_LITERAL = re.compile(r"--from-literal=([^=\s]+)=(.*?)(?=\s+--|\s*$)")


def password_variable(name: str) -> str:
    """`prefect-postgresql` -> `HARNESS_SECRET_PREFECT_POSTGRESQL_PASSWORD`."""
    return "HARNESS_SECRET_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_PASSWORD"


@dataclass(frozen=True)
class PlannedSecret:
    """A Secret to create in a run namespace; `data` values are plain text (never logged)."""

    module: str
    namespace: str
    name: str
    type: str
    data: dict[str, str] = field(repr=False)

    def body(self, labels: Mapping[str, str]) -> dict[str, object]:
        """The Secret object, labelled with the run's labels."""
        return {"apiVersion": "v1", "kind": "Secret", "type": self.type,
                "metadata": {"name": self.name, "namespace": self.namespace,
                             "labels": dict(labels)},
                "data": {key: base64.b64encode(value.encode()).decode()
                         for key, value in self.data.items()}}


def plan_secrets(items: Iterable[UserProvided], scenario: Scenario, secrets: SecretStore,
                 namespaces: Mapping[str, str], env: Mapping[str, str]) -> list[PlannedSecret]:
    """The Secrets to create for the user-provided objects of the tools in `namespaces`
    (tool -> run namespace); each value read now and added to the run's secrets, so that
    output masks it.

    Raises:
        ProvisionError: an object of another kind, or a value the run does not have; names
            the object and the fix.
    """
    planned = []
    for item in items:
        if item.module not in namespaces:
            continue
        where = f"{item.kind} {item.name} ({item.module})"
        if item.kind != "Secret":
            msg = f"{where}: the harness creates only Secrets; create it in the run namespace"
            raise ProvisionError(msg)
        namespace = namespaces[item.module]
        if "docker-registry" in item.how.split():
            planned.append(_pull_secret(item, namespace, scenario, secrets, where))
        else:
            planned.append(_generic(item, namespace, secrets, env, where))
    return planned


def _pull_secret(item: UserProvided, namespace: str, scenario: Scenario,
                 secrets: SecretStore, where: str) -> PlannedSecret:
    server = str(scenario.var("docker_registry_server") or "")
    if not server:
        msg = (f"{where}: a registry pull secret needs the registry: set "
               "tfvars.docker_registry_server in the scenario")
        raise ProvisionError(msg)
    try:
        auth = secrets.get("docker_auth_key")
    except KeyError:
        msg = (f"{where}: a registry pull secret needs the registry login: set "
               "TF_VAR_docker_auth_key (base64 of user:password)")
        raise ProvisionError(msg) from None
    config = json.dumps({"auths": {server: {"auth": auth}}})
    return PlannedSecret(item.module, namespace, item.name, "kubernetes.io/dockerconfigjson",
                         {".dockerconfigjson": config})


def _generic(item: UserProvided, namespace: str, secrets: SecretStore,
             env: Mapping[str, str], where: str) -> PlannedSecret:
    # Not shlex: the modules' placeholders hold spaces (`<database password>`).
    literals = [(m.group(1), m.group(2)) for m in _LITERAL.finditer(item.how)]
    if not literals:
        msg = f"{where}: its `how` ({item.how}) gives no --from-literal key to fill"
        raise ProvisionError(msg)
    variable = password_variable(item.name)
    data = {}
    for key, template in literals:
        unknown = sorted(set(_PLACEHOLDER.findall(template)) - {DATABASE_PASSWORD})
        if unknown:
            msg = f"{where}: key {key!r} needs {', '.join(unknown)}, which the harness cannot fill"
            raise ProvisionError(msg)
        if DATABASE_PASSWORD in template:
            password = env.get(variable)
            if not password:
                msg = (f"{where}: key {key!r} holds your database's password: set {variable} "
                       "(the harness creates the Secret in the run's namespace)")
                raise ProvisionError(msg)
            secrets.put(f"{item.name}.password", password)
        data[key] = template.replace(DATABASE_PASSWORD, env.get(variable, ""))
    return PlannedSecret(item.module, namespace, item.name, "Opaque", data)
