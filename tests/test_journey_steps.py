"""The journey's steps: a failure names the step and the tool; a skip stays a skip."""

from __future__ import annotations

import pytest

from conformance.journeys.test_train_and_serve import step


def test_failure_names_step_and_tool() -> None:
    with pytest.raises(AssertionError, match=r"journey step 4 \(deploy\) failed in seldon: "
                                             r"KeyError: 'status'"), step(4, "deploy", "seldon"):
        raise KeyError("status")


def test_skip_passes_through() -> None:
    with pytest.raises(pytest.skip.Exception), step(1, "features", "prefect"):
        pytest.skip("no worker")
