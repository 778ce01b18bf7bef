"""Run namespaces: one per run and tool, labelled so a sweeper finds what crashed runs left.

A namespace is `<prefix>-<run-id>-<tool>`, so runs side by side never share one. It carries
`run_labels(run_id)` and a `created-at` annotation; `stale` picks, among a cluster's
namespaces, only those labelled as ours and older than an age (`sweep --older-than 6h`).

Public API:
    run_namespace(prefix, run_id, tool) -> str      the namespace's name, a DNS-1123 label
    run_labels(run_id) -> dict[str, str]            the labels every run namespace carries
    created_at_annotation(now=None) -> dict         when it was made, RFC 3339
    parse_age("6h") -> timedelta                    `--older-than`'s value
    stale(namespaces, older_than, now) -> [name]    the namespaces a sweep removes
    MANAGED_BY, RUN_ID_LABEL, CREATED_AT            the label and annotation keys
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from harness.errors import BadInputError

if TYPE_CHECKING:
    from collections.abc import Iterable

MANAGER = "mlops-conformance"
MANAGED_BY = "app.kubernetes.io/managed-by"
RUN_ID_LABEL = "mlops-conformance/run-id"
CREATED_AT = "mlops-conformance/created-at"

_MAX_NAME = 63  # a namespace name is a DNS-1123 label
_MAX_LABEL_VALUE = 63
_MAX_PREFIX = 20
_MAX_TOOL = 24  # with the prefix's bound, leaves the run id at least 17 characters
_HASH = 10  # hex digits of the run id's digest when it is shortened or rewritten
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)?")
_AGE = re.compile(r"([0-9]+)([smhd])")  # ASCII digits only: \d also takes other scripts'
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def run_namespace(prefix: str, run_id: str, tool: str) -> str:
    """The namespace of `tool` in run `run_id`: `<prefix>-<run-id>-<tool>`.

    When the run id is too long for the 63 characters, or had to be rewritten to fit the
    alphabet, its part becomes its start and a digest of the whole id: two run ids never
    share a namespace, however long a start they share.
    """
    if len(prefix) > _MAX_PREFIX or not _DNS_LABEL.fullmatch(prefix):
        raise BadInputError(
            f"namespace_prefix {prefix!r} cannot start a namespace name: use lowercase "
            f"letters, digits and '-', beginning and ending with a letter or digit, at most "
            f"{_MAX_PREFIX} characters (e.g. 'mlc')")
    tool_part = _dns_part(tool)
    if not tool_part or len(tool_part) > _MAX_TOOL:
        raise ValueError(f"tool name {tool!r} does not fit a namespace name")
    room = _MAX_NAME - len(prefix) - len(tool_part) - 2
    run_part = _dns_part(run_id)
    if run_part != run_id or len(run_part) > room:
        digest = _digest(run_id)
        start = run_part[:room - _HASH - 1].rstrip("-")
        run_part = f"{start}-{digest}" if start else digest
    return f"{prefix}-{run_part}-{tool_part}"


def run_labels(run_id: str) -> dict[str, str]:
    """The labels of a run's namespaces: ours (what the sweeper looks for), and which run."""
    return {MANAGED_BY: MANAGER, RUN_ID_LABEL: _label_value(run_id)}


def created_at_annotation(now: datetime | None = None) -> dict[str, str]:
    """The annotation saying when a run namespace was made (RFC 3339, UTC)."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("a creation time needs its time zone")
    return {CREATED_AT: moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def parse_age(text: str) -> timedelta:
    """`--older-than`'s value: a whole number and a unit, `90s`, `30m`, `6h`, `2d`."""
    match = _AGE.fullmatch(text.strip())
    if not match or int(match.group(1)) == 0:
        raise BadInputError(
            f"--older-than {text!r} is not an age: give a positive whole number and one unit "
            "of s, m, h or d, e.g. 90s, 30m, 6h, 2d")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def stale(namespaces: Iterable[Any], older_than: timedelta, now: datetime) -> list[str]:
    """The names, sorted, of the `V1Namespace`s a sweep removes: labelled as ours, made more
    than `older_than` before `now`, and not already being deleted.

    A namespace without our label is never chosen, nor one whose age cannot be told.
    """
    if now.tzinfo is None:
        raise ValueError("`now` needs its time zone")
    chosen = []
    for namespace in namespaces:
        metadata = namespace.metadata
        if metadata is None or (metadata.labels or {}).get(MANAGED_BY) != MANAGER:
            continue
        phase = namespace.status.phase if namespace.status else None
        if phase == "Terminating" or metadata.deletion_timestamp is not None:
            continue
        created = _created(metadata)
        if created is not None and now - created > older_than:
            chosen.append(metadata.name)
    return sorted(chosen)


def _created(metadata: Any) -> datetime | None:
    # Our annotation first: it is what the run wrote; the server's timestamp otherwise.
    text = (metadata.annotations or {}).get(CREATED_AT)
    if text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    stamp = metadata.creation_timestamp
    if isinstance(stamp, datetime) and stamp.tzinfo is not None:
        return stamp
    return None


def _dns_part(text: str) -> str:
    """`text` in a DNS label's alphabet: lowercase, other characters as single '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _label_value(text: str) -> str:
    """`text` as a label value; rewritten or shortened ones end in a digest of `text`."""
    if len(text) <= _MAX_LABEL_VALUE and _LABEL_VALUE.fullmatch(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", text)
    start = cleaned[:_MAX_LABEL_VALUE - _HASH - 1].strip("._-")
    return f"{start}-{_digest(text)}" if start else _digest(text)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH]
