"""`mlops-conformance sweep`: delete the run namespaces crashed runs left on a cluster.

Only namespaces labelled as this harness's (`namespaces.run_labels`) and older than the age
given are deleted; a run still going in parallel is younger, and anything else on the cluster
has no such label. Deleting a namespace deletes everything in it.

Public API:
    sweep(connection, older_than, now=None, dry_run=False) -> list[str]   the names chosen
    delete_run(connection, run_id) -> list[str]    a run's own namespaces, at its teardown
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from harness.errors import ProvisionError
from harness.k8s.connection import cause_of
from harness.k8s.namespaces import MANAGED_BY, MANAGER, RUN_ID_LABEL, run_labels, stale

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.k8s.connection import Connection

TIMEOUT_S = (5, 30)


def sweep(connection: Connection, older_than: timedelta, now: datetime | None = None,
          dry_run: bool = False) -> list[str]:
    """Delete (unless `dry_run`) this harness's namespaces older than `older_than`; return
    their names.

    Raises:
        ProvisionError: the API refused or failed a call; names the call and the cause.
    """
    # The label selector narrows what the API returns; `stale` checks the label again.
    return _delete(connection, f"{MANAGED_BY}={MANAGER}",
                   lambda listed: stale(listed, older_than, now or datetime.now(UTC)), dry_run)


def delete_run(connection: Connection, run_id: str) -> list[str]:
    """Delete every namespace labelled with run `run_id`; return their names.

    Raises:
        ProvisionError: as `sweep`.
    """
    return _delete(connection, f"{RUN_ID_LABEL}={run_labels(run_id)[RUN_ID_LABEL]}",
                   lambda listed: [ns.metadata.name for ns in listed
                                   if ns.metadata is not None and ns.metadata.name])


def _delete(connection: Connection, selector: str,
            choose: Callable[[list[Any]], list[str]], dry_run: bool = False) -> list[str]:
    from kubernetes import client  # noqa: PLC0415 - heavy; only the cluster target uses it

    core = client.CoreV1Api(connection.api_client)
    doing = "list namespaces"
    try:
        chosen = choose(core.list_namespace(label_selector=selector,
                                            _request_timeout=TIMEOUT_S).items)
        for name in [] if dry_run else chosen:
            doing = f"delete namespace {name}"
            core.delete_namespace(name, _request_timeout=TIMEOUT_S)
    except Exception as exc:
        msg = f"cluster context {connection.context!r}: cannot {doing}: {cause_of(exc)}"
        raise ProvisionError(msg) from exc
    return chosen
