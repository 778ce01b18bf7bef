"""Run secrets: generated or from TF_VAR_*, written 0600 only once provisioning starts, masked."""

from __future__ import annotations

import base64
import re
import stat
from typing import TYPE_CHECKING

import pytest

from harness.scenario import load_scenario
from harness.secrets import Redactor, SecretStore, run_secrets

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.usefixtures("clean_env")
def test_required_secrets_are_generated_fresh_each_run() -> None:
    scenario = load_scenario("defaults")
    first, second = run_secrets(scenario), run_secrets(scenario)
    assert {"jhub_proxy_secret_token", "db_password", "feast_postgresql_password"} <= set(first)
    assert re.fullmatch(r"[0-9a-f]{64}", first["jhub_proxy_secret_token"])
    assert all(first[name] != second[name] for name in first)


def test_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TF_VAR_db_password", "from-the-environment")
    assert run_secrets(load_scenario("defaults"))["db_password"] == "from-the-environment"


def test_store_writes_files_only_when_asked(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secrets")
    store.put("db_password", "s3cret-value")
    assert not (tmp_path / "secrets").exists(), "validation writes nothing"
    store.write_files()
    store.generate("late_one")
    for name in ("db_password", "late_one"):
        mode = stat.S_IMODE((tmp_path / "secrets" / name).stat().st_mode)
        assert mode == 0o600
    assert store.ref("db_password").resolve(tmp_path) == "s3cret-value"
    assert store.redactor("password s3cret-value") == "password ***"
    store.remove_files()
    assert not (tmp_path / "secrets").exists()


def test_redactor_masks_registry_logins_decoded_too() -> None:
    key = base64.b64encode(b"robot:pa55word-xyz").decode()
    redact = Redactor([key, "abc"])  # too short to mask safely: ignored
    assert redact(f"{key} robot:pa55word-xyz pa55word-xyz abc") == "*** *** *** abc"


def test_redactor_masks_every_encoding_of_a_secret() -> None:
    from urllib.parse import quote, quote_plus

    secret = "pw-@:/#%?&+-x"
    redact = Redactor([secret])
    b64 = base64.b64encode(secret.encode()).decode()
    for form in (secret, quote(secret, safe=""), quote(secret), quote_plus(secret), b64,
                 b64.rstrip("="), base64.urlsafe_b64encode(secret.encode()).decode()):
        assert redact(f"postgresql://u:{form}@h/db") == "postgresql://u:***@h/db", form


def test_a_death_watch_log_tail_is_masked(tmp_path: Path) -> None:
    import sys
    import time

    from harness.launchers.base import ProcessSpec, free_port
    from harness.supervisor import Supervisor

    secret = "leaky-@:/#%?&+-secret"
    deaths: list[str] = []
    supervisor = Supervisor(tmp_path / "logs", tmp_path / "pids.json", deaths.append,
                            redact=Redactor([secret]))
    port = free_port()
    code = ("import http.server, sys, threading, time\n"
            f"print('connecting to postgresql://u:{secret}@db', flush=True)\n"
            f"server = http.server.HTTPServer(('127.0.0.1', {port}), "
            "http.server.SimpleHTTPRequestHandler)\n"
            "threading.Thread(target=server.serve_forever, daemon=True).start()\n"
            "time.sleep(2); sys.exit(4)\n")
    try:
        supervisor.start(ProcessSpec(name="leaky", argv=[sys.executable, "-c", code],
                                     health_url=f"http://127.0.0.1:{port}/", timeout_s=30))
        supervisor.watch(interval_s=0.2)
        deadline = time.monotonic() + 30
        while not deaths and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        supervisor.stop_all()
    assert deaths, "the death was not reported"
    assert "leaky died (exit code 4)" in deaths[0]
    assert "postgresql://u:***@db" in deaths[0]
    assert secret not in deaths[0]


def test_check_output_and_results_are_masked(tmp_path: Path) -> None:
    """A check's message quoting a credential (e.g. a driver's error) is masked in the
    console, checks.log and results.json (the report is built from it).
    """
    import json
    import sys

    from harness.checks_runner import run_checks
    from harness.console import RunConsole

    secret = "in-a-message-@:/#%?&+"
    results = tmp_path / "results.json"
    code = ("import json, sys\n"
            f"print('E   OperationalError: password \"{secret}\" refused', flush=True)\n"
            "json.dump({'checks': [{'id': 'x.y', 'status': 'fail', "
            f"'message': 'cannot log in with {secret}'}}]}}, open(sys.argv[2], 'w'))\n")
    console = RunConsole(Redactor([secret]), quiet=True)
    outcome = run_checks([sys.executable, "-c", code, "--results", str(results)],
                         tmp_path / "checks.log", console)
    assert outcome.results["checks"][0]["message"] == "cannot log in with ***"
    assert secret not in results.read_text(encoding="utf-8")
    assert json.loads(results.read_text(encoding="utf-8")) == outcome.results
    log = (tmp_path / "checks.log").read_text(encoding="utf-8")
    assert 'password "***" refused' in log
