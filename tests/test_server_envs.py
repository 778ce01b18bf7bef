"""Servers at their charts' versions: the release date their dependencies resolve as of (read
from a real HTTP index), the uv commands that build them, and what the launchers run.
"""

from __future__ import annotations

import importlib.metadata
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.envs import building, env_path
from harness.launchers._server_env import (
    HARNESS_ENV_REASONS,
    flow_dependencies,
    server_env,
    server_requirements,
)
from harness.launchers.base import LaunchContext, ProcessSpec, TaskSpec
from harness.launchers.chart_values import ChartValues, render_for
from harness.launchers.dask import DaskLauncher
from harness.launchers.mlflow import MlflowLauncher
from harness.release_dates import resolved_as_of
from harness.scenario import load_scenario
from harness.secrets import SecretStore
from harness.targets.local import chart_versions
from harness.versioning import same_series

if TYPE_CHECKING:
    from collections.abc import Iterator

FILES = [  # as PyPI's JSON simple API lists them (PEP 691/700)
    {"filename": "mlflow-3.2.0-py3-none-any.whl", "upload-time": "2025-08-05T13:30:26.08Z"},
    {"filename": "mlflow-3.2.0.tar.gz", "upload-time": "2025-08-05T13:40:00.00Z"},
    {"filename": "mlflow-3.2.0rc0-py3-none-any.whl", "upload-time": "2025-07-20T10:00:00Z"},
    {"filename": "mlflow-3.20.0-py3-none-any.whl", "upload-time": "2026-11-01T10:00:00Z"},
]


class _Index(BaseHTTPRequestHandler):
    requests_seen: list[str] = []  # noqa: RUF012 - one list per test, reset by the fixture

    def do_GET(self) -> None:
        type(self).requests_seen.append(f"{self.path} {self.headers.get('Accept')}")
        if self.path != "/simple/mlflow/":
            self.send_response(HTTPStatus.NOT_FOUND)
            self.end_headers()
            return
        body = json.dumps({"name": "mlflow", "files": FILES}).encode()
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    _Index.requests_seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("UV_DEFAULT_INDEX", f"http://127.0.0.1:{server.server_address[1]}/simple")
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    yield _Index.requests_seen
    server.shutdown()
    server.server_close()


def test_dependencies_resolve_as_of_a_day_after_the_release(index: list[str]) -> None:
    # The first upload of exactly 3.2.0 (not its release candidate, not 3.20.0), plus a day.
    assert resolved_as_of("mlflow", "3.2.0") == "2025-08-06T13:30:26Z"
    assert index == ["/simple/mlflow/ application/vnd.pypi.simple.v1+json"]
    assert resolved_as_of("mlflow", "3.2.0") == "2025-08-06T13:30:26Z"
    assert len(index) == 1, "the date is cached once found"


def test_no_date_when_the_index_does_not_know(index: list[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolved_as_of("mlflow", "9.9.9") is None
    assert resolved_as_of("no-such-package", "1.0") is None
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")  # refused
    assert resolved_as_of("mlflow", "3.15.1") is None


def test_an_environment_as_of_a_date_is_another_environment(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    pins = ("mlflow==3.2.0",)
    assert env_path("mlflow-3.2.0", pins) != env_path("mlflow-3.2.0", pins,
                                                      exclude_newer="2025-08-06T13:30:26Z")
    with building("mlflow-3.2.0", pins, "2025-08-06T13:30:26Z") as build:
        install = build.steps[-1]
        build.python.python.parent.mkdir(parents=True)  # what its `uv venv` step does
    assert install[-3:] == ["--exclude-newer", "2025-08-06T13:30:26Z", "mlflow==3.2.0"]


def test_pins_follow_the_chart_version() -> None:
    assert server_requirements("mlflow", "server", "3.15.1")[0] == "mlflow==3.15.1"
    assert server_requirements("prefect", "server", "3.8.3") == ("prefect==3.8.3",)
    # The worker runs the flows with prefect-dask; what they compute with is added by
    # `flow_dependencies`, following the Dask cluster.
    assert server_requirements("prefect", "worker", "3.8.3") == ("prefect==3.8.3",
                                                                 "prefect-dask")
    hub = server_requirements("jupyterhub", "hub", "5.5.0") or ()
    assert hub[0] == "jupyterhub==5.5.0"
    assert {"configurable-http-proxy", "oauthenticator", "jupyter-server"} <= set(hub)
    # The feature server's image carries the drivers of the stores its chart configures.
    assert server_requirements("feast", "server", "0.65.0") == ("feast[postgres,redis]==0.65.0",)
    # Dask's scheduler and workers run the chart's image: Dask and its dataframe stack.
    for component in ("scheduler", "workers"):
        assert server_requirements("dask", component, "2024.1.0") == (
            "distributed==2024.1.0", "dask[dataframe]==2024.1.0", "pyarrow")
    assert not HARNESS_ENV_REASONS, "every tool with a Python server follows its chart"


def test_flows_match_the_dask_workers_image_or_else_the_harness() -> None:
    # Without Dask in the stack, the flows' packages follow the harness's, exactly.
    stages = flow_dependencies(None)
    with pytest.raises(StopIteration) as done:
        next(stages)
    harness = done.value.value
    assert f"distributed=={importlib.metadata.version('distributed')}" in harness
    assert not any(pin.startswith("cloudpickle") for pin in harness), \
        "cloudpickle is Prefect's to choose: 3.8 needs a newer one than Dask 2024.1's image"
    # With it: exact pins of the flows' packages, added to the worker's own and exempt from
    # the Prefect release's date; a label of its own.
    flows = ("distributed==2024.1.0", "dask==2024.1.0", "pandas==2.1.4")
    env = server_env("prefect", "worker", "3.8.3", flows)
    assert env is not None
    assert env.label == "prefect-3.8.3-flows"
    assert env.pins == ("prefect==3.8.3", "prefect-dask", *flows)
    assert env.exempt == ("distributed", "dask", "pandas")


def test_the_checks_feast_is_of_the_series_the_pinned_chart_deploys() -> None:
    """The checks' SDK writes the registry the feature server reads, and `feast.versions`
    wants them of one series: the harness's Feast follows the pinned chart (the `current`
    set), so a chart bump that moves Feast's minor shows here first.
    """
    secrets = SecretStore()
    deployed = chart_versions(render_for(load_scenario("defaults"), secrets))["feast"]["server"]
    sdk = importlib.metadata.version("feast")
    assert same_series(sdk, deployed), (
        f"the harness's Feast {sdk} and the pinned chart's {deployed} differ in series: pin "
        f"feast to {deployed} in constraints.txt")


def known_release_dates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                        dates: dict[str, str]) -> None:
    """A cache under `tmp_path` that already knows `dates` (`pin: time`): no index is asked."""
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "release-dates.json").write_text(json.dumps(dates), encoding="utf-8")


def test_mlflow_runs_its_chart_version_after_the_chart_migration(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    known_release_dates(monkeypatch, tmp_path, {"mlflow==3.2.0": "2025-08-06T13:30:26Z"})
    scenario = load_scenario("defaults")
    secrets = SecretStore()
    secrets.put("db_password", "pw-not-in-argv")
    context = LaunchContext(scenario=scenario, state_dir=tmp_path / "state", secrets=secrets,
                            values=ChartValues.of(render_for(scenario, secrets), "mlflow"),
                            chart_versions={"server": "3.2.0"})
    stages = []
    for stage in MlflowLauncher(context).processes():
        if isinstance(stage, TaskSpec) and stage.name.endswith("-env-0"):
            Path(stage.argv[-1]).mkdir(parents=True)  # what this `uv venv` step does
        stages.append(stage)
    builds = [s for s in stages if isinstance(s, TaskSpec) and s.name.startswith("mlflow-3.2.0")]
    assert [s.name for s in builds] == ["mlflow-3.2.0-env-0", "mlflow-3.2.0-env-1"]
    assert "--exclude-newer" in builds[1].argv
    assert "mlflow==3.2.0" in builds[1].argv
    migration, server = stages[len(builds):]
    assert isinstance(migration, TaskSpec)
    assert migration.name == "mlflow-db-upgrade"
    assert "_initialize_tables" in migration.argv[-1]
    assert migration.env["MLFLOW_BACKEND_STORE_URI"].startswith("sqlite:///")
    assert isinstance(server, ProcessSpec)
    python = env_path("mlflow-3.2.0", server_requirements("mlflow", "server", "3.2.0") or (),
                      exclude_newer="2025-08-06T13:30:26Z") / "bin" / "python"
    assert migration.argv[0] == server.argv[0] == str(python)


def test_pins_that_follow_the_harness_are_exempt_from_the_release_date(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path))
    with building("prefect-3.8.3-flows", ("prefect==3.8.3", "distributed==2026.8.0"),
                  "2026-08-14T19:09:29Z", ("distributed",)) as build:
        install = build.steps[-1]
        build.python.python.parent.mkdir(parents=True)
    at = install.index("--exclude-newer")
    assert install[at:at + 4] == ["--exclude-newer", "2026-08-14T19:09:29Z",
                                  "--exclude-newer-package", "distributed=false"]


def test_dask_runs_its_image_version_for_scheduler_and_workers(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    known_release_dates(monkeypatch, tmp_path, {"distributed==2024.1.0": "2024-01-13T21:50:32Z"})
    scenario = load_scenario("defaults")
    secrets = SecretStore()
    deployed = chart_versions(render_for(scenario, secrets))["dask"]
    assert deployed == {"scheduler": "2024.1.0", "workers": "2024.1.0"}  # worker_image_tag
    context = LaunchContext(scenario=scenario, state_dir=tmp_path / "state", secrets=secrets,
                            values=ChartValues.of(render_for(scenario, secrets), "dask"),
                            chart_versions=deployed)
    stages = []
    for stage in DaskLauncher(context).processes():
        if isinstance(stage, TaskSpec) and stage.name.endswith("-env-1"):
            # What the build does; the second component finds it built (one image, one env).
            Path(stage.argv[stage.argv.index("--python") + 1]).parent.mkdir(parents=True)
        stages.append(stage)
    builds = [s for s in stages if isinstance(s, TaskSpec)]
    assert [s.name for s in builds] == ["dask-2024.1.0-env-0", "dask-2024.1.0-env-1"]
    assert builds[1].argv[-3:] == ["distributed==2024.1.0", "dask[dataframe]==2024.1.0",
                                   "pyarrow"]
    scheduler, workers = stages[len(builds):]
    assert isinstance(scheduler, ProcessSpec)
    assert isinstance(workers, list)
    python = env_path("dask-2024.1.0", server_requirements("dask", "workers", "2024.1.0") or (),
                      exclude_newer="2024-01-13T21:50:32Z") / "bin" / "python"
    assert {scheduler.argv[0]} | {w.argv[0] for w in workers} == {str(python)}
