"""The diagnostics bundle: what a failed run leaves for someone to read, bounded in size.

`write_bundle` reads each namespace through a `ClusterReader` and writes, under
`<directory>/diagnostics/`:

    index.md                              what is here, sizes, what was cut or left out
    <namespace>/events.txt                one line per event, oldest first
    <namespace>/pods.yaml                 every pod's phase, conditions and container states
    <namespace>/helm/<release>.yaml       each Helm release's latest revision and its values
    <namespace>/logs/<pod>/<container>.log            the container's log (its tail)
    <namespace>/logs/<pod>/<container>.previous.log   its previous instance's, if it restarted

Every file is capped (`max_file_bytes`; logs and events keep their end, the rest its start,
with a line saying how much was cut) and the bundle is capped (`max_total_bytes`, index
included): once a file does not fit, it and every file after it are listed in index.md as
omitted with the size they would have had. The namespaces' events, pods and releases are
written first, then the logs of troubled containers, then the other logs. Everything written
passes through `redact` (the run's `SecretStore.redactor`), and Helm values under keys that
look secret are masked regardless, since chart values carry credentials.

Public API:
    write_bundle(reader, namespaces, directory, ...) -> Bundle
    Bundle                          files written per namespace, sizes, truncated, omitted
    mask_values(values)             chart values with secret-looking keys' values masked
    MAX_TOTAL_BYTES, MAX_FILE_BYTES, LOG_TAIL_LINES   the defaults
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from harness.k8s.cluster import event_time

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from harness.k8s.cluster import ClusterReader

MAX_TOTAL_BYTES = 8 * 1024 * 1024
MAX_FILE_BYTES = 256 * 1024
LOG_TAIL_LINES = 2000

HELM_SECRET_TYPE = "helm.sh/release.v1"  # noqa: S105 - a Secret type, not a password
MASK = "***"
_NOTES_LINES = 20
# Helm's own keys for credentials, and charts' (`adminPassword`, `existingSecret`, `apiKey`...).
_SECRET_KEY = re.compile(r"password|passwd|secret|token|key|credential", re.IGNORECASE)
# A release record is at most a Secret (1 MiB) of gzip; refuse to inflate it without end.
_MAX_RELEASE_JSON = 64 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b\x08"
# Room kept for index.md's heading and totals; its per-file lines are counted as they come.
_INDEX_RESERVE = 2048
_INDEX = "index.md"


@dataclass
class Bundle:
    """What `write_bundle` wrote. Paths are relative to the `directory` it was given (the
    run's report directory), so a report there links them as they are.
    """

    root: Path
    files: dict[str, list[Path]] = field(default_factory=dict)  # namespace -> files written
    total_bytes: int = 0  # every file written, index.md included
    truncated: list[Path] = field(default_factory=list)  # written, but cut to their bound
    omitted: list[tuple[Path, int]] = field(default_factory=list)  # not written: would-be size
    errors: list[str] = field(default_factory=list)  # what could not be read
    index: Path = Path("diagnostics") / _INDEX

    @property
    def paths(self) -> list[Path]:
        """Every file written, index.md first."""
        return [self.index, *(p for files in self.files.values() for p in files)]

    def summary(self, namespace: str) -> str | None:
        """A line for a failing check of the tool in `namespace`: where to look."""
        files = self.files.get(namespace)
        if not files:
            return None
        return f"{len(files)} files in diagnostics/{namespace}/ (see {self.index.as_posix()})"


def write_bundle(
    reader: ClusterReader,
    namespaces: Iterable[str],
    directory: Path,
    *,
    redact: Callable[[str], str] = lambda s: s,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_file_bytes: int = MAX_FILE_BYTES,
    log_tail_lines: int = LOG_TAIL_LINES,
) -> Bundle:
    """Write the diagnostics of `namespaces` under `directory/diagnostics/` and say what.

    A read that fails (a namespace gone, an API error) is listed in index.md and the rest is
    still collected: the bundle is written when something already went wrong.
    """
    if log_tail_lines < 1:
        raise ValueError("log_tail_lines must be at least 1")
    ordered = list(dict.fromkeys(namespaces))
    writer = _Writer(directory, ordered, redact, max_total_bytes, max_file_bytes)
    pods: dict[str, list[Any]] = {}
    for namespace in ordered:
        events = writer.read(namespace, "events", partial(reader.events, namespace))
        if events is not None:
            header, body = _events_text(events)
            writer.add(namespace, "events.txt", body, keep="tail", header=header)
        found = writer.read(namespace, "pods", partial(reader.pods, namespace))
        pods[namespace] = found or []
        if found is not None:
            writer.add(namespace, "pods.yaml", _dump([_pod_status(p) for p in found]),
                       keep="head")
        secrets = writer.read(namespace, "Helm releases",
                              partial(reader.secrets, namespace, {"owner": "helm"}))
        for name, secret in _latest_releases(secrets or []).items():
            writer.add(namespace, f"helm/{_safe(name)}.yaml", _release_text(secret),
                       keep="head")
    for namespace, pod, container, previous in _log_targets(pods):
        what = f"log of {pod}/{container}" + (" (previous)" if previous else "")
        text = writer.read(namespace, what, partial(reader.log, namespace, pod, container,
                                                    previous=previous,
                                                    tail_lines=log_tail_lines + 1))
        if text is None:
            continue
        # One line more than kept tells whether the server had more than the tail.
        lines = text.splitlines(keepends=True)
        fetched = ""
        if len(lines) > log_tail_lines:
            text = "".join(lines[-log_tail_lines:])
            fetched = f"only the last {log_tail_lines} lines were read"
        suffix = ".previous.log" if previous else ".log"
        writer.add(namespace, f"logs/{_safe(pod)}/{_safe(container)}{suffix}", text,
                   keep="tail", fetched=fetched)
    return writer.finish(log_tail_lines)


# --- the budget and the index ------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    namespace: str
    name: str  # inside the namespace's directory
    size: int  # as written, or as it would have been
    note: str
    written: bool

    def line(self) -> str:
        where = f"{_safe(self.namespace)}/{self.name}"
        shown = f"[{self.name}]({where})" if self.written else f"`{self.name}`"
        note = self.note if self.written else "omitted: the bundle's size bound was reached"
        return f"| {shown} | {self.size} | {note} |\n"


def _section(namespace: str) -> str:
    return f"\n## {namespace}\n\n| file | bytes | note |\n|---|---:|---|\n"


class _Writer:
    """Writes files while the bundle's bound allows and remembers each one for index.md."""

    def __init__(self, directory: Path, namespaces: list[str], redact: Callable[[str], str],
                 max_total: int, max_file: int) -> None:
        self.directory = directory
        self.root = directory / "diagnostics"
        self.namespaces = namespaces
        self.redact = redact
        self.max_total = max_total
        self.max_file = max_file
        self.entries: list[_Entry] = []
        self.errors: list[str] = []
        self.listed_errors = 0
        self.folded = [0, 0]  # omitted files too many to list even in index.md: count, bytes
        self.full = False
        # index.md counts against the bound: its fixed part now, each line as it is added.
        self.used = _INDEX_RESERVE + sum(len(_section(ns).encode()) for ns in namespaces)
        self.root.mkdir(parents=True, exist_ok=True)

    def read(self, namespace: str, what: str, call: Callable[[], Any]) -> Any:
        """`call()`, or None (and an error for index.md) when the cluster cannot answer."""
        try:
            return call()
        except Exception as exc:  # any failure is reported, and the rest still collected
            message = self.redact(f"{namespace}: {what}: {type(exc).__name__}: {exc}")
            message = " ".join(message.split())[:300]
            self.errors.append(message)
            cost = len(f"- {message}\n".encode())
            if self.used + cost <= self.max_total:  # listed in index.md while there is room
                self.used += cost
                self.listed_errors += 1
            return None

    def add(self, namespace: str, name: str, text: str, *, keep: Literal["head", "tail"],
            header: str = "", fetched: str = "") -> None:
        """Write `text` (redacted, cut to the per-file bound) if the bundle has room."""
        # Redact before cutting: a cut through a secret would leave part of it unmasked.
        text = self.redact(text)
        limit = max(self.max_file - len(header.encode()), 0)
        if keep == "tail":
            body, note = _keep_tail(text, limit, fetched)
        else:
            body, note = _keep_head(text, limit)
        data = header.encode() + body
        entry = _Entry(namespace, name, len(data), note, written=True)
        cost = len(data) + len(entry.line().encode())
        if not self.full and self.used + cost <= self.max_total:
            path = self.root / _safe(namespace) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            self.used += cost
            self.entries.append(entry)
            return
        # Once one file does not fit none after it is written: the order is the priority.
        self.full = True
        omitted = _Entry(namespace, name, len(data), note, written=False)
        line_cost = len(omitted.line().encode())
        if self.used + line_cost <= self.max_total:
            self.used += line_cost
            self.entries.append(omitted)
        else:
            self.folded[0] += 1
            self.folded[1] += len(data)

    def finish(self, log_tail_lines: int) -> Bundle:
        base = self.root.relative_to(self.directory)
        bundle = Bundle(root=self.root, index=base / _INDEX, errors=list(self.errors))
        written = 0
        for entry in self.entries:
            path = base / _safe(entry.namespace) / entry.name
            if entry.written:
                bundle.files.setdefault(entry.namespace, []).append(path)
                written += entry.size
                if entry.note:
                    bundle.truncated.append(path)
            else:
                bundle.omitted.append((path, entry.size))
        index = self.redact(self._index(bundle, written, log_tail_lines)).encode()
        (self.root / _INDEX).write_bytes(index)
        bundle.total_bytes = written + len(index)
        return bundle

    def _index(self, bundle: Bundle, written: int, log_tail_lines: int) -> str:
        count = sum(len(files) for files in bundle.files.values())
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        head = [
            "# Diagnostics\n\n",
            f"Collected {now} from {_count(len(self.namespaces), 'namespace')}: "
            f"{_count(count, 'file')}, "
            f"{_human(written)} besides this index.\n",
            f"Bounds: {_human(self.max_file)} per file, {_human(self.max_total)} in all, "
            f"the last {log_tail_lines} lines of each log.\n",
            f"Cut to their bound: {_count(len(bundle.truncated), 'file')}. "
            f"Left out: {_count(len(bundle.omitted) + self.folded[0], 'file')}.\n",
            "Secrets the run knows are masked (`***`) everywhere; Helm values under keys that "
            "look secret are masked regardless.\n",
        ]
        if self.folded[0]:
            folded = _count(self.folded[0], "file")
            head.append(f"Not listed below for lack of room: {folded}, "
                        f"{_human(self.folded[1])}.\n")
        body = []
        for namespace in self.namespaces:
            body.append(_section(namespace))
            body.extend(e.line() for e in self.entries if e.namespace == namespace)
        if self.errors:
            body.append("\n## Could not read\n\n")
            body.extend(f"- {message}\n" for message in self.errors[:self.listed_errors])
        return "".join(head + body)


def _keep_tail(text: str, limit: int, fetched: str) -> tuple[bytes, str]:
    """The end of `text` in at most `limit` bytes, after a first line saying what was cut."""
    data = text.encode()
    if not fetched and len(data) <= limit:
        return data, ""
    if len(_tail_note(fetched, 0)) + len(data) <= limit:
        return _tail_note(fetched, 0) + data, fetched
    # The note's length depends on the count it states: reserve room for the largest.
    room = max(limit - len(_tail_note(fetched, len(data))), 0)
    tail = data[len(data) - room:] if room else b""
    newline = tail.find(b"\n")
    if 0 <= newline < len(tail) - 1:  # start on a whole line
        tail = tail[newline + 1:]
    tail = tail.decode("utf-8", "ignore").encode()  # nor inside a character
    cut = len(data) - len(tail)
    note = f"{fetched}; " if fetched else ""
    return _tail_note(fetched, cut) + tail, f"{note}first {cut} bytes cut"


def _tail_note(fetched: str, cut: int) -> bytes:
    parts = [fetched] if fetched else []
    if cut:
        parts.append(f"the first {cut} bytes were cut, the end follows")
    return f"[diagnostics: {'; '.join(parts)}]\n".encode() if parts else b""


def _keep_head(text: str, limit: int) -> tuple[bytes, str]:
    """The start of `text` in at most `limit` bytes, then a line saying how much was cut."""
    data = text.encode()
    if len(data) <= limit:
        return data, ""
    room = max(limit - len(_head_note(len(data))), 0)
    head = data[:room]
    newline = head.rfind(b"\n")
    if newline >= 0:  # end on a whole line
        head = head[:newline + 1]
    head = head.decode("utf-8", "ignore").encode()
    cut = len(data) - len(head)
    return head + _head_note(cut), f"last {cut} bytes cut"


def _head_note(cut: int) -> bytes:
    return f"# [diagnostics: the last {cut} bytes were cut]\n".encode()


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _human(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def _safe(name: str) -> str:
    """A path component from an object's name (they are DNS names; never trust that)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return cleaned if cleaned.strip(".") else f"_{cleaned}"


# --- events and pods -----------------------------------------------------------------------


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        moment: datetime = value.astimezone(UTC) if value.tzinfo is not None else value
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return "" if value is None else str(value)


def _events_text(events: list[Any]) -> tuple[str, str]:
    """Like `kubectl get events`, with absolute times: a header line and one line each."""
    rows = []
    for event in events:
        series = event.series
        when = event_time(event)
        count = event.count or (series.count if series else None) or 1
        involved = event.involved_object
        obj = f"{involved.kind or '?'}/{involved.name or '?'}" if involved else "?"
        message = " ".join((event.message or "").split())  # one line per event
        rows.append((_when(when) or "-", event.type or "-", event.reason or "-", obj,
                     f"x{count}", message))
    titles = ("TIME", "TYPE", "REASON", "OBJECT", "COUNT", "MESSAGE")
    widths = [max([len(titles[i]), *(len(r[i]) for r in rows)]) for i in range(5)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells[:5], widths, strict=True)) \
            + f"  {cells[5]}".rstrip() + "\n"

    return line(titles), "".join(line(r) for r in rows)


def _pod_status(pod: Any) -> dict[str, Any]:
    """The pod's state as someone debugging it needs it; not its spec."""
    status = pod.status
    spec = pod.spec
    out: dict[str, Any] = {"name": pod.metadata.name}
    if status is None:
        return out
    out.update(_compact({
        "phase": status.phase, "reason": status.reason, "message": status.message,
        "node": spec.node_name if spec else None, "started": _when(status.start_time),
        "conditions": [_compact({
            "type": c.type, "status": c.status, "reason": c.reason, "message": c.message,
            "since": _when(c.last_transition_time)}) for c in status.conditions or []],
        "init_containers": [_container(c) for c in status.init_container_statuses or []],
        "containers": [_container(c) for c in status.container_statuses or []],
    }))
    return out


def _container(status: Any) -> dict[str, Any]:
    return _compact({
        "name": status.name, "image": status.image, "ready": status.ready,
        "started": status.started, "restarts": status.restart_count,
        "state": _state(status.state), "last_state": _state(status.last_state),
    })


def _state(state: Any) -> dict[str, Any] | None:
    if state is None:
        return None
    if state.waiting:
        return {"waiting": _compact({"reason": state.waiting.reason,
                                     "message": state.waiting.message})}
    if state.terminated:
        done = state.terminated
        return {"terminated": _compact({
            "exit_code": done.exit_code, "signal": done.signal, "reason": done.reason,
            "message": done.message, "started": _when(done.started_at),
            "finished": _when(done.finished_at)})}
    if state.running:
        return {"running": {"started": _when(state.running.started_at)}}
    return None


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [], {})}


def _dump(data: Any) -> str:
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100))


def _log_targets(pods: dict[str, list[Any]]) -> list[tuple[str, str, str, bool]]:
    """(namespace, pod, container, previous) for every container that ever ran; a troubled
    container's logs come first, its previous instance's (the crash) before its current.
    """
    targets: list[tuple[bool, int, str, str, str, str, bool]] = []
    for rank, (namespace, found) in enumerate(pods.items()):
        for pod in found:
            status = pod.status
            if status is None:
                continue
            phase_bad = status.phase not in {"Running", "Succeeded"}
            for c in [*(status.init_container_statuses or []),
                      *(status.container_statuses or [])]:
                state = c.state
                ran = bool(c.restart_count or (state and (state.running or state.terminated)))
                if not ran:  # waiting for its image or its volumes: there is no log yet
                    continue
                done_ok = bool(state and state.terminated and state.terminated.exit_code == 0)
                troubled = bool(c.restart_count) or (not c.ready and not done_ok) or phase_bad
                name = pod.metadata.name
                if c.restart_count:
                    targets.append((not troubled, rank, namespace, name, c.name, "0", True))
                targets.append((not troubled, rank, namespace, name, c.name, "1", False))
    targets.sort()
    return [(namespace, pod, container, previous)
            for _, _, namespace, pod, container, _, previous in targets]


# --- Helm releases -------------------------------------------------------------------------


def _latest_releases(secrets: list[Any]) -> dict[str, Any]:
    """Release name -> the storage Secret of its highest revision."""
    latest: dict[str, tuple[int, Any]] = {}
    for secret in secrets:
        labels = secret.metadata.labels or {}
        if secret.type not in {None, HELM_SECRET_TYPE} or labels.get("owner") != "helm":
            continue
        name = labels.get("name")
        if not name:
            continue
        try:
            version = int(labels.get("version", ""))
        except ValueError:
            version = -1
        if name not in latest or version > latest[name][0]:
            latest[name] = (version, secret)
    return {name: secret for name, (_, secret) in sorted(latest.items())}


def _decode_release(secret: Any) -> dict[str, Any]:
    """The release record Helm stores in a Secret.

    Helm writes base64(gzip(JSON)) into the Secret's `release` key; the API's JSON carries a
    Secret's bytes base64-encoded again, and the client leaves that string as it came.
    """
    raw = (secret.data or {}).get("release")
    if raw is None:
        raise ValueError("the Secret has no `release` key")
    helm_text = base64.b64decode(raw) if isinstance(raw, str) else raw  # bytes: decoded once
    packed = base64.b64decode(helm_text)
    if packed[:3] == _GZIP_MAGIC:  # records from before Helm compressed them are plain JSON
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        packed = inflater.decompress(packed, _MAX_RELEASE_JSON)
        if inflater.unconsumed_tail:
            raise ValueError(f"the record inflates past {_MAX_RELEASE_JSON} bytes")
    record = json.loads(packed)
    if not isinstance(record, dict):
        raise TypeError("the record is not a JSON object")
    return record


def _release_text(secret: Any) -> str:
    try:
        record = _decode_release(secret)
    except (ValueError, TypeError, binascii.Error, zlib.error) as exc:
        return f"# could not decode Helm's record in Secret {secret.metadata.name}: {exc}\n"
    info = record.get("info") or {}
    metadata = (record.get("chart") or {}).get("metadata") or {}
    notes = (info.get("notes") or "").splitlines()
    summary = _compact({
        "name": record.get("name"), "namespace": record.get("namespace"),
        "revision": record.get("version"), "status": info.get("status"),
        "chart": _compact({"name": metadata.get("name"), "version": metadata.get("version")}),
        "app_version": metadata.get("appVersion"),
        "first_deployed": info.get("first_deployed"), "last_deployed": info.get("last_deployed"),
        "description": info.get("Description"),  # sic: Helm's JSON key is capitalised
    })
    # The values the release was installed with (`helm get values`), not the chart's defaults;
    # before the notes, so a cut to the file bound takes the notes first.
    summary["values"] = mask_values(record.get("config") or {})
    if notes:
        more = "\n[...]" if len(notes) > _NOTES_LINES else ""
        summary["notes"] = "\n".join(notes[:_NOTES_LINES]) + more
    return _dump(summary)


def mask_values(value: Any, hidden: bool = False) -> Any:
    """`value` with every scalar under a key that looks secret replaced by `***`.

    Booleans, nulls and empty strings stay: they say whether a feature is on, not a secret.
    """
    if isinstance(value, dict):
        return {k: mask_values(v, hidden or bool(_SECRET_KEY.search(str(k))))
                for k, v in value.items()}
    if isinstance(value, list):
        return [mask_values(v, hidden) for v in value]
    if hidden and not (value is None or isinstance(value, bool) or value == ""):
        return MASK
    return value
