"""README.md stays true: its scenario table is the generated one, its commands exist."""

from __future__ import annotations

import re

import pytest

from harness.scenario import scenarios_table
from tests.conftest import REPO


@pytest.mark.terraform  # the last column comes from the modules, rendered
def test_scenario_table_is_generated() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- BEGIN_SCENARIOS[^\n]*-->\n(.*?)<!-- END_SCENARIOS -->", text, re.S)
    assert found, "README.md lost its scenario table markers"
    assert found.group(1).strip() == scenarios_table(), \
        "README's scenario table is stale: run `mlops-conformance scenarios --markdown`"


def test_readme_commands_match_tox_and_ci() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    tox = (REPO / "tox.ini").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python3 -m tox -e local" in readme
    assert "[testenv:local]" in tox
    assert "python3 -m tox -e unit" in readme
    assert "[testenv:unit]" in tox
    assert "python3 -m tox -e unit" in ci
