"""Offline static checks of terraform/: formatting, per-module `terraform test`, README tables."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.static import tfdocs
from harness.static.modules import terraform_root, tool_names
from harness.targets._terraform import Terraform

ROOT = terraform_root()


@pytest.mark.terraform
def test_terraform_fmt_is_clean() -> None:
    Terraform(ROOT).fmt_check()


@pytest.mark.terraform
@pytest.mark.parametrize("tool", tool_names())
def test_values_submodule_tests_pass(tool: str, tmp_path: Path) -> None:
    # Run from a copy so `init` leaves no .terraform/ in the tree.
    work = tmp_path / tool
    shutil.copytree(ROOT / "modules" / tool / "values", work)
    terraform = Terraform(work)
    terraform.init()
    out = terraform.test()
    assert "0 failed" in out, out


def test_every_module_has_a_values_submodule() -> None:
    modules = sorted(p.name for p in (ROOT / "modules").iterdir() if p.is_dir())
    assert tool_names() == modules
    assert modules == ["dask", "feast", "jupyterhub", "mlflow", "prefect", "seldon"]


@pytest.mark.parametrize("tool", tool_names())
def test_values_submodule_shares_the_module_variables(tool: str) -> None:
    module = ROOT / "modules" / tool
    linked = module / "values" / "variables.tf"
    assert linked.read_text() == (module / "variables.tf").read_text()


@pytest.mark.parametrize("tool", tool_names())
def test_module_has_the_four_files_and_values_tests(tool: str) -> None:
    module = ROOT / "modules" / tool
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (module / name).is_file(), f"{module / name} is missing"
    assert list((module / "values" / "tests").glob("*.tftest.hcl"))


def test_readme_tables_are_in_sync() -> None:
    stale = [str(d / "README.md") for d in tfdocs.module_dirs() if tfdocs.sync(d, check=True)]
    assert not stale, f"run `python -m harness.static.tfdocs` to update {stale}"


def test_tfdocs_notices_a_stale_readme(tmp_path: Path) -> None:
    module = tmp_path / "seldon"
    shutil.copytree(ROOT / "modules" / "seldon", module, symlinks=True)
    readme = module / "README.md"
    readme.write_text(readme.read_text().replace("`istio_enabled`", "`istio_on`"))
    assert tfdocs.sync(module, check=True)
    assert tfdocs.sync(module)
    assert not tfdocs.sync(module, check=True)
    assert "| `istio_enabled` |" in readme.read_text()
