"""Fixtures that run Terraform offline against a test provider serving the REAL provider schemas.

No registry is reachable, so `tf_cli_config` lays out, once per session, a filesystem mirror
holding `hashicorp/helm` 3.1.1 and `hashicorp/kubernetes` 2.38.0 as this project's test
provider (`tests/terraform/provider/`), and a CLI config that installs them from it. Terraform
checks every argument and block against the schemas the provider returns (generated from the
providers' published schemas), so a misspelt or mistyped argument fails `validate` as it would
with the real providers; the providers' own value checks that matter here (release name length,
`set[*].type`, Kubernetes names and label syntax) are made too. `apply` talks to no cluster: it
appends one JSON line per created, updated or deleted object to a record file
(`{"action": "create"|"update"|"delete", "type", "values"}`, values = all attributes, write-only
ones such as `set_wo` included), and returns the planned values with computed ones filled in
(ids, uids, helm_release `metadata`, ...). Data sources return empty computed values.

Use the `terraform` factory; each call copies `root` (default: the module itself) to a fresh
temporary directory, so relative module sources keep working and nothing lands in the tree:

    ROOT = Path(__file__).resolve().parents[2] / "terraform"

    @pytest.mark.terraform
    def test_root_applies_defaults(terraform):
        tf = terraform(ROOT)  # a module: terraform(ROOT / "modules/dask", root=ROOT)
        tf.init()  # each step raises TerraformError on failure
        tf.validate()
        tf.plan(var_file=SCENARIO_TFVARS)
        tf.apply(var_file=SCENARIO_TFVARS)
        created = tf.records("helm_release", action="create")  # [{"action", "type", "values"}]
        releases = {r["values"]["name"]: r["values"] for r in created}
        assert releases["mlflow"]["version"] == "1.8.1"
        proc = tf.run("plan", "-no-color")  # a CompletedProcess: stdout, stderr, returncode
        tf.destroy()  # records one "delete" per object

`tf.tf` is the harness's `Terraform` (harness/targets/_terraform.py), configured with the mirror.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.targets._terraform import Terraform

_HERE = Path(__file__).resolve().parent
_IGNORED = shutil.ignore_patterns(".terraform", ".terraform.lock.hcl", "terraform.tfstate*")


@pytest.fixture(scope="session")
def tf_cli_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Terraform CLI config that installs helm and kubernetes from the test provider's mirror."""
    if str(_HERE) not in sys.path:  # the provider package is run by path, not installed
        sys.path.insert(0, str(_HERE))
    from provider.mirror import build_mirror

    return build_mirror(tmp_path_factory.mktemp("tfmirror"))


class TerraformRun:
    """Terraform in one temporary copy of a module, with the test provider and a record file."""

    def __init__(self, workdir: Path, cli_config: Path, record_file: Path) -> None:
        self.workdir = workdir
        self.record_file = record_file
        self.tf = Terraform(
            workdir, cli_config_file=cli_config, env={"TFPROVIDER_RECORD": str(record_file)}
        )

    def run(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        """`terraform ARGS` in the copy; check=True raises TerraformError on a non-zero exit."""
        proc: subprocess.CompletedProcess[str] = self.tf.run(*args, check=check)
        return proc

    def init(self) -> None:
        """`terraform init -backend=false`."""
        self.tf.init()

    def validate(self) -> dict[str, Any]:
        """`terraform validate -json`; raises TerraformError naming each diagnostic."""
        result: dict[str, Any] = self.tf.validate()
        return result

    def plan(self, *, var_file: str | Path | None = None) -> None:
        """`terraform plan`."""
        self.tf.plan(var_file=var_file)

    def apply(self, *, var_file: str | Path | None = None) -> None:
        """`terraform apply -auto-approve`."""
        self.tf.apply(var_file=var_file)

    def destroy(self, *, var_file: str | Path | None = None) -> None:
        """`terraform destroy -auto-approve`."""
        extra = [] if var_file is None else [f"-var-file={var_file}"]
        self.tf.run("destroy", "-no-color", "-auto-approve", "-lock=false", *extra)

    def records(
        self, type_name: str | None = None, action: str | None = None
    ) -> list[dict[str, Any]]:
        """What apply/destroy sent, in order: [{"action", "type", "values"}, ...], filtered."""
        if not self.record_file.exists():
            return []
        lines = self.record_file.read_text(encoding="utf-8").splitlines()
        found = [json.loads(line) for line in lines if line.strip()]
        return [
            r
            for r in found
            if (type_name is None or r["type"] == type_name)
            and (action is None or r["action"] == action)
        ]


@pytest.fixture
def terraform(
    tf_cli_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., TerraformRun]:
    """Factory: `terraform(module_dir, root=None)` -> TerraformRun on a fresh copy of root."""

    def make(module_dir: Path, root: Path | None = None) -> TerraformRun:
        module_dir = Path(module_dir).resolve()
        root = module_dir if root is None else Path(root).resolve()
        dest = tmp_path_factory.mktemp("tfwork") / root.name
        shutil.copytree(root, dest, ignore=_IGNORED)
        workdir = dest / module_dir.relative_to(root)
        return TerraformRun(workdir, tf_cli_config, dest.parent / "records.jsonl")

    return make
