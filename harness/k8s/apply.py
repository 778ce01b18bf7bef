"""Terraform apply and destroy of the root module against a user's cluster, for one run.

The root module (and its `modules/`) is copied into `<run_dir>/terraform/`, whose state is kept
at `<run_dir>/secrets/terraform.tfstate`: the state holds every secret in clear, and the run's
secrets directory is the only place secrets are written (it is removed at teardown). Non-secret
variables go to `run.auto.tfvars.json` beside the copy; secrets reach Terraform only as
`TF_VAR_<name>` in its environment, never on a command line nor in another file. Every message
is redacted through the secrets.

Each tool given a run namespace is installed there, and only those: a tool without one is
disabled, so that nothing lands in a namespace shared with other runs or with the user.

Public API:
    ClusterApply(run_dir, *, context, kubeconfig, namespaces, tfvars, secrets,
                 terraform_dir=None, labels=None)
    ClusterApply.init()                      copy the module, point the state at secrets/, init
    ClusterApply.apply(progress=None, targets=())   create everything (or `targets`);
                                             progress(address, status)
    ClusterApply.retarget(tfvars)            apply other variables next (an upgrade)
    ClusterApply.outputs() -> dict           the root outputs, unwrapped
    ClusterApply.destroy(progress=None) -> list[str]   problems; never raises
    ClusterApply.state_file, .workdir, .tfvars_file     where things are kept
    Progress = Callable[[str, str], None]    statuses: creating, created, updating, updated,
                                             replacing, replaced, destroying, destroyed,
                                             reading, read, failed ("creating, 10s" while long)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2 import SerializationOptions

from harness.errors import ProvisionError
from harness.secrets import Redactor
from harness.static.modules import read_variables, terraform_root
from harness.targets._terraform import Terraform, TerraformError, find_terraform, summarise

Progress = Callable[[str, str], None]

STATE_NAME = "terraform.tfstate"
TFVARS_NAME = "run.auto.tfvars.json"
BACKEND_OVERRIDE = "backend_override.tf"
LABELS_OVERRIDE = "run_labels_override.tf.json"
NAMESPACE_RESOURCE = ("kubernetes_namespace_v1", "this")
# What of the source directory a run must not inherit: a developer's working state, and
# variable files (they would be auto-loaded, and may hold secrets outside secrets/).
_IGNORED = shutil.ignore_patterns(
    ".terraform", ".terraform.lock.hcl", "terraform.tfstate*", ".terraform.tfstate.lock.info",
    "*.tfvars", "*.tfvars.json", "*.tfplan", "crash.log",
)
# Only these are added to the user's environment; their CLI config, plugin cache and mirrors
# (TF_CLI_CONFIG_FILE, TF_PLUGIN_CACHE_DIR, ~/.terraformrc, ~/.terraform.d) stay theirs.
_AUTOMATION = {"CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
# Inherited variables that would change what is applied behind the scenario's back
# (TF_VAR_* of the shell, extra arguments such as -var or -target in TF_CLI_ARGS*).
_DROPPED_ENV = ("TF_VAR_", "TF_CLI_ARGS")
_ACTIONS = {  # hook action -> (status at start, status when done)
    "create": ("creating", "created"),
    "update": ("updating", "updated"),
    "replace": ("replacing", "replaced"),
    "delete": ("destroying", "destroyed"),
    "read": ("reading", "read"),
}
# As harness/static/modules.py reads variables: expressions come back as "${...}", which is
# also how Terraform's JSON syntax writes them.
_HCL_OPTIONS = SerializationOptions(
    with_comments=False, explicit_blocks=False, preserve_heredocs=False, strip_string_quotes=True
)
_MAX_DIAGNOSTICS = 4
_MAX_DETAIL = 400
_INTERRUPT_GRACE_S = 120.0  # terraform writes its state on SIGINT; give it time to
_NO_NETWORK = re.compile(
    r"could not connect|no such host|dial tcp|i/o timeout|connection refused|network is "
    r"unreachable|TLS handshake timeout|failed to query available provider packages",
    re.IGNORECASE,
)


@dataclass
class _Outcome:
    """What one `-json` run of apply or destroy reported."""

    returncode: int = 0
    failed: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)  # lines that were not JSON events


class ClusterApply:
    """The root module applied, for one run, to the cluster of a kubeconfig context.

    `namespaces` maps each tool to install to its run namespace (`{"mlflow": "ci-run1-mlflow"}`);
    `tfvars` are the scenario's variables (e.g. `Scenario.effective_tfvars()`), `secrets` the
    run's (`run_secrets`): names of root variables to values. `context` and `kubeconfig` are
    passed to the providers when given; `labels` are added to every namespace the run creates.

    Raises:
        ValueError: a secret, tfvar or tool that the root module does not declare.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        context: str | None,
        kubeconfig: str | None,
        namespaces: dict[str, str],
        tfvars: dict[str, Any],
        secrets: dict[str, str],
        terraform_dir: Path | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.source = Path(terraform_dir) if terraform_dir is not None else terraform_root()
        self.workdir = self.run_dir / "terraform"
        self.secrets_dir = self.run_dir / "secrets"
        self.state_file = self.secrets_dir / STATE_NAME
        self.tfvars_file = self.workdir / TFVARS_NAME
        self.labels = dict(labels or {})
        variables = read_variables(self.source / "variables.tf")
        unknown = sorted(set(secrets) - set(variables))
        if unknown:
            raise ValueError(f"secrets {unknown} are not variables of {self.source}")
        unknown = sorted(set(tfvars) - set(variables))
        if unknown:
            raise ValueError(f"tfvars {unknown} are not variables of {self.source}")
        tools = sorted(n.removesuffix("_namespace") for n in variables if n.endswith("_namespace")
                       and f"enable_{n.removesuffix('_namespace')}" in variables)
        unknown = sorted(set(namespaces) - set(tools))
        if unknown:
            raise ValueError(f"tools {unknown} have no `<tool>_namespace` in {self.source}")
        sensitive = {n for n, v in variables.items() if v.sensitive}
        self._secrets = dict(secrets)
        # A sensitive value among the tfvars travels like a secret: never in the file.
        for name in sensitive & set(tfvars):
            if tfvars[name] is not None and name not in self._secrets:
                self._secrets[name] = str(tfvars[name])
        self._tfvars = _tfvars(tfvars, sensitive, tools, namespaces, context, kubeconfig)
        self._variables = variables  # for retarget
        self._placement = (sensitive, tools, namespaces, context, kubeconfig)
        self._redact = Redactor(list(self._secrets.values()))
        self._labels_override = (_labels_override(self.source / "main.tf", self.labels)
                                 if self.labels else None)
        self._binary: str | None = None

    # --- the three steps -----------------------------------------------------------------

    def init(self) -> None:
        """Copy the module into the run directory and `terraform init` it.

        Raises:
            ProvisionError: terraform is missing or init failed; the message says why and how
                to fix it (no network to the registry: a provider mirror or plugin cache).
        """
        shutil.copytree(self.source, self.workdir, ignore=_IGNORED, dirs_exist_ok=True)
        self.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.workdir / BACKEND_OVERRIDE).write_text(_backend_override(self.state_file))
        if self._labels_override is not None:
            text = json.dumps(self._labels_override, indent=2) + "\n"
            (self.workdir / LABELS_OVERRIDE).write_text(text)
        try:
            self._terraform().run("init", "-input=false", "-no-color")
        except TerraformError as exc:
            summary = self._redact(summarise(exc.stderr))
            raise ProvisionError(f"terraform init failed: {summary}; {_init_fix(exc.stderr)}"
                                 ) from None
        finally:
            self._protect_state()

    def apply(self, progress: Progress | None = None, targets: tuple[str, ...] = ()) -> None:
        """Create or update everything (only `targets` and what they depend on, when given,
        e.g. `kubernetes_namespace_v1.this`), calling `progress(address, status)` as it goes
        (`init` first if it has not run).

        Raises:
            ProvisionError: one line naming the resources that failed and Terraform's
                diagnostics, secrets masked.
        """
        if not (self.workdir / ".terraform").is_dir():
            self.init()
        self._write_tfvars()
        outcome = self._stream(["apply", "-input=false", "-auto-approve", "-json",
                                *(f"-target={target}" for target in targets)], progress)
        if outcome.returncode != 0:
            raise ProvisionError(self._failure("apply", outcome))

    def retarget(self, tfvars: dict[str, Any]) -> None:
        """Apply `tfvars` from now on instead (an upgrade: the same state, the same run
        namespaces and secrets, other chart versions).

        Raises:
            ValueError: a tfvar the root module does not declare, or a sensitive one (secrets
                stay those of the run).
        """
        variables = self._variables
        unknown = sorted(set(tfvars) - set(variables))
        if unknown:
            raise ValueError(f"tfvars {unknown} are not variables of {self.source}")
        sensitive = sorted(n for n in tfvars if variables[n].sensitive and tfvars[n] is not None
                           and n not in self._secrets)
        if sensitive:
            raise ValueError(f"tfvars {sensitive} are sensitive: they stay the run's")
        self._tfvars = _tfvars(tfvars, *self._placement)

    def outputs(self) -> dict[str, Any]:
        """The root module's outputs, `{name: value}`.

        Raises:
            ProvisionError: there is no state to read, or terraform failed.
        """
        try:
            return self._terraform(secrets=False).output_json()
        except (TerraformError, json.JSONDecodeError) as exc:
            text = exc.stderr if isinstance(exc, TerraformError) else str(exc)
            raise ProvisionError(f"terraform output failed: {self._redact(summarise(text))}"
                                 ) from None

    def destroy(self, progress: Progress | None = None) -> list[str]:
        """Destroy what apply created; return the problems (none when nothing was created).

        Never raises for a failed destroy: teardown reports and goes on.
        """
        if not self.state_file.is_file():
            return []  # nothing was ever applied (or init never ran)
        try:
            if not (self.workdir / ".terraform").is_dir():
                self.init()  # state left by another process: make the copy usable again
            self._write_tfvars()
            outcome = self._stream(["destroy", "-input=false", "-auto-approve", "-json"],
                                   progress)
        except (ProvisionError, OSError) as exc:
            return [self._redact(f"terraform destroy could not run: {exc}")]
        if outcome.returncode != 0:
            return [self._failure("destroy", outcome)]
        return []

    # --- running terraform ---------------------------------------------------------------

    def _env(self, *, secrets: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV)}
        env.update(_AUTOMATION)
        if secrets:
            env.update({f"TF_VAR_{name}": value for name, value in self._secrets.items()})
        return env

    def _terraform(self, *, secrets: bool = False) -> Terraform:
        if self._binary is None:
            try:
                self._binary = find_terraform()
            except FileNotFoundError as exc:
                raise ProvisionError(str(exc)) from None
        terraform = Terraform(self.workdir, binary=self._binary)
        # The wrapper points TF_CLI_CONFIG_FILE at an empty file; a run on a user's cluster
        # keeps the user's own (and with it ~/.terraform.d/*.tfrc, skipped once it is set).
        terraform.env = self._env(secrets=secrets)
        return terraform

    def _stream(self, args: list[str], progress: Progress | None) -> _Outcome:
        terraform = self._terraform(secrets=True)
        outcome = _Outcome()
        # stderr joins stdout: with -json nearly everything is an event; the rest is kept
        # as text, and one pipe cannot fill up unread. A session of its own: a terminal's
        # Ctrl-C reaches terraform once, from us (a second one makes it quit without saving
        # the state).
        try:
            proc = subprocess.Popen(
                [terraform.binary, *args], cwd=self.workdir, env=terraform.env,
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, encoding="utf-8", errors="replace", start_new_session=True,
            )
        except OSError as exc:
            raise ProvisionError(f"cannot run {terraform.binary}: {exc}") from None
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                _read_event(line, outcome, progress)
            outcome.returncode = proc.wait()
        except BaseException:
            _stop(proc)  # Ctrl-C, SIGTERM or a failing callback: terraform saves its state
            raise
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
            self._protect_state()
        return outcome

    def _write_tfvars(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tfvars_file.write_text(json.dumps(self._tfvars, indent=2, sort_keys=True) + "\n")

    def _protect_state(self) -> None:
        # terraform writes the state 0644; it holds every secret.
        for path in self.secrets_dir.glob(f"{STATE_NAME}*"):
            with contextlib.suppress(OSError):
                path.chmod(0o600)

    def _failure(self, command: str, outcome: _Outcome) -> str:
        parts = []
        for diag in outcome.errors[:_MAX_DIAGNOSTICS]:
            text = " ".join(f"{diag.get('summary', '')}: {diag.get('detail', '')}".split())
            text = text.strip(": ")
            if len(text) > _MAX_DETAIL:
                text = text[:_MAX_DETAIL - 3] + "..."
            address = diag.get("address")
            parts.append(f"{address}: {text}" if address and address not in outcome.failed
                         else text)
        if len(outcome.errors) > _MAX_DIAGNOSTICS:
            parts.append(f"and {len(outcome.errors) - _MAX_DIAGNOSTICS} more")
        if not parts:
            parts.append(summarise("\n".join(outcome.other)))
        where = f" at {', '.join(outcome.failed)}" if outcome.failed else ""
        message = f"terraform {command} failed{where} (exit {outcome.returncode}): "
        return self._redact(message + "; ".join(parts))


def _tfvars(
    tfvars: dict[str, Any],
    sensitive: set[str],
    tools: list[str],
    namespaces: dict[str, str],
    context: str | None,
    kubeconfig: str | None,
) -> dict[str, Any]:
    """The variables file's contents: no sensitive variable, whatever its value."""
    values = {k: v for k, v in tfvars.items() if k not in sensitive}
    for tool in tools:
        values[f"enable_{tool}"] = tool in namespaces
        if tool in namespaces:
            values[f"{tool}_namespace"] = namespaces[tool]
    if context is not None:
        values["kube_context"] = context
    if kubeconfig is not None:
        values["kubeconfig_path"] = kubeconfig
    return values


def _read_event(line: str, outcome: _Outcome, progress: Progress | None) -> None:
    """Fold one line of `-json` output into the outcome, reporting progress."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        if line.strip():
            outcome.other.append(line.rstrip("\n"))
        return
    kind = event.get("type")
    if kind == "diagnostic":
        diag = event.get("diagnostic") or {}
        if diag.get("severity") == "error":
            outcome.errors.append(diag)
        return
    hook = event.get("hook")
    if not isinstance(hook, dict) or not isinstance(hook.get("resource"), dict):
        return
    address = str(hook["resource"].get("addr", "?"))
    if kind == "apply_errored" and address not in outcome.failed:
        outcome.failed.append(address)
    status = _status(str(kind), hook)
    if status is not None and progress is not None:
        progress(address, status)


def _status(kind: str, hook: dict[str, Any]) -> str | None:
    """What a hook event says of its resource, or None for events that are not progress."""
    starting, done = _ACTIONS.get(str(hook.get("action")), ("changing", "changed"))
    if kind == "apply_errored":
        return "failed"
    if kind == "apply_start":
        return starting
    if kind == "apply_progress":
        return f"{starting}, {int(hook.get('elapsed_seconds', 0))}s"
    if kind == "apply_complete":
        return done
    return None


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGINT)
    try:  # read on, or terraform could block on a full pipe while it stops
        proc.communicate(timeout=_INTERRUPT_GRACE_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def _init_fix(stderr: str) -> str:
    if "registry.terraform.io" in stderr and _NO_NETWORK.search(stderr):
        return ("no network to registry.terraform.io: set up a provider mirror or plugin cache "
                "(TF_CLI_CONFIG_FILE with a provider_installation block, or "
                "TF_PLUGIN_CACHE_DIR), see README")
    return "fix what terraform reports and run init again"


def _hcl_string(text: str) -> str:
    # A JSON string is an HCL string once template sequences are escaped.
    return json.dumps(text).replace("${", "$${").replace("%{", "%%{")


def _backend_override(state_file: Path) -> str:
    return ('terraform {\n  backend "local" {\n'
            f"    path = {_hcl_string(str(state_file.resolve()))}\n  }}\n}}\n")


def _labels_override(main_tf: Path, labels: dict[str, str]) -> dict[str, Any]:
    """An override adding `labels` to the namespaces the root module creates.

    An override's nested block replaces the original's, so the original `metadata` is read
    and written back with the labels merged (the module's own ones kept).
    """
    with main_tf.open() as handle:
        document = hcl2.load(handle, serialization_options=_HCL_OPTIONS)
    kind, name = NAMESPACE_RESOURCE
    blocks = [entry[kind][name]["metadata"] for entry in document.get("resource", [])
              if name in entry.get(kind, {})]
    metadata = dict(blocks[0][0]) if len(blocks) == 1 and blocks[0] else {}
    original = metadata.get("labels") or {}
    if not metadata or not isinstance(original, dict):
        msg = f"{main_tf}: no `resource {kind!r} {name!r}` with literal metadata labels"
        raise ValueError(msg)
    metadata["labels"] = {**original, **labels}
    return {"resource": {kind: {name: {"metadata": metadata}}}}
