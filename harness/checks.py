"""Helpers for writing checks: failures name the component, what was expected and what came back."""

from __future__ import annotations

from typing import Any


def expect_equal(component: str, what: str, expected: Any, actual: Any) -> None:
    """Fail unless `actual == expected`, with a message a reader acts on without the code.

    >>> expect_equal("mlflow", "param lr", "0.1", "0.1")
    """
    __tracebackhide__ = True
    if actual != expected:
        raise AssertionError(f"{component}: {what}: expected {expected!r}, got {actual!r}")


def expect(component: str, condition: object, what: str, actual: Any = None) -> None:
    """Fail unless `condition` holds; `what` says what should have been true.

    >>> expect("dask", 3 > 0, "at least one worker")
    """
    __tracebackhide__ = True
    if not condition:
        got = f", got {actual!r}" if actual is not None else ""
        raise AssertionError(f"{component}: expected {what}{got}")
