"""`<module>.wiring.variable-reach`: a module variable that changes nothing in the rendered
manifests fails (unless documented as doing nothing); one that changes something reaches.

The synthetic tests use a tiny root module with one values submodule (`demo`) and a synthetic
chart whose template also renders a random value (`randAlphaNum`), which must be ignored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.charts.source import ChartSource
from harness.manifests.variable_reach import (
    NO_OP,
    REACHES,
    UNMUTABLE,
    reach_findings,
    variable_reach,
    variable_reach_checks,
)
from harness.static.modules import ModuleVariable, terraform_root
from harness.static.mutations import changed_values
from tests.conftest import CLI
from tests.helpers.charts import make_chart

VARIABLES = {
    "greeting": ("string", '"hello"', "Greeting the demo ConfigMap holds."),
    "colour": ("string", '"blue"', "Colour of the demo widget."),
    "legacy_flag": ("bool", "false", "Whether to install the old widget; accepted but installs "
                                     "nothing."),
    "fancy": ("bool", "false", "Whether the widget is fancy."),
    "fancy_level": ("number", "1", "How fancy the widget is; used when `fancy` is `true`."),
}

VALUES_MAIN = """
locals {
  values = merge({ greeting = var.greeting }, var.fancy ? { level = var.fancy_level } : {})
}
"""

OUTPUTS = """
output "releases" {
  value = { demo = { chart = "demo", version = var.chart_version, repository = "" } }
}

output "values" {
  value = { demo = local.values }
}
"""

TEMPLATE = """apiVersion: v1
kind: ConfigMap
metadata:
  name: demo
  labels:
    chart: {{ .Chart.Version | quote }}
data:
  greeting: {{ .Values.greeting | quote }}
  level: {{ .Values.level | default 0 | quote }}
  token: {{ randAlphaNum 12 | quote }}
"""


def _variable(name: str, kind: str, default: str, description: str) -> str:
    return (f'variable "{name}" {{\n  type        = {kind}\n  default     = {default}\n'
            f'  description = "{description}"\n}}\n\n')


def demo_root(tmp_path: Path, *, main: str = VALUES_MAIN) -> Path:
    """A root module whose one module, `demo`, passes only some of its variables to values."""
    root = tmp_path / "terraform"
    values = root / "modules" / "demo" / "values"
    values.mkdir(parents=True)
    common = {"create": ("bool", "true", "Whether to install the demo."),
              "namespace": ("string", '"demo"', "Namespace of the demo."),
              "chart_version": ("string", '"1.0.0"', "Version of the demo chart.")}
    module_vars = {**common, **VARIABLES}
    (values / "variables.tf").write_text("".join(
        _variable(n, *spec) for n, spec in module_vars.items()))
    (values / "main.tf").write_text(main)
    (values / "outputs.tf").write_text(OUTPUTS)
    root_names = {"create": "enable_demo", "namespace": "demo_namespace",
                  "chart_version": "demo_chart_version"}
    (root / "variables.tf").write_text("".join(
        _variable(root_names.get(n, n), *spec) for n, spec in module_vars.items()))
    return root


@pytest.fixture
def demo_charts(tmp_path: Path) -> ChartSource:
    for version in ("1.0.0", "0.9.0"):
        make_chart(tmp_path / "charts", "demo", version, templates={"cm.yaml": TEMPLATE})
    return ChartSource(tmp_path / "charts")


def test_a_declared_but_unused_variable_fails(tmp_path: Path, demo_charts: ChartSource) -> None:
    root = demo_root(tmp_path)
    results = variable_reach_checks({}, demo_charts, "1.34", secrets={}, terraform_dir=root)
    assert [(r.id, r.status) for r in results] == [("demo.wiring.variable-reach", "fail")]
    message = results[0].message
    assert "demo.colour: changing it to" in message
    assert "changes no rendered object" in message
    assert "Colour of the demo widget." in message
    assert "greeting" not in message.split("; 5 of")[0]  # it reaches


def test_each_verdict(tmp_path: Path, demo_charts: ChartSource) -> None:
    reaches = {r.variable: r for r in variable_reach(
        {}, source=demo_charts, secrets={}, terraform_dir=demo_root(tmp_path))}
    # The template's random token differs on every render and is not taken for a change.
    assert reaches["greeting"].verdict == REACHES
    assert reaches["greeting"].detail == "ConfigMap demo data.greeting"
    assert reaches["create"].verdict == REACHES
    assert reaches["create"].root_variable == "enable_demo"
    assert reaches["chart_version"].verdict == REACHES  # 0.9.0, from the chart source
    assert (reaches["colour"].verdict, reaches["colour"].failed) == (NO_OP, True)
    # Documented as doing nothing: a finding, not a failure.
    assert (reaches["legacy_flag"].verdict, reaches["legacy_flag"].failed) == (NO_OP, False)
    # Matters only once its switch is on, as its description says.
    assert reaches["fancy_level"].verdict == REACHES
    assert reaches["fancy_level"].detail.startswith("with fancy = true: ConfigMap demo data.level")
    findings = reach_findings(list(reaches.values()))
    assert findings == ["demo: variable legacy_flag changes no rendered object (documented: "
                        "Whether to install the old widget; accepted but installs nothing.)"]


def test_a_variable_terraform_refuses_to_change_could_not_be_mutated(
        tmp_path: Path, demo_charts: ChartSource) -> None:
    # Any other greeting is refused: there is no value to compare with.
    root = demo_root(tmp_path)
    values = root / "modules" / "demo" / "values" / "variables.tf"
    values.write_text(values.read_text().replace(
        '  description = "Greeting the demo ConfigMap holds."\n',
        '  description = "Greeting the demo ConfigMap holds."\n  validation {\n'
        '    condition     = var.greeting == "hello"\n'
        '    error_message = "greeting must be hello."\n  }\n'))
    reaches = {r.variable: r for r in variable_reach(
        {}, source=demo_charts, secrets={}, terraform_dir=root)}
    assert reaches["greeting"].verdict == UNMUTABLE
    assert "greeting must be hello." in reaches["greeting"].detail
    assert reaches["fancy"].verdict == REACHES


def test_a_module_the_scenario_does_not_install_is_skipped(
        tmp_path: Path, demo_charts: ChartSource) -> None:
    results = variable_reach_checks({"enable_demo": False}, demo_charts, secrets={},
                                    terraform_dir=demo_root(tmp_path))
    assert [(r.status, r.message) for r in results] == [
        ("skip", "the scenario does not install this module")]


def test_changed_values_follow_the_type_and_the_documentation() -> None:
    def var(kind: str, description: str = "") -> ModuleVariable:
        return ModuleVariable("v", kind, description, False, None, False, False)

    policy = var("string", "Pull policy: `Always`, `IfNotPresent` or `Never`.")
    assert changed_values(policy, "Always")[:2] == ["IfNotPresent", "Never"]
    assert changed_values(var("number"), 3)[0] == 4
    assert changed_values(var("bool"), True) == [False]
    secrets = var("list(object({name = string}))", "Pull secrets (`[{ name = \"regcred\" }]`).")
    assert changed_values(secrets, [])[0] == [{"name": "regcred"}]
    assert changed_values(var("list(string)"), ["a"]) == [["a", "changed"], []]
    assert changed_values(var("map(number)"), {}) == [{"changed": 1}]
    token = "ab" * 32
    assert len(changed_values(var("string"), token)[0]) == len(token)


@pytest.mark.charts
def test_real_modules_defaults(charts_repo: Path, tmp_path: Path) -> None:
    # Today's modules: the dask chart names its worker Deployment itself (`worker.name` only
    # names additional worker groups), so `worker_name` changes nothing; Feast's four
    # documented no-ops are findings.
    env = {**os.environ, "HARNESS_CHARTS": str(charts_repo),
           "HARNESS_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([*CLI, "render", "--variable-reach", "--scenario", "defaults"],
                          capture_output=True, text=True, env=env, timeout=900, check=False)
    lines = proc.stdout.splitlines() + proc.stderr.splitlines()
    failing = sorted(line.split()[2] for line in lines if line.startswith("NO-OP (fail)"))
    findings = sorted(line.split()[2] for line in lines if line.startswith("no-op (finding)"))
    assert (proc.returncode, failing) == (1, ["dask.worker_name:"]), proc.stderr
    assert findings == ["feast.feast_grafana_enabled:", "feast.feast_jupyter_enabled:",
                        "feast.feast_kafka_enabled:",
                        "feast.feast_prometheus_statsd_exporter_enabled:"]
    assert not [line for line in lines if line.startswith(("could not mutate", "not judged"))]
    assert "jhub_proxy_secret_token" in proc.stdout


@pytest.mark.charts
def test_real_module_that_forgets_a_variable(charts_repo: Path, tmp_path: Path) -> None:
    # A copy of terraform/ whose seldon module no longer passes istio_gateway to the chart.
    root = tmp_path / "terraform"
    shutil.copytree(terraform_root(), root,
                    ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    main = root / "modules" / "seldon" / "values" / "main.tf"
    main.write_text(main.read_text().replace("      gateway = var.istio_gateway\n", ""))
    only_seldon = {f"enable_{tool}": False
                   for tool in ("jupyterhub", "prefect", "dask", "feast", "mlflow")}
    results = {r.id: r for r in variable_reach_checks(
        only_seldon, ChartSource(charts_repo), "1.34", terraform_dir=root)}
    failed = results["seldon.wiring.variable-reach"]
    assert failed.status == "fail", failed.message
    assert "seldon.istio_gateway: changing it to" in failed.message
    assert "(nor with istio_enabled = true)" in failed.message
    assert results["dask.wiring.variable-reach"].status == "skip"
