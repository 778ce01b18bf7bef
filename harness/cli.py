"""The `mlops-conformance` command: run | check | render | upgrade-plan | scenarios | report |
down | charts.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from harness import __version__, config
from harness.console import RunConsole
from harness.errors import BadInputError, ExitCode, HarnessError, InterruptedRunError
from harness.scenario import TOOLS

if TYPE_CHECKING:
    from harness.manifests.upgrade_plan import UpgradePlan

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=_CONTEXT)
@click.version_option(__version__, prog_name="mlops-conformance")
def cli() -> None:
    """Provision the MLOps reference architecture per scenario, check every tool, report."""


def _tool_list(value: str | None) -> frozenset[str] | None:
    if not value:
        return None
    if value == "none":
        return frozenset()
    names = frozenset(part.strip() for part in value.split(",") if part.strip())
    unknown = sorted(names - set(TOOLS))
    if unknown:
        raise click.BadParameter(f"unknown tool {unknown[0]!r}; choose from {', '.join(TOOLS)}")
    return names


def _selection(markers: str | None, keyword: str | None) -> list[str]:
    args = []
    if markers:
        args += ["-m", markers]
    if keyword:
        args += ["-k", keyword]
    return args


_reports_option = click.option(
    # Absolute, so every path handed to a server means the same from its own directory.
    "--reports-dir", type=click.Path(file_okay=False, path_type=Path, resolve_path=True),
    default=config.DEFAULT_REPORTS_DIR, envvar=config.ENV_REPORTS_DIR, show_default=True,
    help=f"Where run directories go (env {config.ENV_REPORTS_DIR}).")
_markers_option = click.option(
    "-m", "markers", metavar="EXPR", help="Select checks by marker, e.g. `mlflow or dask`.")
_keyword_option = click.option("-k", "keyword", metavar="EXPR", help="Select checks by name.")
_reruns_option = click.option(
    "--reruns", type=click.IntRange(0, 5), default=config.DEFAULT_RERUNS, envvar=config.ENV_RERUNS,
    show_default=True, help="Retries of a check that failed on a transient error (connection "
                            "refused or reset, HTTP 502/503/504); a pass on retry is `flaky`.")
_serial_option = click.option(
    "--serial", is_flag=True, envvar=config.ENV_SERIAL,
    help=f"Run the checks one after another in one pytest, not one worker per tool at once "
         f"(for debugging; env {config.ENV_SERIAL}).")
_fail_on_flaky_option = click.option(
    "--fail-on-flaky", is_flag=True, envvar=config.ENV_FAIL_ON_FLAKY,
    help=f"A check that passed only on a retry fails the run (exit 1; env "
         f"{config.ENV_FAIL_ON_FLAKY}).")


_diagnostics_option = click.option(
    "--diagnostics", type=click.Choice(["on-failure", "always"]), default="on-failure",
    envvar=config.ENV_DIAGNOSTICS, show_default=True,
    help="When a target that runs elsewhere (a cluster) collects its state into "
         "diagnostics/ before teardown: when a check fails or errors, or always (env "
         f"{config.ENV_DIAGNOSTICS}).")



def _checks_options(command: Any) -> Any:
    """The options of every command that runs the checks: where the report goes, which
    checks, how failures are retried and judged, and whether tools' checks run side by side.
    """
    for option in (_serial_option, _fail_on_flaky_option, _reruns_option, _keyword_option,
                   _markers_option, _reports_option):
        command = option(command)
    return command

def _kube_versions(_ctx: Any, _param: Any, value: str | None) -> tuple[str, ...] | None:
    if not value:
        return None
    from harness.manifests.support_range import parse_kube_versions

    try:
        return parse_kube_versions(value)
    except BadInputError as exc:
        raise click.BadParameter(str(exc)) from exc


_kube_versions_option = click.option(
    "--kube-versions", callback=_kube_versions, envvar="HARNESS_KUBE_VERSIONS",
    metavar="X.Y,...", help="Kubernetes versions the manifests are judged for (default: the "
                            "oldest and newest the charts support; env HARNESS_KUBE_VERSIONS).")


def _set_charts(_ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    # Through the environment, so the matrix's children and the static stage see it too.
    if value is not None:
        os.environ[config.ENV_CHARTS] = str(value)
    return value


_charts_option = click.option(
    "--charts", type=click.Path(exists=True, file_okay=False, path_type=Path, resolve_path=True),
    envvar=config.ENV_CHARTS, callback=_set_charts, expose_value=False, metavar="DIR",
    help=f"A directory of chart packages (<chart>-<version>.tgz, optionally an index.yaml) to "
         f"render from (env {config.ENV_CHARTS}; default: the upstream charts pulled into the "
         "cache by `charts pull`).")


def _validate_selection(markers: str | None, keyword: str | None) -> list[dict[str, Any]]:
    """The selected checks; exit 2 when `-m`/`-k` select none, 3 when a check module cannot
    be collected.
    """
    from harness.checks_runner import selected_checks

    return selected_checks(_selection(markers, keyword))


@cli.command()
@click.option("--scenario", "scenario_names", multiple=True, envvar=config.ENV_SCENARIO,
              default=[config.DEFAULT_SCENARIO], show_default=True,
              help="Scenario name in scenarios/, a YAML file, or `all`; repeat for several "
                   f"(env {config.ENV_SCENARIO}, space-separated).")
@click.option("--parallel", type=click.IntRange(1, 8), default=config.DEFAULT_PARALLEL,
              envvar=config.ENV_PARALLEL, show_default=True,
              help="With several scenarios: how many run side by side.")
@click.option("--target", "target_url", default=config.DEFAULT_TARGET, envvar=config.ENV_TARGET,
              show_default=True, help=f"Where to provision (env {config.ENV_TARGET}).")
@click.option("--keep", is_flag=True, help="Leave the stack running; print how to stop it.")
@_checks_options
@_diagnostics_option
@click.option("--run-id", help="Name of the run directory (default: time, scenario, random).")
@click.option("--tools", callback=lambda _c, _p, v: _tool_list(v), metavar="TOOL,...",
              help="Provision and check only these tools (and what they require); `none` for "
                   "the static stage alone.")
@click.option("--share/--no-share", default=True, show_default=True,
              help="With several scenarios: provision a tool again only where its module's "
                   "inputs differ from the first scenario's; elsewhere its checks are skipped "
                   "as covered by that column.")
@_kube_versions_option
@click.option("--versions", "version_names", envvar=config.ENV_VERSIONS, metavar="SET,...",
              help="Version sets (names in versions/, files, or `all`): every scenario runs "
                   "with each set's chart versions, one column per scenario and set (env "
                   f"{config.ENV_VERSIONS}; default: the modules' pins, one column per "
                   "scenario).")
@click.option("--shared-with", hidden=True, help="Set by a shared run for its children.")
@_charts_option
def run(
    scenario_names: tuple[str, ...], parallel: int, target_url: str, reports_dir: Path, keep: bool,
        markers: str | None, keyword: str | None, reruns: int, fail_on_flaky: bool,
    serial: bool, diagnostics: str, run_id: str | None, tools: frozenset[str] | None, share: bool,
    kube_versions: tuple[str, ...] | None, version_names: str | None, shared_with: str | None,
) -> None:
    """Provision a scenario, run the checks against it, tear it down, write the report."""
    from harness.report.model import Report
    from harness.report.render import write_all
    from harness.run import RunOptions, new_run_id, run_scenario
    from harness.scenario import load_scenario
    from harness.scenario import scenario_names as known
    from harness.targets import get_target, parse_target_url

    names = list(dict.fromkeys(
        n for name in scenario_names for n in (known() if name == "all" else name.split())))
    sets = _version_sets(version_names)
    # One column per scenario and version set; all valid, or exit 2 before anything starts.
    columns = [(name, chosen) for name in names for chosen in sets]
    loaded = [_with_versions(load_scenario(name), chosen) for name, chosen in columns]
    names = [_column_key(name, chosen) for name, chosen in columns]
    parse_target_url(target_url)
    selected = _validate_selection(markers, keyword)
    get_target(target_url).connect()  # an unreachable cluster is said now, not after rendering
    console = RunConsole()
    if len(loaded) > 1:
        if keep:
            raise BadInputError("--keep: give one --scenario; a kept stack is one scenario's")
        common = ["--target", target_url, "--reruns", str(reruns), *_selection(markers, keyword),
                  *(["--fail-on-flaky"] if fail_on_flaky else []),
                  *(["--serial"] if serial else []), "--diagnostics", diagnostics,
                  *(["--kube-versions", ",".join(kube_versions)] if kube_versions else [])]
        args = _child_args(names, loaded, tools, share, common,
                           [chosen.name if chosen else "" for _, chosen in columns])
        for key, (name, chosen) in zip(names, columns, strict=True):
            args[key] = ["--scenario", name, *(["--versions", str(chosen.path)] if chosen
                                               else []), *args[key]]
        _run_matrix(names, run_id or new_run_id("matrix"), reports_dir, parallel, console, args)
    scenario = loaded[0]
    run_id = run_id or new_run_id(scenario.name)
    run_dir = reports_dir / run_id
    options = RunOptions(target_url=target_url, reports_dir=reports_dir, keep=keep,
                         reruns=reruns, pytest_args=_selection(markers, keyword), tools=tools,
                         fail_on_flaky=fail_on_flaky, kube_versions=kube_versions,
                         collected=selected, serial=serial,
                         diagnostics_always=diagnostics == "always",
                         version_set=columns[0][1].name if columns[0][1] else "default")
    if (markers or keyword) and not shared_with:  # a shared column may rightly run none
        options.selected = selected
    if shared_with:
        options.unselected = (f"{{tool}}: same module inputs as in column {shared_with!r}, "
                              f"whose column covers it (run alone or with --no-share to repeat)")
    result = run_scenario(scenario, options, run_dir, console)
    report = Report(run_id=run_id, harness_version=__version__, runs=[result])
    console.phase("report", str(run_dir))
    paths = write_all(report, run_dir)
    _summarise(console, report, paths)
    if keep and result.exit_code != ExitCode.INFRASTRUCTURE:
        _print_kept(run_dir)
    sys.exit(report.exit_code)


def _version_sets(value: str | None) -> list[Any]:
    """The version sets `--versions` names (`all`: every set in versions/), or `[None]`: the
    modules' pins, as a run without the option has always used.
    """
    from harness.version_sets import load_version_set, version_set_names

    if not value:
        return [None]
    names = [n for part in value.split(",") for n in (
        version_set_names() if part.strip() == "all" else [part.strip()]) if n]
    return [load_version_set(name) for name in dict.fromkeys(names)]


def _with_versions(scenario: Any, chosen: Any) -> Any:
    """The scenario with a version set's chart versions as tfvars overrides."""
    from harness.version_sets import apply_version_set

    if chosen is not None:
        scenario.tfvars = apply_version_set(dict(scenario.tfvars), chosen)
    return scenario


def _column_key(name: str, chosen: Any) -> str:
    """A column's name: the scenario, or `scenario@set` when a version set was asked for."""
    return name if chosen is None else f"{name}@{chosen.name}"


def _child_args(names: list[str], loaded: list[Any], tools: frozenset[str] | None, share: bool,
                common: list[str], version_sets: list[str] | None = None,
                ) -> dict[str, list[str]]:
    """Each column's arguments; with sharing, a later column provisions only what differs
    from the first column of its version set (`version_sets`: each column's), which runs
    everything: a column shares with one that ran its tools, never through another.
    """
    from harness.sharing import tools_to_provision

    groups = version_sets or [""] * len(names)
    bases = {group: index for index, group in reversed(list(enumerate(groups)))}
    args = {}
    for index, (name, scenario) in enumerate(zip(names, loaded, strict=True)):
        own = tools
        extra: list[str] = []
        base = bases[groups[index]]
        if share and index != base:
            own = tools_to_provision(loaded[base], scenario) & (
                tools if tools is not None else frozenset(TOOLS))
            extra = ["--shared-with", names[base]]
        selection = ["--tools", ",".join(sorted(own)) or "none"] if own is not None else []
        args[name] = [*common, *selection, *extra]
    return args


def _run_matrix(names: list[str], run_id: str, reports_dir: Path, parallel: int,
                console: RunConsole, child_args: dict[str, list[str]]) -> None:
    from harness.matrix import run_matrix
    from harness.report.render import write_all

    run_dir = reports_dir / run_id
    console.phase("matrix", f"{len(names)} scenarios, {parallel} at a time: {', '.join(names)}")
    report = run_matrix(names, child_args, run_dir, console, parallel, __version__)
    console.phase("report", str(run_dir))
    paths = write_all(report, run_dir)
    _summarise(console, report, paths)
    sys.exit(report.exit_code)


@cli.command()
@click.option("--stack", "stack_file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="stack.json describing a running deployment.")
@_checks_options
@_charts_option
def check(stack_file: Path, reports_dir: Path, markers: str | None, keyword: str | None,
          reruns: int, fail_on_flaky: bool, serial: bool) -> None:
    """Run the checks against an already running deployment: no provisioning, no teardown."""
    from harness.checks_runner import pytest_argv, run_checks, worker_count
    from harness.errors import InterruptedRunError
    from harness.exposure import NOT_LOCAL, LoopbackWatch, skipped
    from harness.report.model import Report, ScenarioRun, checks_from_results, exit_code_for
    from harness.report.render import write_all
    from harness.run import new_run_id, signals_as_interrupts
    from harness.secrets import Redactor
    from harness.stack import Stack
    from harness.static.chart_versions import scenario_drift

    stack = Stack.load(stack_file)
    secret_values = stack.secret_values()  # exit 2 here on a reference that does not resolve
    selected = _validate_selection(markers, keyword)
    if not any(set(entry["needs"]) <= set(stack.tools) for entry in selected):
        raise BadInputError(
            f"{stack_file}: none of the {len(selected)} selected checks can run against it: "
            f"they need {', '.join(sorted({t for e in selected for t in e['needs']}))}; the "
            f"stack has {', '.join(sorted(stack.tools)) or 'no tools'}")
    run_id = new_run_id(f"{stack.scenario}-check")
    run_dir = reports_dir / run_id
    (run_dir / "logs").mkdir(parents=True)
    console = RunConsole(Redactor(secret_values))
    console.phase("checks", f"against {stack_file}")
    # A stack kept by `run --keep` on the local target has its servers' pids beside it.
    pid_file = stack_file.resolve().parent / "pids.json"
    exposure = LoopbackWatch(pid_file).start() if pid_file.is_file() else None
    with signals_as_interrupts():  # SIGTERM, like Ctrl-C, stops the pytest child first
        try:
            outcome = run_checks(
                pytest_argv(stack_file.resolve(), (run_dir / "results.json").resolve(), reruns,
                            _selection(markers, keyword),
                            worker_count(selected, set(stack.tools) - set(stack.skip), serial)),
                run_dir / "logs" / "checks.log", console)
        except KeyboardInterrupt:
            if exposure:
                exposure.stop()
            msg = f"checks {run_id} interrupted; the checks' pytest is stopped"
            raise InterruptedRunError(msg) from None
    result = ScenarioRun(scenario=stack.scenario, target=stack.target)
    result.checks = checks_from_results(outcome.results, lambda _tool: "logs/checks.log")
    result.checks.append(exposure.stop() if exposure else skipped(NOT_LOCAL))
    result.infrastructure_errors = [outcome.infrastructure_error] if outcome.infrastructure_error \
        else []
    for tool, components in outcome.results.get("versions", {}).items():
        result.versions.setdefault(tool, {}).update(components)
    result.version_drift = scenario_drift(stack.scenario, result.versions)
    result.exit_code = exit_code_for(result.checks, result.infrastructure_errors, fail_on_flaky)
    report = Report(run_id=run_id, harness_version=__version__, runs=[result])
    paths = write_all(report, run_dir)
    _summarise(console, report, paths)
    sys.exit(report.exit_code)


@cli.command()
@click.option("--scenario", "scenario_name", default=config.DEFAULT_SCENARIO,
              envvar=config.ENV_SCENARIO, show_default=True,
              help=f"Scenario name in scenarios/ or a YAML file (env {config.ENV_SCENARIO}).")
@click.option("--module", "modules", multiple=True, help="Print only these modules' values.")
@click.option("--manifests", is_flag=True,
              help="Print the charts' rendered manifests instead of the values (secrets "
                   "replaced by their names), for the newest Kubernetes version under test.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="With --manifests: write <namespace>/<release>.yaml there instead.")
@_kube_versions_option
@_charts_option
@click.option("--variable-reach", is_flag=True,
              help="Instead: change each module variable in turn, render the charts, and print "
                   "whether it reaches the manifests (exit 1 on an undocumented no-op).")
def render(scenario_name: str, modules: tuple[str, ...], manifests: bool, out_dir: Path | None,
           kube_versions: tuple[str, ...] | None, variable_reach: bool) -> None:
    """Print each module's rendered Helm values (secrets masked), or the manifests the charts
    render from them, and the static checks' verdicts.
    """
    import yaml

    from harness.scenario import load_scenario
    from harness.secrets import run_secrets
    from harness.static_stage import run_static_stage

    scenario = load_scenario(scenario_name)
    if variable_reach:
        _print_variable_reach(scenario, modules)
    result = run_static_stage(scenario, run_secrets(scenario), kube_versions=kube_versions,
                              manifests_dir=out_dir if manifests else None)
    if manifests and out_dir is None and result.manifests is not None:
        for rendered in result.manifests.manifests.releases:
            if not modules or rendered.module in modules:
                click.echo(f"# {rendered.namespace}/{rendered.name} ({rendered.chart} "
                           f"{rendered.version})")
                click.echo(yaml.safe_dump_all(rendered.objects, sort_keys=False).rstrip()
                           + "\n---")
    elif not manifests:
        for module, releases in sorted(result.rendered.masked().items()):
            if modules and module not in modules:
                continue
            for release, values in sorted(releases.items()):
                click.echo(f"# {module} / {release}")
                click.echo(yaml.safe_dump(values, sort_keys=False).rstrip() + "\n---")
    checks = result.checks()
    for check in checks:
        mark = {"pass": "ok  ", "skip": "skip"}.get(check.status, "FAIL")
        click.echo(f"{mark} {check.id}: {check.message}", err=check.status == "fail")
    for finding in result.findings:
        click.echo(f"note {finding}")
    failed = result.failures or any(c.status == "fail" for c in checks)
    sys.exit(ExitCode.CHECK_FAILED if failed else ExitCode.OK)


def _print_variable_reach(scenario: Any, modules: tuple[str, ...]) -> None:
    """One line per module variable: reaches / no-op (finding) / NO-OP (fail) / could not
    mutate / not judged; exit 1 on a failure.
    """
    import time

    from harness.charts.source import chart_source
    from harness.manifests.variable_reach import reach_checks, variable_reach
    from harness.static.render import RenderError
    from harness.static_stage import render_failure

    started = time.monotonic()
    try:
        reaches = variable_reach(dict(scenario.tfvars), source=chart_source())
    except RenderError as exc:
        raise render_failure(scenario, exc) from exc
    shown = [r for r in reaches if not modules or r.module in modules]
    for reach in shown:
        click.echo(reach.line(), err=reach.failed)
    failed = [c for c in reach_checks(shown) if c.status == "fail"]
    counts = {verdict: sum(r.verdict == verdict for r in shown)
              for verdict in ("reaches", "no-op", "could not mutate", "not judged")}
    summary = ", ".join(f"{n} {verdict}" for verdict, n in counts.items() if n)
    click.echo(f"{len(shown)} variables: {summary}; {len(failed)} modules fail "
               f"({time.monotonic() - started:.1f} s)")
    sys.exit(ExitCode.CHECK_FAILED if failed else ExitCode.OK)


@cli.command()
@click.option("--from", "from_name", default="previous", show_default=True, metavar="VERSIONS",
              help="Version set the stack is provisioned at: a name in versions/ or a file.")
@click.option("--to", "to_name", default="current", show_default=True, metavar="VERSIONS",
              help="Version set it is upgraded to.")
@click.option("--scenario", "scenario_name", default=config.DEFAULT_SCENARIO,
              envvar=config.ENV_SCENARIO, show_default=True,
              help=f"Scenario name in scenarios/ or a YAML file (env {config.ENV_SCENARIO}).")
@click.option("--target", "target_url", default=config.DEFAULT_TARGET, envvar=config.ENV_TARGET,
              show_default=True,
              help="Where to provision: local://, or k8s://CONTEXT (the `to` set is applied "
                   "over the installation).")
@click.option("--allow-downgrade", is_flag=True,
              help="Go to older charts too (most tools refuse a schema newer than theirs).")
@_checks_options
@click.option("--run-id", help="Name of the run directory (default: time, scenario, random).")
@click.option("--tools", callback=lambda _c, _p, v: _tool_list(v), metavar="TOOL,...",
              help="Provision, upgrade and check only these tools (and what they require).")
@_charts_option
def upgrade(from_name: str, to_name: str, scenario_name: str, target_url: str,
            allow_downgrade: bool, reports_dir: Path, markers: str | None, keyword: str | None,
            reruns: int, fail_on_flaky: bool, serial: bool, run_id: str | None,
            tools: frozenset[str] | None) -> None:
    """Provision the `from` versions, write canaries, upgrade the running stack to the `to`
    versions, read the canaries back and run the checks on the upgraded stack.

    Exit 0 when every canary came back and every check passed, 1 on a lost or changed canary
    or a failed check, 2 on bad input (a downgrade without --allow-downgrade), 3 when the
    stack could not be provisioned or upgraded.
    """
    from harness.report.model import Report
    from harness.report.render import write_all
    from harness.run import RunOptions, new_run_id, run_scenario
    from harness.scenario import load_scenario
    from harness.secrets import run_secrets
    from harness.static.chart_versions import expected_versions
    from harness.static.render import InvalidTfvarsError, render_scenario
    from harness.targets import get_target, parse_target_url
    from harness.targets.local import chart_versions
    from harness.upgrade.direction import downgrades
    from harness.upgrade.perform import UpgradeRequest
    from harness.version_sets import apply_version_set, load_version_set

    if parse_target_url(target_url)[0] not in {"local", "k8s"}:
        raise BadInputError(f"--target {target_url!r}: upgrade runs on the local target or a "
                            "cluster (k8s://CONTEXT)")
    from_set = load_version_set(from_name, "--from")
    to_set = load_version_set(to_name, "--to")
    older = downgrades(from_set, to_set)
    if older and not allow_downgrade:
        raise BadInputError(f"--to {to_set.name}: a downgrade ({'; '.join(older)}); most tools "
                            "refuse a database their newer version migrated: pass "
                            "--allow-downgrade to try it anyway")
    selected = _validate_selection(markers, keyword)
    scenario = load_scenario(scenario_name)
    try:
        to_rendered = render_scenario(apply_version_set(dict(scenario.tfvars), to_set),
                                      secrets=run_secrets(scenario))
    except InvalidTfvarsError as exc:
        raise BadInputError(f"--to {to_set.name}: {exc}") from exc
    to_tfvars = _with_versions(load_scenario(scenario_name), to_set).effective_tfvars()
    scenario = _with_versions(scenario, from_set)
    request = UpgradeRequest(from_set=from_set.name, to_set=to_set.name,
                             to_versions=chart_versions(to_rendered),
                             expected=expected_versions(to_rendered.releases),
                             downgrade=bool(older), to_tfvars=to_tfvars,
                             to_rendered=to_rendered)
    get_target(target_url).connect()  # an unreachable cluster is said now, not after rendering
    console = RunConsole()
    run_id = run_id or new_run_id(f"{scenario.name}-upgrade")
    run_dir = reports_dir / run_id
    options = RunOptions(target_url=target_url, reports_dir=reports_dir, reruns=reruns,
                         pytest_args=_selection(markers, keyword), tools=tools,
                         fail_on_flaky=fail_on_flaky, collected=selected, serial=serial,
                         version_set=f"{from_set.name}->{to_set.name}", upgrade=request)
    if markers or keyword:
        options.selected = selected
    result = run_scenario(scenario, options, run_dir, console)
    report = Report(run_id=run_id, harness_version=__version__, runs=[result])
    console.phase("report", str(run_dir))
    paths = write_all(report, run_dir)
    _summarise(console, report, paths)
    sys.exit(report.exit_code)


@cli.command("upgrade-plan")
@click.option("--from", "from_name", required=True, metavar="VERSIONS",
              help="Version set upgraded from: a name in versions/ (e.g. previous) or a file.")
@click.option("--to", "to_name", required=True, metavar="VERSIONS",
              help="Version set upgraded to (e.g. current).")
@click.option("--scenario", "scenario_name", default=config.DEFAULT_SCENARIO,
              envvar=config.ENV_SCENARIO, show_default=True,
              help=f"Scenario name in scenarios/ or a YAML file (env {config.ENV_SCENARIO}).")
@_charts_option
@click.option("--kube-version", default="1.34", show_default=True,
              help="Kubernetes version the charts are rendered for.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def upgrade_plan(from_name: str, to_name: str, scenario_name: str, kube_version: str,
                 as_json: bool) -> None:
    """Judge, without a cluster, what upgrading a scenario's charts would do, per object.

    Exit 1 on any failure, 3 when no chart could be rendered, 2 on bad input.
    """
    import json

    from harness.charts.source import chart_source
    from harness.manifests.kube_api import minor_of, schema_versions
    from harness.manifests.upgrade_plan import upgrade_plan as plan_upgrade
    from harness.scenario import load_scenario
    from harness.static.render import InvalidTfvarsError
    from harness.version_sets import load_version_set

    if minor_of(kube_version) not in schema_versions():
        raise BadInputError(f"--kube-version {kube_version!r}: no API data for it; "
                            f"give one of {', '.join(schema_versions())}")
    scenario = load_scenario(scenario_name)
    from_set = load_version_set(from_name, "--from")
    to_set = load_version_set(to_name, "--to")
    try:
        plan = plan_upgrade(scenario, from_set, to_set, source=chart_source(),
                            kube_version=kube_version)
    except InvalidTfvarsError as exc:
        raise BadInputError(f"{exc}; fix the version set or the scenario") from exc
    if as_json:
        click.echo(json.dumps(plan.to_json(), indent=1))
    else:
        _print_plan(plan)
    sys.exit(plan.exit_code)


def _print_plan(plan: UpgradePlan) -> None:
    click.echo(f"upgrade plan: scenario {plan.scenario}, {plan.from_set} -> {plan.to_set}, "
               f"Kubernetes {plan.kube_version}")
    for release in plan.releases:
        click.echo(f"\n{release.label}: {release.verdict}")
        if release.skipped:
            click.echo(f"  skipped: {release.skipped}")
        for failure in release.failures:
            click.echo(f"  FAIL     {failure}")
        for obj in release.objects:
            click.echo(f"  {obj.verdict:<8} {obj.ref}")
            for reason in obj.reasons:
                click.echo(f"             {reason}")
        for note in release.notes:
            click.echo(f"  note     {note}")
    click.echo("\nsummary")
    width = max((len(r.label) for r in plan.releases), default=0)
    for release in plan.releases:
        counts = ", ".join(f"{n} {v}" for v, n in release.counts().items()) or "-"
        click.echo(f"  {release.label:<{width}}  {release.verdict:<8} {counts}")
    failures = [f for r in plan.releases for f in r.failure_messages()]
    click.echo(f"overall: {plan.verdict}"
               + (f" ({len(failures)} failures)" if failures else ""))
    for failure in failures:
        click.echo(f"  {failure}", err=True)


@cli.command()
@click.option("--markdown", is_flag=True, help="Print README's table of what each one covers.")
def scenarios(markdown: bool) -> None:
    """List the scenarios with their descriptions."""
    from harness.scenario import load_scenario, scenario_names, scenarios_table

    if markdown:
        click.echo(scenarios_table())
        return
    for name in scenario_names():
        description = load_scenario(name).description.strip().splitlines()[0]
        click.echo(f"{name:<20} {description}")


@cli.command()
@click.argument("reports", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Directory for the merged report.json, junit.xml, report.md, report.html.")
@click.option("--compare", "compare_runs", is_flag=True,
              help="With two reports (before, after): list what changed; exit 1 on a regression "
                   "or lost coverage (a check that passed is skipped or gone).")
@click.option("--allow-lost-coverage", is_flag=True,
              help="With --compare: list lost coverage, but exit 0 for it.")
def report(reports: tuple[Path, ...], out_dir: Path | None, compare_runs: bool,
           allow_lost_coverage: bool) -> None:
    """Re-render one saved report.json, merge several into one matrix, or compare two."""
    from harness.report.model import Report
    from harness.report.render import write_all

    loaded = [Report.load(path) for path in reports]
    if compare_runs:
        if len(loaded) != 2:
            raise BadInputError("--compare takes exactly two reports: before and after")
        _compare(loaded[0], loaded[1], allow_lost_coverage)
    if out_dir is None:
        raise BadInputError("--out: give the directory for the merged report (or --compare)")
    merged = Report(run_id=out_dir.name, harness_version=__version__,
                    runs=[run for item in loaded for run in item.runs])
    for path in write_all(merged, out_dir):
        click.echo(str(path))


def _compare(before: object, after: object, allow_lost_coverage: bool) -> None:
    from harness.report.compare import compare
    from harness.report.model import Report

    assert isinstance(before, Report)
    assert isinstance(after, Report)
    changes = compare(before, after)
    regressions = [c for c in changes if c.regression]
    lost = [c for c in changes if c.lost_coverage]
    for change in changes:
        click.echo(f"{change.kind.upper() if change.kind != 'changed' else 'changed':<13} {change}")
    click.echo(f"{len(regressions)} regressions, {len(lost)} lost coverage, "
               f"{len(changes) - len(regressions) - len(lost)} other changes")
    failed = regressions or (lost and not allow_lost_coverage)
    sys.exit(ExitCode.CHECK_FAILED if failed else ExitCode.OK)


@cli.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def down(run_dir: Path) -> None:
    """Stop a stack that `run --keep` left running."""
    from harness.supervisor import stop_recorded

    stopped = stop_recorded(run_dir / "pids.json")
    for private in ("secrets", "state"):  # as teardown would have removed them
        shutil.rmtree(run_dir / private, ignore_errors=True)
    click.echo(f"stopped {len(stopped)} processes: {', '.join(stopped) or 'none were running'}")


@cli.group()
def charts() -> None:
    """The chart packages the modules install: pull them ahead of time, list what is at hand."""


def _scenarios(names: tuple[str, ...]) -> list[Any]:
    from harness.scenario import load_scenario, scenario_names

    chosen = [n for name in names for n in (scenario_names() if name == "all" else name.split())]
    return [load_scenario(name) for name in dict.fromkeys(chosen or scenario_names())]


_scenarios_option = click.option(
    "--scenario", "scenario_names", multiple=True, metavar="S",
    help="Only the charts of these scenarios (repeat; default: every scenario).")


@charts.command("pull")
@_scenarios_option
@click.option("--charts", "directory", type=click.Path(file_okay=False, path_type=Path,
                                                       resolve_path=True),
              envvar=config.ENV_CHARTS, metavar="DIR",
              help="Pull into this directory (then give it to --charts on the offline machine; "
                   f"env {config.ENV_CHARTS}) instead of the cache.")
def charts_pull(scenario_names: tuple[str, ...], directory: Path | None) -> None:
    """Fetch the pinned version of every chart the scenarios install (needs network)."""
    from harness.charts.helm import HelmUnavailableError
    from harness.charts.inventory import chart_uses
    from harness.charts.source import ChartUnavailableError, chart_source
    from harness.errors import ChartsUnavailableError

    uses = chart_uses(_scenarios(scenario_names))
    source = chart_source(directory)  # the directory, else the upstream cache
    failed: list[str] = []
    for use in uses:
        try:
            path = source.pull(use.chart, use.version, use.repository)
        except ChartUnavailableError as exc:
            failed.append(exc.reason)
            continue
        except HelmUnavailableError as exc:
            raise ChartsUnavailableError(str(exc)) from exc
        click.echo(f"{use.chart} {use.version}: {path}")
    if failed:
        others = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        msg = (f"{len(failed)} of {len(uses)} charts not pulled: {failed[0]}{others}; pull on "
               "a machine with network (`mlops-conformance charts pull --charts DIR`), copy DIR "
               "here and give it to --charts")
        raise ChartsUnavailableError(msg)


@charts.command("list")
@_scenarios_option
@_charts_option
def charts_list(scenario_names: tuple[str, ...]) -> None:
    """Show each chart version the scenarios install: at hand (the file) or not, and from where."""
    from harness.charts.contracts import contract_path
    from harness.charts.inventory import chart_uses
    from harness.charts.package import PackageError, read_package
    from harness.charts.source import ChartUnavailableError, chart_source

    source = chart_source()
    click.echo(f"chart source: {source.describe()}")
    fix = ""
    for use in chart_uses(_scenarios(scenario_names)):
        click.echo(f"{use.chart} {use.version} ({use.repository}; {', '.join(use.releases)})")
        try:
            path = source.locate(use.chart, use.version, use.repository)
            read_package(path)
        except ChartUnavailableError as exc:
            fix, why = exc.fix, exc.reason
        except PackageError as exc:
            fix, why = "replace the file with the chart package", str(exc)
        else:
            click.echo(f"  at hand: {path}")
            continue
        offline = contract_path(use.chart, use.version)
        fallback = (f"the values checks use the offline contract {offline.name}"
                    if offline.is_file() else "no offline contract either")
        click.echo(f"  not at hand: {why}; {fallback}")
    if fix:
        click.echo(f"to have them at hand: {fix}")


@charts.command("contracts")
@click.option("--write", is_flag=True, help="Write the files (else only list them).")
@_charts_option
def charts_contracts(write: bool) -> None:
    """Regenerate the offline contracts (harness/static/contracts/) from the chart source."""
    from harness.charts.contracts import contract_path, contract_targets, write_contracts
    from harness.charts.source import ChartUnavailableError
    from harness.errors import ChartsUnavailableError

    targets = contract_targets()
    if not write:
        for chart, version in targets:
            click.echo(str(contract_path(chart, version)))
        return
    try:
        for path in write_contracts(targets):
            click.echo(str(path))
    except ChartUnavailableError as exc:
        raise ChartsUnavailableError(str(exc)) from exc


@cli.command()
@click.option("--context", default=None,
              help="The kubeconfig context of the cluster (default: the current one).")
@click.option("--older-than", "older_than", required=True, metavar="AGE",
              help="Only namespaces created longer ago than this, e.g. 6h, 90m, 2d.")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
def sweep(context: str | None, older_than: str, dry_run: bool) -> None:
    """Delete the run namespaces that crashed runs left on a cluster (labelled as ours)."""
    from harness.k8s.connection import connect
    from harness.k8s.namespaces import parse_age
    from harness.k8s.sweep import sweep as sweep_namespaces

    age = parse_age(older_than)  # bad input before the cluster is asked anything
    connection = connect(context)
    try:
        chosen = sweep_namespaces(connection, age, dry_run=dry_run)
    finally:
        connection.api_client.close()  # type: ignore[no-untyped-call]
    verb = "would delete" if dry_run else "deleted"
    for name in chosen:
        click.echo(f"{verb} namespace {name}")
    click.echo(f"{verb} {len(chosen)} namespaces older than {older_than} "
               f"on context {connection.context!r}")


def _summarise(console: RunConsole, report: object, paths: list[Path]) -> None:
    from rich.markup import escape

    from harness.report.model import Report

    assert isinstance(report, Report)
    for run in report.runs:
        counts = ", ".join(f"{n} {s}" for s, n in run.counts().items() if n) or "no checks ran"
        console.out.print(f"[bold]{run.scenario}[/] on {run.target}: {counts}")
        for flaky in (c for c in run.checks if c.status == "flaky"):
            message = escape(console.redact(flaky.message))
            console.out.print(f"  [yellow]flaky[/] {flaky.id}: {message}")
        for error in run.infrastructure_errors:
            console.error(error)
    for path in paths:
        click.echo(str(path))


def _print_kept(run_dir: Path) -> None:
    import json

    stack = json.loads((run_dir / "stack.json").read_text(encoding="utf-8"))
    click.echo("The stack is still running:")
    for name, tool in stack["tools"].items():
        for endpoint, url in tool["endpoints"].items():
            click.echo(f"  {name} {endpoint}: {url}")
    click.echo(f"Check it again: mlops-conformance check --stack {run_dir / 'stack.json'}")
    click.echo(f"Stop it:        mlops-conformance down {run_dir}")


def _exiting_after_interrupt() -> None:
    """An interrupted run has stopped everything it started and exits 3: a further Ctrl-C or
    SIGTERM while it says so must not turn that into death by signal (seen once in CI: exit
    -2 after the message; the late SIGINT's sender was not found).
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


def main() -> None:
    """Entry point: one-line errors and the documented exit codes."""
    try:
        cli.main(standalone_mode=False)
    except HarnessError as exc:
        if isinstance(exc, InterruptedRunError):
            _exiting_after_interrupt()
        click.echo(f"error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.BAD_INPUT)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(ExitCode.INFRASTRUCTURE)
    except KeyboardInterrupt:
        _exiting_after_interrupt()
        click.echo("error: interrupted", err=True)
        sys.exit(ExitCode.INFRASTRUCTURE)


if __name__ == "__main__":
    main()
