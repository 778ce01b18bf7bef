"""Generate each Terraform module README's Inputs/Outputs tables from its `.tf` files.

`python -m harness.static.tfdocs` rewrites the text between `<!-- BEGIN_TF_DOCS -->` and
`<!-- END_TF_DOCS -->` in `terraform/README.md` and `terraform/modules/*/README.md`;
`--check` only reports the READMEs that are out of date (exit 1), as the tests do.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import hcl2

from harness.static.modules import _HCL_OPTIONS, read_variables, terraform_root

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"


def module_dirs(root: Path | None = None) -> list[Path]:
    """Return the root module and every module under `modules/` that has a README."""
    base = root or terraform_root()
    return [base, *sorted(p for p in (base / "modules").iterdir() if p.is_dir())]


def render_docs(module_dir: Path) -> str:
    """Return the generated Markdown (Inputs and Outputs tables) of one module."""
    lines = [
        "## Inputs",
        "",
        "| Name | Description | Type | Default | Required |",
        "|------|-------------|------|---------|:--------:|",
    ]
    for var in read_variables(module_dir / "variables.tf").values():
        default = "n/a" if var.required else _code(_literal(var.default))
        lines.append(
            f"| `{var.name}` | {_cell(var.description)} | {_code(var.type)} | {default} |"
            f" {'yes' if var.required else 'no'} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "|------|-------------|"]
    for name, description in _outputs(module_dir / "outputs.tf"):
        lines.append(f"| `{name}` | {_cell(description)} |")
    return "\n".join(lines)


def sync(module_dir: Path, *, check: bool = False) -> bool:
    """Update (or with `check`, only compare) a README's generated section.

    Returns:
        True when the README was (or, with `check`, would be) changed.

    Raises:
        ValueError: the README lacks the BEGIN/END markers.

    """
    readme = module_dir / "README.md"
    text = readme.read_text() if readme.exists() else ""
    if BEGIN not in text or END not in text:
        msg = f"{readme} needs {BEGIN} and {END} markers around its generated tables"
        raise ValueError(msg)
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    new = f"{head}{BEGIN}\n{render_docs(module_dir)}\n{END}{tail}"
    if new == text:
        return False
    if not check:
        readme.write_text(new)
    return True


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or `--check`) every module README; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m harness.static.tfdocs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="report stale READMEs, change none")
    args = parser.parse_args(argv)
    stale = [d for d in module_dirs() if sync(d, check=args.check)]
    for module_dir in stale:
        verb = "out of date" if args.check else "updated"
        print(f"{module_dir / 'README.md'}: {verb}")
    return 1 if args.check and stale else 0


def _outputs(path: Path) -> list[tuple[str, str]]:
    with path.open() as handle:
        document = hcl2.load(handle, serialization_options=_HCL_OPTIONS)
    return [
        (name, str(body.get("description", "")))
        for entry in document.get("output", [])
        for name, body in entry.items()
    ]


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, separators=(", ", ": "))


def _code(text: str) -> str:
    return f"`{text}`".replace("|", "\\|")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    sys.exit(main())
