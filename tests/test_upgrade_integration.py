"""Upgrades on the local target, with real servers: MLflow, Prefect, JupyterHub and Feast
provisioned at the `previous` version set, canaries written, started again at `current` on
the same state, the canaries read back and the checks run; an upgrade that loses a canary
fails naming it; an allowed downgrade ends naming the migration that refused it.
"""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import requests

from harness.errors import ExitCode
from harness.launchers.chart_values import render_for
from harness.report.model import exit_code_for
from harness.scenario import load_scenario
from harness.secrets import SecretStore
from harness.targets.local import LocalTarget, chart_versions
from harness.upgrade.feast_canaries import feast_sdk
from harness.upgrade.jupyterhub_canaries import github_token
from harness.upgrade.perform import UpgradeRequest, upgrade_stack
from harness.version_sets import apply_version_set, load_version_set
from tests.conftest import CLI
from tests.test_local_integration import leftovers

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from harness.report.model import CheckResult, UpgradeSummary
    from harness.stack import Stack

pytestmark = pytest.mark.integration


def test_previous_to_current_keeps_every_canary(tmp_path: Path) -> None:
    # The three tools whose servers run their charts' versions, each at another version in
    # `previous`: MLflow and Prefect on their databases, JupyterHub on its hub database and
    # user storage.
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*CLI, "upgrade", "--from", "previous", "--to", "current", "--tools",
         "mlflow,prefect,jupyterhub,feast", "-m", "mlflow or prefect or feast",
         "--reports-dir", str(reports),
         "--run-id", "up"],
        capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not leftovers(reports / "up")
    run: dict[str, Any] = json.loads((reports / "up" / "report.json").read_text())["runs"][0]
    assert run["version_set"] == "previous->current"
    tools = {tool["tool"]: tool for tool in run["upgrade"]["tools"]}
    wanted = {"mlflow": ({"server": "3.2.0"}, {"server": "3.15.1"}, 24),
              "prefect": ({"server": "3.4.13", "worker": "3.4.13"},
                          {"server": "3.8.3", "worker": "3.8.3"}, 16),
              "jupyterhub": ({"hub": "4.1.6"}, {"hub": "5.5.0"}, 5),
              "feast": ({"server": "0.65.0"}, {"server": "0.66.0"}, 11)}
    migrating = {"mlflow", "prefect", "jupyterhub"}  # Feast's registry has no schema version
    for name, (before, after, canaries) in wanted.items():
        tool = tools[name]
        assert tool["upgraded"], tool
        assert (tool["from_versions"], tool["to_versions"]) == (before, after)
        assert (tool["canaries_written"], tool["canaries_present"]) == (canaries, canaries)
        assert tool["canaries_lost"] == tool["canaries_changed"] == []
        # The tool's own migration moved its schema on (read from its database).
        if name in migrating:
            assert tool["schema_before"] not in {"", "none", tool["schema_after"]}, tool
        assert set(tool["downtime_s"]) >= {
            {"prefect": "prefect-server", "feast": "feast-feature-server"}.get(name, name)}
    # The rows written into Prefect's and Feast's registry databases came back: each tool
    # came back on its own database. PostgreSQL itself runs one version at both sets.
    postgres = tools["postgres"]
    assert not postgres["upgraded"]
    assert (postgres["canaries_written"], postgres["canaries_present"]) == (8, 8)
    # What the checks read from the servers after the upgrade: the `current` versions.
    assert run["versions"]["mlflow"]["server"] == "3.15.1"
    assert run["versions"]["prefect"]["server"] == "3.8.3"
    assert run["versions"]["feast"]["server"] == "0.66.0"
    statuses = {check["id"]: check["status"] for check in run["checks"]}
    assert {statuses[f"upgrade.canaries.{name}"] for name in [*wanted, "postgres"]} == {"pass"}
    assert statuses["mlflow.log-run"] == statuses["prefect.deployment-run"] == "pass"
    # The canaries left the project: the checks see only their own objects and keys.
    assert statuses["feast.online-http"] == statuses["feast.online-store"] == "pass"
    assert statuses["feast.versions"] == "pass"
    assert "## Upgrade previous → current" in (reports / "up" / "report.md").read_text()


def test_an_allowed_downgrade_is_reported_with_the_migration_that_refused_it(
        tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*CLI, "upgrade", "--from", "current", "--to", "previous", "--allow-downgrade",
         "--tools", "mlflow", "-m", "mlflow", "--reports-dir", str(reports), "--run-id", "down"],
        capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == ExitCode.INFRASTRUCTURE, done.stderr[-3000:]
    assert not leftovers(reports / "down")
    # MLflow 3.2.0's migration does not know the schema 3.15.1 left: named, its log quoted.
    assert "error: mlflow-db-upgrade failed with exit code 1; last lines of" in done.stderr
    assert "Can't locate revision identified by" in done.stderr
    run = json.loads((reports / "down" / "report.json").read_text())["runs"][0]
    upgrade = run["upgrade"]
    assert upgrade["downgrade"] is True
    (mlflow,) = upgrade["tools"]
    assert (mlflow["from_versions"], mlflow["to_versions"]) == ({"server": "3.15.1"},
                                                                {"server": "3.2.0"})
    assert mlflow["canaries_written"] == 24
    assert mlflow["schema_before"] == mlflow["schema_after"] != ""  # nothing migrated back
    assert mlflow["downtime_s"]["mlflow"] > 0


def test_an_upgrade_that_changes_nothing_is_no_pass(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = subprocess.run(
        [*CLI, "upgrade", "--from", "current", "--to", "current", "--tools", "mlflow",
         "-m", "mlflow", "--reports-dir", str(reports), "--run-id", "same"],
        capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads((reports / "same" / "report.json").read_text())["runs"][0]
    (mlflow,) = run["upgrade"]["tools"]
    assert not mlflow["upgraded"]
    assert mlflow["note"] == "the same versions in both sets"
    (canaries,) = [c for c in run["checks"] if c["id"] == "upgrade.canaries.mlflow"]
    assert canaries["status"] == "skip"
    assert "nothing was upgraded" in canaries["message"]


class _Progress:
    def component(self, name: str, status: str, detail: str = "") -> None:
        return


def _upgraded(tmp_path: Path, scenario_name: str, tool: str, label: str,
              between: Callable[[Stack], None]) -> tuple[UpgradeSummary, list[CheckResult]]:
    """`tool` of the scenario (and what it requires) provisioned in this process at
    `previous`, upgraded to `current` with `between` run once the canaries are written, then
    torn down; nothing is left running.
    """
    scenario = load_scenario(scenario_name)
    current = load_scenario(scenario_name)
    scenario.tfvars = apply_version_set(dict(scenario.tfvars), load_version_set("previous"))
    current.tfvars = apply_version_set(dict(current.tfvars), load_version_set("current"))
    secrets = SecretStore(tmp_path / "secrets")
    target = LocalTarget("local://", {})
    target.prepare(scenario, tmp_path / "run", secrets, tools=frozenset({tool}))
    request = UpgradeRequest(from_set="previous", to_set="current",
                             to_versions=chart_versions(render_for(current, secrets)))
    try:
        stack = target.up(scenario, tmp_path / "run", _Progress())
        secrets.write_files()  # the stack's credentials are these files
        stack.base_dir = tmp_path
        upgraded = upgrade_stack(request, stack, target, _Progress(), label, between=between)
    finally:
        target.down(_Progress())
    assert not leftovers(tmp_path / "run")
    return upgraded


def test_a_lost_and_a_changed_canary_fail_the_upgrade_naming_them(tmp_path: Path) -> None:
    model = "canary-model-lost"
    changed: list[str] = []

    def break_canaries(stack: Stack) -> None:
        api = f"{stack.tools['mlflow'].endpoints['tracking']}/api/2.0/mlflow"
        requests.delete(f"{api}/registered-models/alias",
                        json={"name": model, "alias": "champion"},
                        timeout=30).raise_for_status()
        experiment = requests.get(f"{api}/experiments/get-by-name",
                                  params={"experiment_name": "canary-lost"},
                                  timeout=30).json()["experiment"]["experiment_id"]
        run_id = requests.post(f"{api}/runs/search", json={"experiment_ids": [experiment]},
                               timeout=30).json()["runs"][0]["info"]["run_id"]
        requests.post(f"{api}/runs/set-tag", json={"run_id": run_id, "key": "team",
                                                   "value": "tampered"},
                      timeout=30).raise_for_status()
        changed.append(run_id)

    summary, checks = _upgraded(tmp_path, "defaults", "mlflow", "lost", break_canaries)
    (check,) = checks
    assert check.id == "upgrade.canaries.mlflow"
    assert check.status == "fail"
    assert f"mlflow model {model} alias champion missing" in check.message
    assert f"mlflow run {changed[0]} tag team: wrote 'canary-" in check.message
    assert "read 'tampered'" in check.message
    assert "22 of 24 canaries came back as written (1 lost, 1 changed)" in check.message
    assert exit_code_for(checks, []) == 1
    (mlflow,) = [tool for tool in summary.tools if tool.tool == "mlflow"]
    assert mlflow.upgraded
    assert mlflow.canaries_lost == [f"model {model} alias champion"]


def test_lost_and_changed_feast_objects_and_database_rows_fail_naming_them(
        tmp_path: Path) -> None:
    import pandas as pd
    import psycopg

    lost_rows: list[str] = []

    def break_canaries(stack: Stack) -> None:
        # The source goes from the registry; canary 2's values are overwritten, later in
        # event time, in the online store the server reads.
        with feast_sdk(stack) as (store, _):
            store.registry.delete_data_source("canary_source_lost", store.project)
            store.write_to_online_store("canary_view_lost", pd.DataFrame([{
                "canary_id": 2, "event_timestamp": pd.Timestamp("2025-06-01 01:00", tz="UTC"),
                "count": 99, "note": "note-2"}]))
        # In the registry's database, one canary row goes and another changes.
        postgres = stack.tools["postgres"]
        (database,) = postgres.expect["databases"]
        with psycopg.connect(f"{postgres.endpoints['server']}/{database}", user="postgres",
                             password=stack.secret("postgres", "superuser"),
                             autocommit=True) as connection:
            connection.execute("DELETE FROM conformance_canary.rows WHERE id = 3")
            connection.execute("UPDATE conformance_canary.rows SET note = 'x' WHERE id = 1")
        lost_rows.append(database)

    summary, checks = _upgraded(tmp_path, "defaults", "feast", "lost", break_canaries)
    by_id = {check.id: check for check in checks}
    check = by_id["upgrade.canaries.feast"]
    assert check.status == "fail", check.message
    assert "8 of 11 canaries came back as written (1 lost, 2 changed)" in check.message
    assert "feast source canary_source_lost path missing" in check.message
    for reading in ("online store", "feature server"):
        assert (f"feast {reading} canary_id=2: wrote [21, 'note-2'], read [99, 'note-2']"
                in check.message)
    rows = by_id["upgrade.canaries.postgres"]
    assert rows.status == "fail", rows.message
    assert "2 of 4 canaries came back as written (1 lost, 1 changed)" in rows.message
    assert f"postgres database {lost_rows[0]} row 3 missing" in rows.message
    assert f"postgres database {lost_rows[0]} row 1: wrote 'lost row 1', read 'x'" in rows.message
    (feast,) = [tool for tool in summary.tools if tool.tool == "feast"]
    assert (feast.upgraded, feast.to_versions) == (True, {"server": "0.66.0"})


def test_a_user_taken_out_of_the_canary_group_fails_naming_it(tmp_path: Path) -> None:
    # The `oauth` scenario: users log in through the GitHub stand-in, and its admin (ada)
    # can create the group the canaries put both users in.

    def take_bob_out(stack: Stack) -> None:
        hub = stack.tools["jupyterhub"].endpoints["hub"]
        admin = github_token(hub, "ada", "the fault")
        requests.delete(f"{hub}/hub/api/groups/canary-group/users", timeout=30,
                        headers={"Authorization": f"token {admin}"},
                        json={"users": ["bob"]}).raise_for_status()

    summary, checks = _upgraded(tmp_path, "oauth", "jupyterhub", "group", take_bob_out)
    (check,) = checks
    assert check.status == "fail", check.message
    assert "5 of 6 canaries came back as written (0 lost, 1 changed)" in check.message
    assert ("jupyterhub group canary-group members: wrote ['ada', 'bob'], read ['ada']"
            in check.message)
    (hub,) = summary.tools
    assert (hub.upgraded, hub.to_versions) == (True, {"hub": "5.5.0"})
