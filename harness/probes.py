"""Identity probes: whether a tool's endpoint answers, and answers as that tool.

A TCP connect, then one request that only the real tool answers correctly. Each probe gives a
verdict in seconds: one attempt, short timeouts, since a closed port or a silent server is the
answer, not something to wait out.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

if TYPE_CHECKING:
    from collections.abc import Callable

    from harness.stack import ToolEntry

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 15.0
DEFAULT_PORTS = {"http": 80, "https": 443, "redis": 6379, "rediss": 6379, "postgresql": 5432}
SELDON_GROUP = "apis/machinelearning.seldon.io/v1"


class _Mismatch(Exception):
    """Raised by an identity probe: the answer is not the tool's; the message says what it is."""


def _get(url: str) -> requests.Response:
    # One attempt: a closed port or a silent server is the verdict, not something to wait out.
    return requests.get(url, timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S), allow_redirects=False)


def _seen(response: requests.Response) -> str:
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    text = " ".join(response.text[:120].split())
    return f"GET {urlsplit(response.url).path} → HTTP {response.status_code} {kind}: {text!r}"


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _mlflow(url: str, _entry: ToolEntry) -> None:
    # MLflow's tracking server answers `/version` with its bare version number.
    response = _get(f"{url}/version")
    if response.status_code != 200 or not response.text[:1].isdigit() \
            or response.text.strip().startswith("{"):
        raise _Mismatch(_seen(response))


def _prefect(url: str, _entry: ToolEntry) -> None:
    response = _get(f"{url}/health")
    if response.status_code != 200 or _json(response) is not True:
        raise _Mismatch(_seen(response))


def _feast(url: str, _entry: ToolEntry) -> None:
    # `/health` alone is too common: the API description must offer Feast's online read.
    health = _get(f"{url}/health")
    if health.status_code != 200:
        raise _Mismatch(_seen(health))
    described = _get(f"{url}/openapi.json")
    paths = (_json(described) or {}).get("paths", {}) if described.status_code == 200 else {}
    if "/get-online-features" not in paths:
        raise _Mismatch(_seen(described))


def _jupyterhub(url: str, _entry: ToolEntry) -> None:
    response = _get(f"{url}/hub/api")
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict) or "version" not in body:
        raise _Mismatch(_seen(response))


def _seldon(url: str, entry: ToolEntry) -> None:
    namespace = entry.expect.get("namespace", "default")
    response = _get(f"{url}/{SELDON_GROUP}/namespaces/{namespace}/seldondeployments")
    body = _json(response)
    if response.status_code != 200 or not isinstance(body, dict) \
            or body.get("kind") != "SeldonDeploymentList":
        raise _Mismatch(_seen(response))


def _dask(url: str, _entry: ToolEntry) -> None:
    from distributed.core import rpc  # noqa: PLC0415 - heavy; only when Dask is checked

    async def identity() -> Any:
        scheduler = rpc(url, timeout=CONNECT_TIMEOUT_S)  # type: ignore[no-untyped-call]
        async with scheduler:
            return await asyncio.wait_for(scheduler.identity(), READ_TIMEOUT_S)

    try:
        answer = asyncio.run(identity())
    except TimeoutError:
        # Accepted, but no handshake: an HTTP server (the dashboard's port, say) waits silently
        # for a request line. If it answers one, it is that, not a scheduler.
        _speaks_http(url)
        raise
    except Exception as exc:  # the handshake itself failed: something else speaks there
        raise _Mismatch(f"Dask handshake failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise _Mismatch(f"identity {answer!r:.200}")


def _speaks_http(url: str) -> None:
    parts = urlsplit(url)
    try:
        response = requests.get(f"http://{parts.netloc}/", timeout=CONNECT_TIMEOUT_S,
                                allow_redirects=False)
    except requests.RequestException:
        return
    raise _Mismatch(f"it speaks HTTP, not Dask's protocol: {_seen(response)}")


def _reachable(_url: str, _entry: ToolEntry) -> None:
    """A store whose protocol the checks' own clients judge: accepting connections suffices."""


# Per tool: (endpoint name in its stack entry, identity probe). A probe returns quietly when the
# tool answers, raises _Mismatch (saying what came back) or a connection-level error (no answer).
# Endpoints a stack does not list are not probed.
PROBES: dict[str, tuple[tuple[str, Callable[[str, ToolEntry], None]], ...]] = {
    "mlflow": (("tracking", _mlflow),),
    "prefect": (("api", _prefect),),
    "feast": (("feature_server", _feast), ("online_store", _reachable)),
    "jupyterhub": (("hub", _jupyterhub),),
    "dask": (("scheduler", _dask),),
    "seldon": (("api", _seldon),),
}


def public(url: str) -> str:
    """The URL without user, password and query (where tokens hide), fit for a message."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{parts.port}" if parts.port else host
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def cause(exc: BaseException) -> str:
    """The root of a connection-level error, in a few words."""
    if isinstance(exc, requests.Timeout | TimeoutError):
        return f"no answer within {READ_TIMEOUT_S:g}s" if isinstance(exc, requests.ReadTimeout) \
            else f"no answer within {CONNECT_TIMEOUT_S:g}s"
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__ or getattr(seen, "reason", None)
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _connect(url: str) -> None:
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme, 80)
    with socket.create_connection((parts.hostname or "127.0.0.1", port),
                                  timeout=CONNECT_TIMEOUT_S):
        pass


@dataclass(frozen=True)
class Verdict:
    """What probing a tool found: nothing wrong, a dead endpoint, or another service."""

    dead: str | None = None
    other: str | None = None


def probe(tool: str, entry: ToolEntry) -> Verdict:
    """Probe each known endpoint of `tool`: a TCP connect, then a request only the tool answers."""
    for name, identify in PROBES.get(tool, ()):
        url = entry.endpoints.get(name)
        if url is None:
            continue
        try:
            _connect(url)
            identify(url, entry)
        except _Mismatch as exc:
            return Verdict(other=f"{tool}: {public(url)} answers, but not as {tool}: {exc}")
        except (OSError, requests.RequestException) as exc:
            return Verdict(dead=f"{tool}: {name} {public(url)} does not answer: {cause(exc)}")
    return Verdict()
