"""Feast's checks on a cluster: a client repository on this machine that uses the cluster's
own registry and online store, as the feature server in the cluster does.

The module renders the servers' `feature_store.yaml` (`feature_store_yaml_base64` in the
release values). Its registry (SQL on the chart's PostgreSQL) and online store (Redis or
PostgreSQL) are in-cluster Services; each gets a port-forward, and the checks' repository
gets the same configuration with those addresses replaced by the forwards. The passwords
are read from the Secrets the servers' `extraEnvs` name. As on the local target, the
offline store is the client's own files: no server of the defaults reads it, and the checks
write the source data where their client reads it. A file registry lives inside the server's
pod, where no client can apply to it: Feast's checks are then skipped with that reason.

Public API:
    FeastAccess.of(values, namespace) -> FeastAccess     raises FeastUnreachableError
    FeastAccess.forwards -> list[Forward]                 one per store Service
    FeastAccess.client_yaml(ports) -> str                 the checks' feature_store.yaml
    FeastAccess.online_url(ports) -> str                  the online store's forwarded URL
    FeastAccess.secret_keys -> {env var: (Secret, key)}   where the passwords are
    give_checks(entry, values, namespace, secrets, reader, start) -> reason | None
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from harness.errors import ProvisionError
from harness.feature_store_yaml import Quoted, dump
from harness.k8s.forwards import LOCALHOST, Forward

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.k8s.cluster import ClusterReader
    from harness.secrets import SecretStore
    from harness.stack import ToolEntry

_CLUSTER_SUFFIX = ".svc.cluster.local"
# The Stack credential each server environment variable's password is stored under, as the
# local target names them (the checks read `expect.password_env` either way).
CREDENTIAL_OF_ENV = {"FEAST_POSTGRES_PASSWORD": "postgres_password",
                     "FEAST_REDIS_PASSWORD": "redis_password"}


class FeastUnreachableError(Exception):
    """The cluster's Feast cannot be used from this machine; the message says why."""


@dataclass(frozen=True)
class _Address:
    service: str
    port: int

    @classmethod
    def parse(cls, host: str, port: int | str) -> _Address:
        """`feast-redis-master.NS.svc.cluster.local`, `6379` -> Service `feast-redis-master`."""
        name = host.removesuffix(_CLUSTER_SUFFIX).split(".", 1)[0]
        if not host.endswith(_CLUSTER_SUFFIX) and "." in host:
            msg = f"store host {host!r} is not a Service of the cluster"
            raise FeastUnreachableError(msg)
        return cls(name, int(port))


@dataclass
class FeastAccess:
    """The cluster's Feast configuration and where its stores are."""

    store: dict[str, Any]
    namespace: str
    registry: _Address
    online: _Address | None
    secret_keys: dict[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, values: dict[str, Any], namespace: str) -> FeastAccess:
        """From a Feast server release's values, installed in `namespace`.

        Raises:
            FeastUnreachableError: no rendered configuration, a file registry, or a store
                outside the cluster.
        """
        encoded = str(values.get("feature_store_yaml_base64") or "")
        try:
            store = yaml.safe_load(base64.b64decode(encoded, validate=True)) if encoded else None
        except (binascii.Error, yaml.YAMLError) as exc:
            msg = f"the servers' feature_store_yaml_base64 does not decode: {exc}"
            raise FeastUnreachableError(msg) from exc
        if not isinstance(store, dict):
            msg = "no Feast server renders a feature_store.yaml"
            raise FeastUnreachableError(msg)
        registry = store.get("registry") or {}
        if registry.get("registry_type") != "sql":
            msg = ("its registry is a file inside the feature server's pod "
                   "(feast_posgresql_enabled = false): no client can apply to it")
            raise FeastUnreachableError(msg)
        url = urlsplit(str(registry.get("path", "")).replace("${", "").replace("}", ""))
        access = cls(store, namespace, _Address.parse(url.hostname or "", url.port or 5432),
                     cls._online(store.get("online_store") or {}))
        for env in values.get("extraEnvs") or []:
            ref = ((env.get("valueFrom") or {}).get("secretKeyRef") or {})
            if env.get("name") in CREDENTIAL_OF_ENV and ref.get("name"):
                access.secret_keys[str(env["name"])] = (str(ref["name"]), str(ref.get("key")))
        return access

    @staticmethod
    def _online(online: dict[str, Any]) -> _Address | None:
        kind = online.get("type")
        if kind == "redis":
            host, _, port = str(online.get("connection_string", "")).split(",")[0] \
                .rpartition(":")
            return _Address.parse(host, port or 6379)
        if kind == "postgres":
            return _Address.parse(str(online.get("host", "")), online.get("port") or 5432)
        return None  # sqlite inside the pod: the checks say the online store is not shared

    @property
    def forwards(self) -> list[Forward]:
        """A forward per store Service (one when registry and online store share it)."""
        services = dict.fromkeys(a for a in (self.registry, self.online) if a is not None)
        return [Forward(f"feast-{a.service}", self.namespace, a.service, a.port)
                for a in services]

    def client_yaml(self, ports: dict[str, int]) -> str:
        """The checks' `feature_store.yaml`: the cluster's, through the forwards' local
        `ports` (by forward name); passwords as `${VAR}`, the registry's given to the driver
        apart from its URL (a password with `@:/#` would break the URL).
        """
        registry_url = urlsplit(str(self.store["registry"]["path"]))
        user = registry_url.username or ""
        database = registry_url.path.lstrip("/")
        scheme = registry_url.scheme
        port = ports[f"feast-{self.registry.service}"]
        registry: dict[str, Any] = {
            "registry_type": "sql",
            "path": f"{scheme}://{user}@{LOCALHOST}:{port}/{database}",
            "sqlalchemy_config_kwargs": {"echo": False, "connect_args": {
                "password": Quoted("${FEAST_POSTGRES_PASSWORD}")}},
            "cache_ttl_seconds": 60}
        online = dict(self.store.get("online_store") or {})
        if self.online is not None:
            local = ports[f"feast-{self.online.service}"]
            if online.get("type") == "redis":
                _, comma, rest = str(online.get("connection_string", "")).partition(",")
                online["connection_string"] = Quoted(f"{LOCALHOST}:{local}{comma}{rest}")
            else:
                online.update(host=LOCALHOST, port=local, sslmode="disable",
                              password=Quoted(str(online.get("password", ""))))
        return dump({"project": self.store.get("project", ""), "provider": "local",
                     "registry": registry, "online_store": online,
                     "offline_store": {"type": "file"},
                     "entity_key_serialization_version": self.store.get(
                         "entity_key_serialization_version", 3)})

    def online_url(self, ports: dict[str, int]) -> str | None:
        """The online store through its forward, as the local target gives it to the checks."""
        if self.online is None:
            return None
        online = self.store.get("online_store") or {}
        local = ports[f"feast-{self.online.service}"]
        if online.get("type") == "redis":
            return f"redis://{LOCALHOST}:{local}"
        return f"postgresql://{LOCALHOST}:{local}/{online.get('database', '')}"


def give_checks(entry: ToolEntry, values: dict[str, Any], namespace: str,
                secrets: SecretStore, reader: ClusterReader,
                start: Callable[[Forward], int]) -> str | None:
    """Give Feast's checks (`entry`, the feature server's) the cluster's registry and online
    store: `start` a forward per store Service, the client `feature_store.yaml` through them,
    the passwords read from the Secrets the servers' environment names (kept as run
    secrets); or return why they cannot be reached.

    Raises:
        ProvisionError: a Secret the servers read lacks its key.
    """
    try:
        access = FeastAccess.of(values, namespace)
    except FeastUnreachableError as exc:
        return f"Feast's checks cannot reach the cluster's stores: {exc}"
    found = {str(s.metadata.name if s.metadata else ""): s for s in reader.secrets(namespace)}
    for env, (name, key) in sorted(access.secret_keys.items()):
        secret = found.get(name)
        encoded = (secret.data or {}).get(key) if secret is not None else None
        if encoded is None:
            msg = f"feast: Secret {namespace}/{name} has no key {key!r}, which the servers " \
                  f"read as {env}"
            raise ProvisionError(msg)
        credential = CREDENTIAL_OF_ENV[env]
        secrets.put(f"feast_{credential}", base64.b64decode(encoded).decode())
        entry.credentials[credential] = secrets.ref(f"feast_{credential}")
    ports = {forward.name: start(forward) for forward in access.forwards}
    entry.expect.update(feature_store_yaml=access.client_yaml(ports), password_env={
        env: CREDENTIAL_OF_ENV[env] for env in access.secret_keys})
    if (online := access.online_url(ports)) is not None:
        entry.endpoints["online_store"] = online
    return None
