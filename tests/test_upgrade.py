"""Upgrades without servers: direction, canary comparison, the health probes, the report's
upgrade section and the command's refusals (nothing started).
"""

from __future__ import annotations

import subprocess
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import pytest

from harness.errors import ExitCode
from harness.report.model import Report, ScenarioRun, ToolUpgrade, UpgradeSummary
from harness.report.render import to_html, to_markdown
from harness.stack import Stack, ToolEntry
from harness.upgrade.canaries import compare
from harness.upgrade.database_canaries import DatabaseCanaries
from harness.upgrade.direction import downgrades
from harness.upgrade.downtime import HealthProbes
from harness.upgrade.perform import canary_verdict
from harness.version_sets import load_version_set
from harness.wait import wait_until
from tests.conftest import CLI

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def test_previous_to_current_is_an_upgrade_and_back_a_downgrade() -> None:
    previous, current = load_version_set("previous"), load_version_set("current")
    assert downgrades(previous, current) == []
    back = downgrades(current, previous)
    assert "mlflow_chart_version 1.11.5 -> 1.6.0" in back
    assert all(" -> " in line for line in back)


def test_compare_names_lost_and_changed_readings() -> None:
    count = compare({"run a metric loss@step 3": 0.2, "run a tag team": "x", "model m": "2"},
                    {"run a tag team": "y", "model m": "2"})
    assert (count.written, count.present) == (3, 1)
    assert count.lost == ["run a metric loss@step 3"]
    assert count.problems() == ["run a metric loss@step 3 missing",
                                "run a tag team: wrote 'x', read 'y'"]


def test_problems_are_bounded() -> None:
    count = compare({f"r{i}": i for i in range(30)}, {})
    lines = count.problems(limit=5)
    assert len(lines) == 6
    assert lines[-1] == "... and 25 more"


def test_a_canary_verdict_is_earned() -> None:
    kept = compare({"a": 1, "b": 2}, {"a": 1, "b": 2})
    assert canary_verdict("mlflow", kept).status == "pass"
    # Kept, but nothing was upgraded that could have lost them: proves nothing.
    idle = canary_verdict("mlflow", kept, nothing_upgraded="nothing was upgraded")
    assert (idle.status, idle.message) == ("skip", "mlflow: nothing was upgraded")
    # Nothing written (every database on the operator's server): nothing proven either.
    none = canary_verdict("postgres", compare({}, {}), why_none="all on the external server")
    assert none.status == "skip"
    assert none.message == "postgres: no canaries were written: all on the external server"
    lost = canary_verdict("feast", compare({"a": 1, "b": 2}, {"b": 3}))
    assert lost.status == "fail"
    assert lost.message == ("feast: 0 of 2 canaries came back as written (1 lost, 1 changed): "
                            "feast a missing; feast b: wrote 2, read 3")


def test_database_canaries_leave_the_external_server_alone() -> None:
    stack = Stack(target="local://", scenario="external-postgres", run_id="r", tools={
        "postgres": ToolEntry(endpoints={"external": "postgresql://db.example:5432"},
                              expect={"databases": {"mlflow": "mlflow"}, "leased": ["mlflow"]})})
    writer = DatabaseCanaries()
    assert writer.write(stack, "label") == {}  # no connection is even tried
    assert "external server" in writer.why_none
    assert writer.read(stack) == {}


class _FlakyHealth(BaseHTTPRequestHandler):
    failures_left = 2

    def do_GET(self) -> None:
        cls = type(self)
        if cls.failures_left > 0:
            cls.failures_left -= 1
            self.send_response(HTTPStatus.SERVICE_UNAVAILABLE)
        else:
            self.send_response(HTTPStatus.OK)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def flaky_health() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyHealth)
    _FlakyHealth.failures_left = 2
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/health"
    server.shutdown()
    server.server_close()


def test_probes_count_each_failed_second(flaky_health: str) -> None:
    # 127.0.0.1:9 (discard) refuses: down throughout; the flaky one fails its first two probes.
    probes = HealthProbes({"flaky": flaky_health, "gone": "http://127.0.0.1:9/health"})
    probes.start()
    wait_until(lambda: probes.probes >= 4, timeout_s=30, what="four probe rounds")
    rounds = probes.probes
    down = probes.stop()
    assert down["flaky"] == pytest.approx(2.0, abs=0.3)
    # Down in every round; the last may be cut short by the stop.
    assert rounds - 1 <= down["gone"] <= rounds + 0.5


def test_a_probe_that_hangs_counts_the_time_it_took() -> None:
    # On a cluster a tool is probed through its port-forward, and a dead pod can keep the
    # probe waiting for seconds: all of that time it was unavailable.
    answers = iter([False, True])

    def slow_then_up() -> bool:
        answer = next(answers, True)
        if not answer:
            threading.Event().wait(2.5)
        return answer

    probes = HealthProbes({"mlflow": slow_then_up})
    probes.start()
    wait_until(lambda: probes.probes >= 3, timeout_s=30, what="three probe rounds")
    assert probes.stop()["mlflow"] == pytest.approx(2.5, abs=0.4)


def _upgrade_run(lost: list[str]) -> Report:
    summary = UpgradeSummary(from_set="previous", to_set="current", duration_s=42, tools=[
        ToolUpgrade(tool="mlflow", from_versions={"server": "3.2.0"},
                    to_versions={"server": "3.15.1"}, upgraded=True,
                    schema_before="770bee3ae1dd", schema_after="6f8d9c3b2a1e",
                    downtime_s={"mlflow": 19.0}, canaries_written=24,
                    canaries_present=24 - len(lost), canaries_lost=lost),
        ToolUpgrade(tool="dask", note="the servers follow the client"),
    ])
    return Report(run_id="r", runs=[ScenarioRun(scenario="defaults", target="local://",
                                                version_set="previous->current",
                                                upgrade=summary)])


def test_report_shows_the_upgrade() -> None:
    lost = "model canary-model-x alias champion"
    report = _upgrade_run([lost])
    markdown = to_markdown(report)
    assert "## Upgrade previous → current (defaults@previous->current)" in markdown
    assert ("| mlflow | server `3.2.0` → `3.15.1` | `770bee3ae1dd` → `6f8d9c3b2a1e` | "
            "mlflow 19 s | 23/24 present (1 lost, 0 changed) |") in markdown
    assert "| dask | not started again: the servers follow the client | – | – | – |" in markdown
    html = to_html(report)
    assert f"lost: {lost}" in html
    assert "not started again: the servers follow the client" in html


def test_a_downgrade_is_refused_before_anything_starts(tmp_path: Path) -> None:
    done = subprocess.run([*CLI, "upgrade", "--from", "current", "--to", "previous",
                           "--reports-dir", str(tmp_path)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "--to previous: a downgrade (" in lines[0]
    assert "mlflow_chart_version 1.11.5 -> 1.6.0" in lines[0]
    assert "--allow-downgrade" in lines[0]
    assert not list(tmp_path.iterdir())


def test_upgrade_on_an_unreachable_cluster_ends_naming_its_context(tmp_path: Path) -> None:
    from tests.k8s.test_k8s_target import closed_port_kubeconfig

    env = {"KUBECONFIG": str(closed_port_kubeconfig(tmp_path)), "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path)}
    done = subprocess.run([*CLI, "upgrade", "--target", "k8s://minikube",
                           "--reports-dir", str(tmp_path / "reports")], capture_output=True,
                          text=True, timeout=120, env=env, check=False)
    assert done.returncode == ExitCode.INFRASTRUCTURE, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "cluster context 'minikube'" in lines[0] and "does not answer" in lines[0]
