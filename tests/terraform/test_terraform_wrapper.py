"""The argv wrapper around the Terraform CLI (harness/targets/_terraform.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.targets._terraform import Terraform, TerraformError, find_terraform, summarise


def test_summarise_strips_terraform_box_drawing() -> None:
    stderr = "\n╷\n│ Error: Unsupported argument\n│\n│   on main.tf line 3:\n╵\n"
    assert summarise(stderr) == "Error: Unsupported argument | on main.tf line 3:"


def test_environment_is_set_for_automation(tmp_path: Path) -> None:
    terraform = Terraform(tmp_path)
    assert terraform.env["CHECKPOINT_DISABLE"] == "1"
    assert terraform.env["TF_IN_AUTOMATION"] == "1"
    assert terraform.env["TF_INPUT"] == "0"
    assert Path(terraform.env["TF_CLI_CONFIG_FILE"]).is_file()
    given = Terraform(tmp_path, cli_config_file=tmp_path / "my.tfrc")
    assert given.env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "my.tfrc")


def test_binary_is_the_projects_own() -> None:
    assert Path(find_terraform()).name == "mlops-terraform"


@pytest.mark.terraform
def test_apply_and_outputs_of_a_provider_free_module(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('output "x" {\n  value = { a = [1, 2] }\n}\n')
    terraform = Terraform(tmp_path)
    terraform.init()
    terraform.validate()
    terraform.apply()
    assert terraform.output_json() == {"x": {"a": [1, 2]}}
    terraform.fmt_check()


@pytest.mark.terraform
def test_failure_raises_with_terraforms_message(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text('output "x" {\n  valeu = 1\n}\n')
    terraform = Terraform(tmp_path)
    with pytest.raises(TerraformError, match="valeu") as caught:
        terraform.run("validate", "-no-color")
    assert caught.value.returncode != 0
    (tmp_path / "main.tf").write_text('output "x" {\nvalue = 1\n}\n')
    with pytest.raises(TerraformError, match=r"main\.tf"):
        terraform.fmt_check()
