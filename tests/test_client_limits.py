"""Every client the checks use is bounded: library settings that exist, timeouts on every call."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from harness.client_limits import CLIENT_LIMITS, checks_environment
from tests.conftest import REPO

if TYPE_CHECKING:
    from pathlib import Path

# Call (receiver, attribute) -> the keyword that bounds it.
BOUNDED = {("requests", verb): "timeout" for verb in
           ("get", "post", "put", "patch", "delete", "head", "request")}
BOUNDED |= {("session", verb): "timeout" for verb in ("get", "post", "put", "patch", "delete")}
BOUNDED |= {("websocket", "create_connection"): "timeout", ("", "Client"): "timeout",
            ("psycopg", "connect"): "connect_timeout",
            ("Redis", "from_url"): "socket_connect_timeout"}


def _receiver(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return "session" if node.id.endswith("session") else node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def unbounded_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        key = (_receiver(func.value), func.attr) if isinstance(func, ast.Attribute) \
            else ("", func.id) if isinstance(func, ast.Name) else None
        keyword = BOUNDED.get(key) if key else None
        if keyword and keyword not in {k.arg for k in node.keywords}:
            found.append(f"{path.relative_to(REPO)}:{node.lineno} {'.'.join(key or ())}")
    return found


def test_every_client_call_of_the_checks_has_a_timeout() -> None:
    modules = sorted((REPO / "conformance").rglob("*.py"))
    assert modules
    assert [call for path in modules for call in unbounded_calls(path)] == []


def test_the_limits_are_settings_the_installed_libraries_read() -> None:
    # In a fresh interpreter with only these variables set, each library reports our values.
    probe = (
        "from mlflow import environment_variables as m\n"
        "from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, PREFECT_API_REQUEST_TIMEOUT\n"
        "import dask.config, distributed\n"
        "print(m.MLFLOW_HTTP_REQUEST_MAX_RETRIES.get(), m.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.get(),"
        " m.MLFLOW_HTTP_REQUEST_BACKOFF_JITTER.get(), m.MLFLOW_HTTP_REQUEST_TIMEOUT.get(),"
        " PREFECT_CLIENT_MAX_RETRIES.value(), PREFECT_API_REQUEST_TIMEOUT.value(),"
        " dask.config.get('distributed.comm.timeouts.connect'))\n"
    )
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLFLOW_", "PREFECT_", "DASK_"))}
    result = subprocess.run([sys.executable, "-c", probe], env=checks_environment(env),
                            capture_output=True, text=True, timeout=300, check=True)
    limits = CLIENT_LIMITS
    assert result.stdout.split() == [
        limits["MLFLOW_HTTP_REQUEST_MAX_RETRIES"], limits["MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"],
        str(float(limits["MLFLOW_HTTP_REQUEST_BACKOFF_JITTER"])),
        limits["MLFLOW_HTTP_REQUEST_TIMEOUT"], limits["PREFECT_CLIENT_MAX_RETRIES"],
        str(float(limits["PREFECT_API_REQUEST_TIMEOUT"])),
        limits["DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT"]]


@pytest.mark.parametrize("name", ["MLFLOW_HTTP_REQUEST_TIMEOUT", "PREFECT_CLIENT_MAX_RETRIES"])
def test_a_users_own_setting_wins(name: str) -> None:
    assert checks_environment({name: "7"})[name] == "7"
