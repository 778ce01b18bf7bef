"""Reaching a cluster from the user's kubeconfig: the context, its API server, what it serves.

`connect` answers within seconds: one attempt per request with short timeouts, because an
unreachable API server is a fact to report (exit 3, naming the context), not something that
settles. `KUBECONFIG` is honoured as `kubectl` does (the `kubernetes` client reads it).

Public API:
    connect(context) -> Connection        raises ProvisionError naming the context and why
    Connection.kube_version               "1.30", the server's minor version
    Connection.default_storage_class() -> name or None
    Connection.can(verb, resource, group="") -> bool    a SelfSubjectAccessReview
    cause_of(exc) -> str                  a client error in one line, without object addresses
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.errors import ProvisionError

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

# (connect, read) seconds for the calls `prepare` makes: an answer is expected at once.
TIMEOUT_S = (5, 15)
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*")


@dataclass
class Connection:
    """A context whose API server answered, and its version."""

    context: str
    server: str
    api_client: ApiClient
    kube_version: str
    git_version: str

    def default_storage_class(self) -> str | None:
        """The name of the StorageClass marked default, or None."""
        from kubernetes import client  # noqa: PLC0415 - heavy; only the cluster target uses it

        classes = client.StorageV1Api(self.api_client).list_storage_class(
            _request_timeout=TIMEOUT_S).items
        for item in classes:
            meta = item.metadata
            if meta is not None and (meta.annotations or {}).get(DEFAULT_CLASS) == "true":
                return str(meta.name)
        return None

    def can(self, verb: str, resource: str, group: str = "") -> bool:
        """Whether the context's user may `verb` `resource` cluster-wide."""
        from kubernetes import client  # noqa: PLC0415

        review = client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(verb=verb, resource=resource,
                                                            group=group)))
        answer = client.AuthorizationV1Api(self.api_client).create_self_subject_access_review(
            review, _request_timeout=TIMEOUT_S)
        return answer.status is not None and bool(answer.status.allowed)


def kubeconfig_path() -> str:
    """Where the kubeconfig is read from, for messages."""
    return os.environ.get("KUBECONFIG") or "~/.kube/config"


def connect(context: str | None) -> Connection:
    """Load `context` (the current one when None) and ask its API server for its version.

    Raises:
        ProvisionError: no kubeconfig, no such context, or the API server does not answer or
            refuses the credentials; one line naming the context and the cause.
    """
    from kubernetes import client, config  # noqa: PLC0415
    from kubernetes.config.config_exception import ConfigException  # noqa: PLC0415

    where = kubeconfig_path()
    # Read now, not when the client was imported (it reads KUBECONFIG once, at import).
    config_file = os.environ.get("KUBECONFIG") or None
    try:
        contexts, current = config.list_kube_config_contexts(config_file)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as exc:
        name = context or "(current)"
        msg = (f"cluster context {name!r}: no kubeconfig at {where} ({_short(exc)}); start a "
               "cluster (`minikube start`) or set KUBECONFIG")
        raise ProvisionError(msg) from exc
    names = [c["name"] for c in contexts or []]
    name = context or (current or {}).get("name", "")
    if name not in names:
        msg = (f"cluster context {name!r} is not in {where} (it has: "
               f"{', '.join(names) or 'none'}); start it (`minikube start`) or name another "
               "with --target k8s://CONTEXT")
        raise ProvisionError(msg)
    configuration = client.Configuration()
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file, context=name,
            client_configuration=configuration, persist_config=False)
    except (ConfigException, OSError, ValueError) as exc:
        raise ProvisionError(f"cluster context {name!r}: {where}: {_short(exc)}") from exc
    configuration.retries = False  # one attempt: refused now is the answer
    api_client = client.ApiClient(configuration)
    try:
        version = client.VersionApi(api_client).get_code(_request_timeout=TIMEOUT_S)
    except Exception as exc:
        api_client.close()  # type: ignore[no-untyped-call]
        msg = (f"cluster context {name!r} ({configuration.host}): the API server does not "
               f"answer: {cause_of(exc)}")
        raise ProvisionError(msg) from exc
    # Managed clusters say minor "30+": the digits are the version.
    major, minor = (re.sub(r"\D", "", str(part)) for part in (version.major, version.minor))
    return Connection(name, str(configuration.host), api_client, f"{major}.{minor}",
                      str(version.git_version))


def cause_of(exc: BaseException) -> str:
    """The innermost reason of a client error, in one line without object addresses."""
    status = getattr(exc, "status", None)
    if status:  # an HTTP answer: the API server is there but refused
        reason = getattr(exc, "reason", "") or ""
        return f"HTTP {status} {reason}".strip() + (
            "; the context's credentials are not accepted" if status in {401, 403} else "")
    inner: BaseException = exc
    while isinstance(reason := getattr(inner, "reason", None), BaseException):
        inner = reason
    return _short(inner)


def _short(exc: BaseException) -> str:
    text = _OBJECT_REPR.sub("", str(exc)).strip() or type(exc).__name__
    return " ".join(text.split())[:300]

