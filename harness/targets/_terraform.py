"""A small argv wrapper around the Terraform CLI (`mlops-terraform`, Terraform 1.15.5)."""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TERRAFORM_BIN = "mlops-terraform"
_STDERR_LINES = 12  # enough of terraform's diagnostics to say what failed


class TerraformError(RuntimeError):
    """Terraform exited non-zero; the message carries its summarised stderr."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(
            f"terraform {' '.join(argv[1:3])} failed (exit {returncode}): {summarise(stderr)}"
        )


def summarise(stderr: str) -> str:
    """Return the meaningful lines of terraform's stderr, box drawing stripped."""
    lines = [line.strip(" │╷╵") for line in stderr.splitlines()]
    kept = [line.strip() for line in lines if line.strip()]
    return " | ".join(kept[:_STDERR_LINES]) or "(no output)"


def find_terraform() -> str:
    """Return the `mlops-terraform` next to this interpreter, else the one on PATH.

    Raises:
        FileNotFoundError: when neither exists (the project is not installed).

    """
    beside = Path(sys.executable).with_name(TERRAFORM_BIN)
    if beside.exists():
        return str(beside)
    found = shutil.which(TERRAFORM_BIN)
    if found is None:
        msg = f"Can't find {TERRAFORM_BIN}; install the project (`pip install -e .`) first"
        raise FileNotFoundError(msg)
    return found


class Terraform:
    """Run terraform in one working directory.

    >>> tf = Terraform("terraform/modules/dask/values")  # doctest: +SKIP
    >>> tf.init(); tf.apply(var_file="x.tfvars.json"); tf.output_json()  # doctest: +SKIP
    """

    def __init__(
        self,
        workdir: str | Path,
        *,
        binary: str | None = None,
        cli_config_file: str | Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.binary = binary or find_terraform()
        if cli_config_file is None:
            cli_config_file = _empty_cli_config()
        self.env = {
            **os.environ,
            "TF_CLI_CONFIG_FILE": str(cli_config_file),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            **(env or {}),
        }

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run `terraform ARGS` in the working directory; raise TerraformError on failure."""
        argv = [self.binary, *args]
        proc = subprocess.run(
            argv, cwd=self.workdir, env=self.env, capture_output=True, text=True, check=False
        )
        if check and proc.returncode != 0:
            raise TerraformError(argv, proc.returncode, proc.stderr or proc.stdout)
        return proc

    def init(self, *, backend: bool = False) -> None:
        """`terraform init` (no backend by default: state stays local)."""
        self.run("init", "-no-color", f"-backend={str(backend).lower()}")

    def validate(self) -> dict[str, Any]:
        """`terraform validate -json`; return its diagnostics document."""
        proc = self.run("validate", "-no-color", "-json", check=False)
        result: dict[str, Any] = json.loads(proc.stdout)
        if not result.get("valid", False):
            raise TerraformError([self.binary, "validate"], proc.returncode, _diags(result))
        return result

    def plan(self, *, var_file: str | Path | None = None) -> None:
        """`terraform plan`, optionally with a variables file."""
        self.run("plan", "-no-color", "-lock=false", *_var_args(var_file))

    def apply(self, *, var_file: str | Path | None = None) -> None:
        """`terraform apply -auto-approve`, optionally with a variables file."""
        self.run("apply", "-no-color", "-auto-approve", "-lock=false", *_var_args(var_file))

    def output_json(self) -> dict[str, Any]:
        """Return `{name: value}` of every root output (sensitive ones included)."""
        raw: dict[str, dict[str, Any]] = json.loads(self.run("output", "-json").stdout)
        return {name: item["value"] for name, item in raw.items()}

    def test(self, *args: str) -> str:
        """`terraform test`; return its stdout."""
        return self.run("test", "-no-color", *args).stdout

    def fmt_check(self) -> None:
        """`terraform fmt -check -recursive`; raise naming the unformatted files."""
        proc = self.run("fmt", "-check", "-recursive", "-no-color", check=False)
        if proc.returncode != 0:
            files = proc.stdout.strip() or proc.stderr
            raise TerraformError([self.binary, "fmt", "-check"], proc.returncode, files)


@functools.cache
def _empty_cli_config() -> str:
    # The environment may point TF_CLI_CONFIG_FILE at a missing file: use our own,
    # one empty file per process.
    fd, name = tempfile.mkstemp(prefix="tfcli-", suffix=".tfrc")
    os.close(fd)
    atexit.register(os.unlink, name)
    return name


def _var_args(var_file: str | Path | None) -> list[str]:
    return [] if var_file is None else [f"-var-file={var_file}"]


def _diags(result: dict[str, Any]) -> str:
    parts = [
        f"{d.get('summary', '')}: {d.get('detail', '')}".strip(": ")
        for d in result.get("diagnostics", [])
    ]
    return "\n".join(parts)
