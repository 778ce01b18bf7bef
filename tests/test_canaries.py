"""Secrets never leak: a run whose every secret is a canary with `@:/#%?&+` passes its checks
(special characters work end to end) and leaves no trace of one, in any encoding, in anything
it writes or prints; nor does `check --stack` against the same stack.

One stack covers every kind of secret: MLflow's and Prefect's external database passwords (on
a server given by an admin DSN, itself a canary), Feast's PostgreSQL and Redis passwords, the
run's PostgreSQL superuser's, the hub's shared password, proxy token and OAuth client secret,
the registry login, the target's control token.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import pytest
import yaml

from harness.launchers.postgres import PostgresLauncher
from harness.secrets import SecretStore
from tests import launching
from tests.conftest import REPO
from tests.helpers.canary_cli import GENERATED, GENERATED_HEX, canary, hex_canary

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

CANARY_CLI = [sys.executable, str(REPO / "tests" / "helpers" / "canary_cli.py")]
REGISTRY_USER = "canary-robot"
GIVEN = {  # TF_VAR_<name>: the sensitive root variables, as a user gives them
    "db_password": canary("db"),
    "feast_postgresql_password": canary("feast-pg"),
    "dummy_password": canary("dummy"),
    "oauth_github_client_secret": canary("oauth"),
    "jhub_proxy_secret_token": hex_canary(99),
    "docker_auth_key": base64.b64encode(
        f"{REGISTRY_USER}:{canary('registry')}".encode()).decode(),
}
ADMIN_PASSWORD = canary("admin-dsn")
# Every secret the stack must hold, and so the run must have made a canary.
EXPECTED_SECRETS = {*GIVEN, "prefect-postgresql.password", "feast_redis_password",
                    "postgres_superuser_password", "local_control_token"}
# The checks that use a secret (selected by test name: the rest would only cost time; the
# control token is held and scanned for, but a restart would cost over a minute).
RUN_TESTS = ("test_health_and_version", "test_api_version",
             "test_mlflow_run_is_in_the_database", "test_prefect_flow_run_is_in_the_database",
             "test_apply_registers_exactly_the_objects",
             "test_online_store_is_the_one_asked_for", "test_stores_refuse_wrong_credentials",
             "test_member_logs_in_and_starts_a_server", "test_dummy_password_refused")
RUN_IDS = {"mlflow.health", "prefect.health", "jupyterhub.api-version", "mlflow.postgres-backend",
           "prefect.postgres-backend", "feast.apply",
           "feast.online-store", "feast.store-auth", "jupyterhub.oauth-member",
           "jupyterhub.oauth-dummy-refused", "local.loopback-only"}
CHECK_TESTS = ("test_mlflow_run_is_in_the_database", "test_stores_refuse_wrong_credentials",
               "test_dummy_password_refused")
SELECTED_CHECKS = {"mlflow.postgres-backend", "feast.store-auth", "jupyterhub.oauth-dummy-refused",
             "local.loopback-only"}
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")


def canary_scenario(path: Path) -> Path:
    """external-postgres + oauth + private-registry in one, with Feast's Redis password on."""
    docs = {name: yaml.safe_load((REPO / "scenarios" / f"{name}.yaml").read_text())
            for name in ("external-postgres", "oauth", "private-registry")}
    tfvars: dict[str, Any] = {}
    for doc in docs.values():
        tfvars.update(doc["tfvars"])
    tfvars["feast_redis_use_password"] = True
    tfvars["worker_environment_variables"] = [{"name": "MLOPS_CONFORMANCE_SCENARIO",
                                               "value": "canaries"}]
    scenario = {"description": "Every secret a canary with URL-special characters.",
                "tfvars": tfvars, "local": docs["oauth"]["local"],
                "checks": docs["private-registry"].get("checks", {})}
    path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
    return path


def forms(value: str) -> set[str]:
    """The encodings a secret can take on its way out: as is, URL-encoded (path, query,
    form), base64 (standard, URL-safe, unpadded), inside a JSON string.
    """
    raw = value.encode()
    b64 = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    return {value, quote(value, safe=""), quote(value), quote_plus(value),
            json.dumps(value)[1:-1], *b64, *(b.rstrip("=") for b in b64)}


def all_canaries() -> dict[str, str]:
    """Every canary value -> a label; the registry login also as `user:password`."""
    values = {value: f"TF_VAR_{name}" for name, value in GIVEN.items()}
    values[f"{REGISTRY_USER}:{canary('registry')}"] = "docker_auth_key (decoded)"
    values[canary("registry")] = "docker_auth_key (its password)"
    values[ADMIN_PASSWORD] = "HARNESS_EXTERNAL_POSTGRES_DSN's password"
    values.update({value: "generated" for value in [*GENERATED, *GENERATED_HEX]})
    return values


def occurrences(text: str, canaries: dict[str, str]) -> Iterator[str]:
    """Each canary form found in `text`, or inside a base64 run of it once decoded."""
    decoded = []
    for run in _BASE64_RUN.findall(text):
        padded = run + "=" * (-len(run) % 4)
        for altchars in (None, b"-_"):
            try:
                decoded.append(base64.b64decode(padded, altchars).decode("utf-8", "replace"))
            except ValueError:
                continue
    lowered = text.lower()
    for value, label in canaries.items():
        for form in forms(value):
            if form in text or ("%" in form and form.lower() in lowered):
                yield f"{label}: {form!r}"
        if any(value in blob for blob in decoded):
            yield f"{label}: inside a base64 blob"


def leaks(reports: Path, outputs: dict[str, str]) -> dict[str, list[str]]:
    """Where (file or command output) which canary was found."""
    canaries = all_canaries()
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in reports.rglob("*") if p.is_file()):
        hits = list(occurrences(path.read_text(encoding="utf-8", errors="replace"), canaries))
        if hits:
            found[str(path.relative_to(reports))] = hits
    for name, text in outputs.items():
        hits = list(occurrences(text, canaries))
        if hits:
            found[f"terminal output of {name}"] = hits
    return found


@pytest.fixture
def admin_dsn(tmp_path: Path) -> Iterator[str]:
    """A running PostgreSQL someone else manages, whose admin password is a canary."""
    secrets = SecretStore()
    secrets.put("postgres_superuser_password", ADMIN_PASSWORD)
    launcher = PostgresLauncher(launching.context(tmp_path / "admin", "postgres", secrets=secrets))
    own = launching.supervisor(tmp_path / "admin")
    try:
        launching.start(own, launcher)
        yield (f"postgresql://postgres:{quote(ADMIN_PASSWORD, safe='')}@127.0.0.1:"
               f"{launcher.port}/postgres")
    finally:
        own.stop_all()


def cli(*args: str, dsn: str, timeout: float = 1500) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "TF_VAR_"))}
    env.update({f"TF_VAR_{name}": value for name, value in GIVEN.items()})
    env["HARNESS_EXTERNAL_POSTGRES_DSN"] = dsn
    return subprocess.run([*CANARY_CLI, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def statuses(report_path: Path) -> dict[str, tuple[str, str]]:
    report = json.loads(report_path.read_text(encoding="utf-8"))
    return {c["id"]: (c["status"], c["message"][:300]) for c in report["runs"][0]["checks"]}


def test_no_canary_leaks_from_run_or_check(tmp_path: Path, admin_dsn: str) -> None:
    reports = tmp_path / "reports"
    scenario = canary_scenario(tmp_path / "canaries.yaml")
    run_dir = reports / "canaries"
    outputs: dict[str, str] = {}
    try:
        ran = cli("run", "--scenario", str(scenario), "--target", "local://?ready_timeout_s=300",
                  "--tools", "mlflow,prefect,feast,jupyterhub", "-k", " or ".join(RUN_TESTS),
                  "--keep", "--reports-dir", str(reports), "--run-id", "canaries",
                  dsn=admin_dsn)
        outputs["run"] = ran.stdout + ran.stderr
        assert ran.returncode == 0, outputs["run"][-4000:]
        held = {p.name: p.read_text(encoding="utf-8") for p in (run_dir / "secrets").iterdir()}
        assert EXPECTED_SECRETS <= set(held), "a kind of secret is missing from the stack"
        assert set(held.values()) <= set(all_canaries()), "every secret is a canary"
        stack = json.loads((run_dir / "stack.json").read_text(encoding="utf-8"))
        assert "external" in stack["tools"]["postgres"]["endpoints"], "databases on the DSN's"

        checked = cli("check", "--stack", str(run_dir / "stack.json"), "--reports-dir",
                      str(reports), "-k", " or ".join(CHECK_TESTS), dsn=admin_dsn, timeout=600)
        outputs["check --stack"] = checked.stdout + checked.stderr
        assert checked.returncode == 0, outputs["check --stack"][-4000:]
    finally:
        downed = cli("down", str(run_dir), dsn=admin_dsn, timeout=120)
        outputs["down"] = downed.stdout + downed.stderr
    ran_checks = statuses(run_dir / "report.json")
    assert {i: ran_checks.get(i, ("missing",))[0] for i in RUN_IDS} == dict.fromkeys(RUN_IDS,
                                                                                    "pass")
    (check_dir,) = [p for p in reports.iterdir() if "-canaries-check-" in p.name]
    checked_checks = statuses(check_dir / "report.json")
    assert {i: checked_checks.get(i, ("missing",))[0] for i in SELECTED_CHECKS} == \
        dict.fromkeys(SELECTED_CHECKS, "pass")
    for name in ("logs/checks.log", "results.json", "junit.xml", "report.md", "report.html",
                 "stack.json", "logs/mlflow.log", "logs/prefect-server.log"):
        assert (run_dir / name).is_file(), name
    found = leaks(reports, outputs)
    count = sum(len(hits) for hits in found.values())
    assert count == 0, f"{count} canaries found: {json.dumps(found, indent=1)[:6000]}"
