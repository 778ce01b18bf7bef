"""How a deployment's flow code reaches its worker (`harness.flow_code`): where it is, or
carried in the pull steps; the steps' script, run as Prefect runs it, writes the files back.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from harness.flow_code import CarriedFlowCode, flow_source
from harness.stack import Stack, ToolEntry

FLOWS = Path(__file__).parents[1] / "conformance" / "flows"
STEP = "prefect.deployments.steps."


def _stack(**expect: str) -> Stack:
    return Stack(target="t", scenario="defaults",
                 tools={"prefect": ToolEntry(endpoints={}, expect=dict(expect))})


def test_the_local_target_shares_the_directory() -> None:
    assert flow_source(_stack(), FLOWS, ("greeting.py",)) == str(FLOWS)


def test_an_unknown_delivery_is_named() -> None:
    with pytest.raises(ValueError, match="expect.flow_code is 'ftp'; known: shared, carried"):
        flow_source(_stack(flow_code="ftp"), FLOWS, ("greeting.py",))


def test_carried_files_are_written_by_the_pull_steps(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "flows"
    source.mkdir()
    (source / "a.py").write_text("print('it is me')\n# quotes ' \" and $HOME stay\n")
    carried = flow_source(_stack(flow_code="carried"), source, ("a.py",))
    assert isinstance(carried, CarriedFlowCode)
    assert carried.destination == source.resolve()
    write, enter = carried.to_pull_step()
    remote = enter[f"{STEP}set_working_directory"]["directory"]
    assert remote == carried.remote and remote.startswith("/tmp/conformance-flows-")
    monkeypatch.setattr(carried, "remote", str(tmp_path / "pod"))
    write, _ = carried.to_pull_step()
    for line in write[f"{STEP}run_shell_script"]["script"].splitlines():
        subprocess.run(shlex.split(line), check=True)  # as run_shell_script runs each line
    assert (tmp_path / "pod" / "a.py").read_bytes() == (source / "a.py").read_bytes()


def test_other_content_goes_to_another_directory(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("one\n")
    first = CarriedFlowCode(tmp_path, ("a.py",))
    (tmp_path / "a.py").write_text("two\n")
    second = CarriedFlowCode(tmp_path, ("a.py",))
    assert first.remote != second.remote
    assert first != second
