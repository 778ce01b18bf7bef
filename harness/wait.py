"""One waiter for everything that becomes ready eventually, on a monotonic deadline."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TypeVar

from harness.errors import WaitTimeoutError

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T | None],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.25,
    fail_fast: Callable[[], str | None] | None = None,
) -> T:
    """Call `predicate` until it returns a truthy value, and return that value.

    Args:
        predicate: returns a truthy value when ready; exceptions count as "not yet".
        timeout_s: seconds before giving up.
        what: names the thing waited for, in the error.
        interval_s: pause between calls.
        fail_fast: returns a reason when waiting longer is pointless (e.g. the process died).

    Raises:
        WaitTimeoutError: the deadline passed, or `fail_fast` gave a reason.

    >>> wait_until(lambda: 42, timeout_s=1, what="the answer")
    42

    """
    deadline = time.monotonic() + timeout_s
    last_error = ""
    while True:
        try:
            value = predicate()
        except Exception as exc:
            value, last_error = None, f"{type(exc).__name__}: {exc}"
        if value:
            return value
        reason = fail_fast() if fail_fast else None
        if reason:
            raise WaitTimeoutError(f"{what}: {reason}")
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise WaitTimeoutError(f"{what} not ready after {timeout_s:g}s{detail}")
        time.sleep(interval_s)
