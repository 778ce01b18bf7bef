"""The harness's errors: each maps to one exit code and prints as one line, without a traceback."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of every `mlops-conformance` command."""

    OK = 0
    CHECK_FAILED = 1
    BAD_INPUT = 2
    INFRASTRUCTURE = 3


class HarnessError(Exception):
    """An error the user can act on: printed as one line, never with a traceback."""

    exit_code: ExitCode = ExitCode.BAD_INPUT


class BadInputError(HarnessError):
    """A scenario, stack file, option or value is wrong; nothing was started."""


class ModuleDefectError(HarnessError):
    """A Terraform module renders values that break its chart's contract."""

    exit_code = ExitCode.CHECK_FAILED


class ProvisionError(HarnessError):
    """A component could not be started or died; the message names it."""

    exit_code = ExitCode.INFRASTRUCTURE


class WaitTimeoutError(ProvisionError):
    """Something did not become ready before its deadline."""


class InterruptedRunError(ProvisionError):
    """The run was interrupted by Ctrl-C or SIGTERM."""


class ChartsUnavailableError(HarnessError):
    """Chart packages could not be fetched (no network, or no such version upstream)."""

    exit_code = ExitCode.INFRASTRUCTURE
