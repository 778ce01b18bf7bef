"""Per-tool Python environments, built with uv on first use and cached by their pins."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import ProvisionError
from harness.launchers.base import PythonEnv

if TYPE_CHECKING:
    from collections.abc import Iterator

ENV_CACHE_DIR = "HARNESS_CACHE_DIR"
# A tool environment has its own pins: constraints meant for the harness's environment
# (tox sets UV_CONSTRAINT / PIP_CONSTRAINT) would make them unsatisfiable.
HARNESS_PINS_ENV = ("UV_CONSTRAINT", "UV_OVERRIDE", "UV_BUILD_CONSTRAINT", "PIP_CONSTRAINT",
                    "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
# uv's and pip's own settings (cache, index, certificates) pass to the builds; nothing else of
# the harness's environment beyond the servers' allow-list does.
INSTALLER_PREFIXES = ("UV_", "PIP_")
_COMPLETE = ".complete"  # written last: a directory without it is a build that did not finish


@dataclass(frozen=True)
class EnvBuild:
    """An environment and the commands still to build it, run without `unset_env`."""

    python: PythonEnv
    steps: list[list[str]]
    unset_env: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)  # the installer's settings, for the steps


def cache_dir() -> Path:
    """Where environments live: `$HARNESS_CACHE_DIR/envs`, else under `~/.cache`."""
    root = os.environ.get(ENV_CACHE_DIR)
    if root:
        return Path(root).expanduser() / "envs"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "mlops-conformance" / "envs"


def uv_binary() -> str:
    """The uv executable: the one the `uv` package ships, else the one on PATH.

    Raises:
        ProvisionError: uv is not installed.

    """
    try:
        from uv import find_uv_bin  # noqa: PLC0415 - optional; PATH is the fallback

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
    if found is None:
        raise ProvisionError("uv is needed to build tool environments: `pip install uv`")
    return found


def env_path(name: str, requirements: tuple[str, ...], python: Path | None = None,
             exclude_newer: str | None = None) -> Path:
    """The cache directory of environment `name`: keyed by its pins, the time its dependencies
    are resolved as of, and the Python version.
    """
    interpreter = python or Path(sys.executable)
    key = "\n".join([f"{sys.version_info.major}.{sys.version_info.minor}", str(interpreter),
                     *sorted(requirements), *([f"as of {exclude_newer}"] if exclude_newer else [])])
    return cache_dir() / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


@contextlib.contextmanager
def building(name: str, requirements: tuple[str, ...], exclude_newer: str | None = None,
             exempt: tuple[str, ...] = ()) -> Iterator[EnvBuild]:
    """Hold environment `name`'s build lock and give the uv commands that build it (none
    when a finished build is cached); it is marked finished when the block ends without error.
    With `exclude_newer` (RFC 3339), dependencies resolve as the index stood then, except the
    `exempt` packages.

    Concurrent callers (two runs at once) wait on the lock instead of building twice.

    >>> with building("mlserver", pins) as build:
    ...     for argv in build.steps: run(argv, without=build.unset_env)
    """
    path = env_path(name, requirements, exclude_newer=exclude_newer)
    python = path / "bin" / "python"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (path / _COMPLETE).is_file():
            yield EnvBuild(PythonEnv(python), [])
            return
        shutil.rmtree(path, ignore_errors=True)
        uv = uv_binary()
        yield EnvBuild(PythonEnv(python), [
            [uv, "venv", "--quiet", "--python", sys.executable, str(path)],
            [uv, "pip", "install", "--python", str(python),
             *(["--exclude-newer", exclude_newer] if exclude_newer else []),
             *[arg for package in (exempt if exclude_newer else ())
               for arg in ("--exclude-newer-package", f"{package}=false")],
             *requirements],
        ], HARNESS_PINS_ENV, installer_env())
        (path / _COMPLETE).write_text("\n".join(requirements) + "\n", encoding="utf-8")


def ensure_env(name: str, requirements: tuple[str, ...], *, timeout_s: float = 600.0,
               log_path: Path | None = None) -> PythonEnv:
    """Return environment `name` with `requirements` installed, building it the first time.

    Args:
        name: a short label for the directory, e.g. `mlserver`.
        requirements: pip requirement strings, pinned.
        timeout_s: seconds the build may take.
        log_path: where uv's output goes (appended).

    Raises:
        ProvisionError: uv failed or took too long; the message quotes its last lines.

    """
    with building(name, requirements) as build:
        for argv in build.steps:
            run_build_step(argv, name, timeout_s, log_path)
    return build.python


def run_build_step(argv: list[str], name: str, timeout_s: float,
                   log_path: Path | None = None) -> None:
    """Run one of environment `name`'s build commands without the harness's pins.

    Raises:
        ProvisionError: it failed or took over `timeout_s`; the message quotes its output.
    """
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                              check=False, stdin=subprocess.DEVNULL, env=_own_pins_env())
    except subprocess.TimeoutExpired as exc:
        raise ProvisionError(f"{name} environment: {argv[1:3]} took over {timeout_s:g}s") from exc
    if log_path is not None:
        with log_path.open("a", encoding="utf-8") as log:
            log.write(f"$ {' '.join(argv)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-10:])
        msg = f"{name} environment: `uv {' '.join(argv[1:3])}` exited {done.returncode}:\n{tail}"
        raise ProvisionError(msg)


def installer_env() -> dict[str, str]:
    """Uv's and pip's settings from the harness's environment, without the harness's pins."""
    return {key: value for key, value in os.environ.items()
            if key.startswith(INSTALLER_PREFIXES) and key not in HARNESS_PINS_ENV}


def _own_pins_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in HARNESS_PINS_ENV}
