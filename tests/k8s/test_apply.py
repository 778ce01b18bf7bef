"""ClusterApply: the root module applied and destroyed for one run, offline.

Terraform runs for real against the offline test provider of tests/terraform (the REAL
helm 3.1.1 and kubernetes 2.38.0 schemas, every created object recorded), installed from a
filesystem mirror named by the user's own `TF_CLI_CONFIG_FILE`. One happy-path apply and
destroy is shared by the module; one apply fails. A fake terraform that prints canned
`-json` events covers what the test provider cannot do: fail during apply itself.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ProvisionError
from harness.k8s import apply as apply_module
from harness.k8s.apply import ClusterApply
from harness.k8s.namespaces import run_labels
from harness.scenario import load_scenario
from harness.secrets import encoded_forms, run_secrets

pytestmark = pytest.mark.terraform

NAMESPACES = {"mlflow": "ci-run1-mlflow", "dask": "ci-run1-dask",
              "jupyterhub": "ci-run1-jupyterhub", "feast": "ci-run1-feast"}
LABELS = run_labels("run1")
DUMMY_PASSWORD = "a-shared-secret-password"  # the module's default: in variables.tf itself


@dataclass
class Applied:
    run_dir: Path
    cluster: ClusterApply
    secrets: dict[str, str]
    records: Path
    plugin_cache: Path
    calls: list[tuple[list[str], dict[str, str]]]  # argv and env of every child process
    progress: list[tuple[str, str]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    destroy_problems: list[str] = field(default_factory=list)
    destroy_progress: list[tuple[str, str]] = field(default_factory=list)
    files_after_apply: dict[str, bytes] = field(default_factory=dict)

    def recorded(self, type_name: str, action: str) -> list[dict[str, Any]]:
        lines = self.records.read_text(encoding="utf-8").splitlines()
        found = [json.loads(line) for line in lines if line.strip()]
        return [r["values"] for r in found if r["type"] == type_name and r["action"] == action]


def _record_children(patch: pytest.MonkeyPatch) -> list[tuple[list[str], dict[str, str]]]:
    calls: list[tuple[list[str], dict[str, str]]] = []

    class Recording(subprocess.Popen):  # type: ignore[type-arg]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            calls.append(([str(a) for a in args], dict(kwargs.get("env") or os.environ)))
            super().__init__(args, *rest, **kwargs)

    patch.setattr(subprocess, "Popen", Recording)  # subprocess.run goes through it too
    return calls


def _files_outside_secrets(run_dir: Path) -> dict[str, bytes]:
    found = {}
    for path in run_dir.rglob("*"):
        relative = path.relative_to(run_dir)
        if relative.parts[0] == "secrets" or path.is_symlink() or not path.is_file():
            continue
        found[str(relative)] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def applied(
    offline_terraform: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Applied:
    """The defaults scenario with four tools in run namespaces: init, apply, outputs, destroy."""
    base = tmp_path_factory.mktemp("apply")
    records = base / "records.jsonl"  # outside the run: the test provider records secrets
    scenario = load_scenario("defaults")
    secrets = run_secrets(scenario)
    run_dir = base / "20261203-103000-defaults-run1"
    cluster = ClusterApply(
        run_dir, context="kind-ci", kubeconfig=str(base / "kubeconfig"),
        namespaces=NAMESPACES, tfvars=scenario.effective_tfvars(), secrets=secrets,
        labels=LABELS,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TFPROVIDER_RECORD", str(records))
        calls = _record_children(patch)
        result = Applied(run_dir, cluster, secrets, records,
                         Path(os.environ["TF_PLUGIN_CACHE_DIR"]), calls)
        cluster.init()
        cluster.apply(lambda address, status: result.progress.append((address, status)))
        result.outputs = cluster.outputs()
        result.files_after_apply = _files_outside_secrets(run_dir)
        result.destroy_problems = cluster.destroy(
            lambda address, status: result.destroy_progress.append((address, status)))
    return result


def _forms(values: Iterable[str]) -> set[str]:
    return {form for value in values for form in encoded_forms(value)}


# --- the happy path --------------------------------------------------------------------------


def test_every_run_namespace_is_created_labelled_and_holds_its_release(applied: Applied) -> None:
    created = applied.recorded("kubernetes_namespace_v1", "create")
    by_name = {ns["metadata"][0]["name"]: ns["metadata"][0] for ns in created}
    assert sorted(by_name) == sorted(NAMESPACES.values())
    for metadata in by_name.values():
        assert metadata["labels"] == {
            **LABELS, "app.kubernetes.io/part-of": "mlops-reference-architecture"}
    releases = applied.recorded("helm_release", "create")
    namespaces = {r["namespace"] for r in releases}
    assert namespaces == set(NAMESPACES.values())
    mlflow = next(r for r in releases if r["name"] == "mlflow")
    assert mlflow["namespace"] == "ci-run1-mlflow"
    assert not any(r["namespace"] in {"prefect", "seldon-system"} for r in releases)


def test_outputs_are_unwrapped_and_name_the_run_namespaces(applied: Applied) -> None:
    assert applied.outputs["endpoints"]["mlflow"]["namespace"] == "ci-run1-mlflow"
    assert sorted(applied.outputs["endpoints"]) == sorted(NAMESPACES)


def test_progress_reports_each_resource_as_it_is_created(applied: Applied) -> None:
    created = {address for address, status in applied.progress if status == "created"}
    assert 'kubernetes_namespace_v1.this["ci-run1-mlflow"]' in created
    assert any(a.startswith("module.mlflow.helm_release.") for a in created)
    for address in created:
        assert applied.progress.index((address, "creating")) < \
            applied.progress.index((address, "created"))


def test_state_is_kept_in_the_secrets_directory_only(applied: Applied) -> None:
    state = applied.run_dir / "secrets" / "terraform.tfstate"
    assert state.is_file()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
    assert not list((applied.run_dir / "terraform").glob("terraform.tfstate*"))
    # .terraform/terraform.tfstate is where init keeps the backend's settings, not state.
    assert [n for n in applied.files_after_apply if "tfstate" in n] == \
        ["terraform/.terraform/terraform.tfstate"]
    backend = json.loads(applied.files_after_apply["terraform/.terraform/terraform.tfstate"])
    assert backend["backend"]["config"]["path"] == str(state)
    assert "resources" not in backend


def test_the_variables_file_holds_the_run_settings_and_no_secret(applied: Applied) -> None:
    tfvars = json.loads((applied.run_dir / "terraform" / "run.auto.tfvars.json").read_text())
    assert tfvars["mlflow_namespace"] == "ci-run1-mlflow"
    assert tfvars["kube_context"] == "kind-ci"
    assert tfvars["kubeconfig_path"].endswith("kubeconfig")
    assert tfvars["enable_prefect"] is False
    assert tfvars["enable_mlflow"] is True
    for name in (*applied.secrets, "dummy_password"):
        assert name not in tfvars


def test_every_secret_reached_the_provider(applied: Applied) -> None:
    sent = applied.records.read_text(encoding="utf-8")
    # dummy_password's default came with the scenario's tfvars: sensitive, so sent the same way.
    for value in [*applied.secrets.values(), DUMMY_PASSWORD]:
        assert value in sent


def test_no_secret_in_a_file_of_the_run_outside_secrets(applied: Applied) -> None:
    assert "terraform/run.auto.tfvars.json" in applied.files_after_apply
    assert "terraform/backend_override.tf" in applied.files_after_apply
    forms = _forms(applied.secrets.values())
    for name, content in {**applied.files_after_apply,
                          **_files_outside_secrets(applied.run_dir)}.items():
        text = content.decode("utf-8", errors="replace")
        assert not [f for f in forms if f in text], name


def test_secrets_travel_only_in_the_environment(applied: Applied) -> None:
    subcommands = [argv[1] for argv, _ in applied.calls]
    assert subcommands == ["init", "apply", "output", "destroy"]
    forms = _forms([*applied.secrets.values(), DUMMY_PASSWORD])
    for argv, env in applied.calls:
        assert Path(argv[0]).name == "mlops-terraform"
        assert not [f for f in forms if f in " ".join(argv)], argv
        has_secrets = argv[1] in {"apply", "destroy"}
        for name, value in applied.secrets.items():
            assert (env.get(f"TF_VAR_{name}") == value) is has_secrets, (argv[1], name)
        assert (env.get("TF_VAR_dummy_password") == DUMMY_PASSWORD) is has_secrets


def test_the_users_terraform_settings_are_kept(applied: Applied) -> None:
    for _, env in applied.calls:
        assert env["TF_CLI_CONFIG_FILE"] == os.environ["TF_CLI_CONFIG_FILE"]
        assert env["TF_PLUGIN_CACHE_DIR"] == str(applied.plugin_cache)
        assert (env["CHECKPOINT_DISABLE"], env["TF_IN_AUTOMATION"], env["TF_INPUT"]) == \
            ("1", "1", "0")
    assert list(applied.plugin_cache.glob("registry.terraform.io/hashicorp/*/*"))


def test_destroy_deletes_everything_it_created(applied: Applied) -> None:
    assert applied.destroy_problems == []
    for type_name in ("kubernetes_namespace_v1", "helm_release"):
        created = applied.recorded(type_name, "create")
        deleted = applied.recorded(type_name, "delete")
        assert len(deleted) == len(created) > 0
    destroyed = {address for address, status in applied.destroy_progress
                 if status == "destroyed"}
    assert 'kubernetes_namespace_v1.this["ci-run1-dask"]' in destroyed
    state = json.loads((applied.run_dir / "secrets" / "terraform.tfstate").read_text())
    assert state["resources"] == []


# --- failures --------------------------------------------------------------------------------


def test_a_failing_apply_names_the_resource_in_one_line_without_secrets(
    offline_terraform: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scenario = load_scenario("defaults")
    secrets = run_secrets(scenario)
    cluster = ClusterApply(
        tmp_path / "run", context=None, kubeconfig=None,
        namespaces={"mlflow": "CI_Run1_MLflow"}, tfvars=scenario.effective_tfvars(),
        secrets=secrets,
    )
    cluster.init()
    with pytest.raises(ProvisionError) as caught:
        cluster.apply()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("terraform apply failed")
    assert 'kubernetes_namespace_v1.this["CI_Run1_MLflow"]' in message
    assert "RFC 1123" in message
    assert not [v for v in secrets.values() if v in message]
    tfvars = json.loads(cluster.tfvars_file.read_text())
    assert "kube_context" in tfvars  # the scenario's: none given to ClusterApply
    assert cluster.destroy() == []  # the plan failed: nothing was created


def test_destroy_before_init_is_nothing_to_do(tmp_path: Path) -> None:
    cluster = ClusterApply(tmp_path / "run", context=None, kubeconfig=None, namespaces={},
                           tfvars={}, secrets={})
    assert cluster.destroy() == []
    assert not (tmp_path / "run").exists()


def test_unknown_names_are_programming_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not_a_variable"):
        ClusterApply(tmp_path, context=None, kubeconfig=None, namespaces={}, tfvars={},
                     secrets={"not_a_variable": "x"})
    with pytest.raises(ValueError, match="kubeflow"):
        ClusterApply(tmp_path, context=None, kubeconfig=None, namespaces={"kubeflow": "k"},
                     tfvars={}, secrets={})


# --- a fake terraform: failures the test provider cannot produce ----------------------------

SECRET = "fake-secret-value-0123456789"
_FAKE = """#!{python}
import json, sys
events = json.loads({events!r})
for event in events.get(sys.argv[1], []):
    print(json.dumps(event) if isinstance(event, dict) else event, flush=True)
sys.exit(1 if sys.argv[1] in events else 0)
"""


def _hook(kind: str, address: str, action: str = "create") -> dict[str, Any]:
    return {"type": kind, "hook": {"resource": {"addr": address}, "action": action,
                                   "elapsed_seconds": 10}}


def _fake_terraform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    events: dict[str, list[Any]]) -> ClusterApply:
    script = tmp_path / "fake-terraform"
    script.write_text(_FAKE.format(python=sys.executable, events=json.dumps(events)))
    script.chmod(0o755)
    monkeypatch.setattr(apply_module, "find_terraform", lambda: str(script))
    return ClusterApply(tmp_path / "run", context="c", kubeconfig=None,
                        namespaces={"mlflow": "ns"}, tfvars={}, secrets={"db_password": SECRET})


def test_an_apply_error_names_the_failed_resource_and_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = 'module.mlflow.helm_release.this["mlflow"]'
    detail = f"cannot re-use a name that is still in use\npassword={SECRET}\n  ..."
    cluster = _fake_terraform(tmp_path, monkeypatch, {"apply": [
        _hook("apply_start", release),
        _hook("apply_progress", release),
        _hook("apply_errored", release),
        {"type": "diagnostic", "diagnostic": {"severity": "warning", "summary": "ignored"}},
        {"type": "diagnostic", "diagnostic": {"severity": "error", "address": release,
                                              "summary": "installation failed",
                                              "detail": detail}},
    ]})
    seen: list[tuple[str, str]] = []
    with pytest.raises(ProvisionError) as caught:
        cluster.apply(lambda address, status: seen.append((address, status)))
    message = str(caught.value)
    assert message == (f"terraform apply failed at {release} (exit 1): installation failed: "
                       "cannot re-use a name that is still in use password=*** ...")
    assert seen == [(release, "creating"), (release, "creating, 10s"), (release, "failed")]


def test_a_failed_destroy_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = _fake_terraform(tmp_path, monkeypatch, {"destroy": [
        f"Error: something plain on stderr with {SECRET}",
    ]})
    (tmp_path / "run" / "secrets").mkdir(parents=True)
    (tmp_path / "run" / "secrets" / "terraform.tfstate").write_text("{}")
    (tmp_path / "run" / "terraform" / ".terraform").mkdir(parents=True)
    problems = cluster.destroy()
    assert problems == ["terraform destroy failed (exit 1): "
                        "Error: something plain on stderr with ***"]


def test_init_without_the_registry_says_how_to_work_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = _fake_terraform(tmp_path, monkeypatch, {"init": [
        "Error: Failed to query available provider packages",
        "Could not retrieve the list of available versions for provider hashicorp/helm: "
        "could not connect to registry.terraform.io: dial tcp: lookup registry.terraform.io: "
        "no such host",
    ]})
    with pytest.raises(ProvisionError, match="provider mirror or plugin cache") as caught:
        cluster.init()
    assert "no such host" in str(caught.value)
    assert (tmp_path / "run" / "terraform" / "backend_override.tf").is_file()


_SLOW_APPLY = """#!{python}
import json, pathlib, signal, sys, time
def stop(*_):
    pathlib.Path({marker!r}).write_text("interrupted")
    sys.exit(130)
signal.signal(signal.SIGINT, stop)
print(json.dumps({{"type": "apply_start", "hook": {{"resource": {{"addr": "a.b"}}, "action": "create"}}}}), flush=True)
time.sleep(30)
"""


def test_an_interrupted_apply_lets_terraform_stop_gracefully(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = _fake_terraform(tmp_path, monkeypatch, {})
    marker = tmp_path / "marker"
    script = Path(apply_module.find_terraform())
    script.write_text(_SLOW_APPLY.format(python=sys.executable, marker=str(marker)))
    (tmp_path / "run" / "terraform" / ".terraform").mkdir(parents=True)

    def interrupt(address: str, status: str) -> None:
        raise RuntimeError("stop")  # as Ctrl-C (KeyboardInterrupt) would, in the callback

    with pytest.raises(RuntimeError, match="stop"):
        cluster.apply(interrupt)
    assert marker.read_text() == "interrupted"  # one SIGINT, and it was waited for
