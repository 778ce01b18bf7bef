"""When a package version was released, from the index's JSON simple API (PEP 691/700), so a
tool's environment resolves its dependencies as of then, as the chart's image was built:
`mlflow==3.2.0` with today's SQLAlchemy does not even import.

Public API:
    resolved_as_of(package, version) -> an RFC 3339 time for `uv --exclude-newer`, or None
"""

from __future__ import annotations

import datetime
import json
import os
import re

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from harness.layer_wheel import cache_root

_DEFAULT_INDEX = "https://pypi.org/simple"
_ACCEPT = "application/vnd.pypi.simple.v1+json"
# A release's companion packages (mlflow-skinny, mlflow-tracing) are uploaded minutes to hours
# after it; its image is built within a day.
_MARGIN = datetime.timedelta(days=1)


def _index_url() -> str:
    return (os.environ.get("UV_DEFAULT_INDEX") or os.environ.get("UV_INDEX_URL")
            or _DEFAULT_INDEX).rstrip("/")


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _first_upload(package: str, version: str) -> datetime.datetime | None:
    session = requests.Session()
    # Transient failures of the index (a reset, a 503) are retried; a 404 is an answer.
    session.mount("https://", HTTPAdapter(max_retries=Retry(
        total=3, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504))))
    response = session.get(f"{_index_url()}/{_normalised(package)}/",
                           headers={"Accept": _ACCEPT}, timeout=30)
    response.raise_for_status()
    prefix = re.compile(rf"^{re.escape(package).replace('-', '[-_]')}-{re.escape(version)}"
                        r"(-|\.tar\.gz$|\.zip$)", re.IGNORECASE)
    times = [item["upload-time"] for item in response.json().get("files", [])
             if prefix.match(item.get("filename", "")) and item.get("upload-time")]
    if not times:
        return None
    return datetime.datetime.fromisoformat(min(times).replace("Z", "+00:00"))


def resolved_as_of(package: str, version: str) -> str | None:
    """The time to resolve `package==version`'s dependencies as of (a day after its first
    upload), cached once found; None when the index does not say (no JSON API, no upload time,
    unreachable): the caller then resolves against today's index.
    """
    cache = cache_root() / "release-dates.json"
    key = f"{_normalised(package)}=={version}"
    known: dict[str, str] = {}
    if cache.is_file():
        known = json.loads(cache.read_text(encoding="utf-8"))
    if key in known:
        return known[key]
    try:
        uploaded = _first_upload(package, version)
    except (requests.RequestException, ValueError, KeyError):
        return None
    if uploaded is None:
        return None
    known[key] = (uploaded + _MARGIN).strftime("%Y-%m-%dT%H:%M:%SZ")
    cache.parent.mkdir(parents=True, exist_ok=True)
    # Replaced whole, so a run reading it meanwhile never sees half a file.
    partial = cache.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(known, indent=1, sort_keys=True), encoding="utf-8")
    partial.replace(cache)
    return known[key]
