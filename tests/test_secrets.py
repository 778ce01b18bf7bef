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
