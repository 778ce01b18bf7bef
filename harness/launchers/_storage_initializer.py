"""The storage initializer of the local Seldon stand-in: what the operator's init container does.

seldon-core-operator 1.17.1 injects `seldonio/rclone-storage-initializer` into each model's pod:
it runs `rclone copy MODEL_URI /mnt/models`, and the model server reads /mnt/models. A
`pvc://CLAIM/PATH` URI is first rewritten to `/mnt/pvc/PATH` with the claim mounted there. So
only what rclone can read is deployable: a path on a mounted claim, or a configured rclone remote
(`gs:` is configured, anonymously, in the image; others come from a secret). Not `models:/`,
`mlflow-artifacts:/` nor a plain `https://` URL: rclone has no such remote and says so.

Here the real rclone runs in a directory that plays the init container's filesystem: absolute
paths are read below it, `/mnt/pvc` points at the claim's directory, `/mnt/models` is the copy.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

PVC_PREFIX = "pvc://"
MODELS_MOUNT = "/mnt/models"
PVC_MOUNT = "/mnt/pvc"
# The image's own rclone configuration (its Dockerfile's ENV): anonymous Google Cloud Storage.
_IMAGE_ENV = {"RCLONE_CONFIG_GS_TYPE": "google cloud storage", "RCLONE_CONFIG_GS_ANONYMOUS": "true",
              "RCLONE_VERBOSE": "1"}
_TIMESTAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")


class InitializerError(Exception):
    """The model could not be fetched; the message is what the pod's status or log would say."""


@dataclass(frozen=True)
class Initializer:
    """rclone, and the claims a `pvc://` URI may name (claim name -> its directory here)."""

    rclone: Path
    claims: dict[str, Path] = field(default_factory=dict)

    def version(self) -> str:
        """The version of rclone, e.g. `1.65.2`."""
        done = subprocess.run([str(self.rclone), "version"], capture_output=True, text=True,
                              check=True, timeout=60)
        return done.stdout.split()[1].removeprefix("v")

    def fetch(self, model_uri: str, root: Path, log: Path, timeout_s: float,
              started: list[subprocess.Popen[bytes]]) -> Path:
        """Copy `model_uri` into `root`'s /mnt/models as the init container would; return it.

        `started` receives the rclone process as soon as it runs, so a stop can end it.

        Raises:
            InitializerError: the claim does not exist, or rclone failed (its last log line).

        """
        shutil.rmtree(root, ignore_errors=True)  # a new pod: empty volumes, nothing left over
        models = root / MODELS_MOUNT.lstrip("/")
        models.mkdir(parents=True)
        source = self._container_source(model_uri, root)
        if not _is_remote(source):
            # A path in the container's filesystem: normalised there, then read below `root`.
            source = str(root) + posixpath.normpath(posixpath.join("/", source))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root),
               # No configuration but the image's: never this machine's rclone.conf.
               "RCLONE_CONFIG": str(root / ".config" / "rclone" / "rclone.conf"), **_IMAGE_ENV}
        try:
            code = self._copy([source, str(models)], root, env, log, timeout_s, started)
        finally:
            # The init container and its mounts are gone once it ends: nothing else sees the
            # claim (MLServer scans its folder, which holds this root, for models).
            (root / PVC_MOUNT.lstrip("/")).unlink(missing_ok=True)
        if code is None:
            msg = f"rclone copy {model_uri} {MODELS_MOUNT}: no result after {timeout_s:g}s"
            raise InitializerError(msg)
        if code != 0:
            last = _last_line(log).replace(str(root), "")
            raise InitializerError(f"rclone copy {model_uri} {MODELS_MOUNT} exited {code}: {last}")
        return models

    def _copy(self, source_and_dest: list[str], root: Path, env: dict[str, str], log: Path,
              timeout_s: float, started: list[subprocess.Popen[bytes]]) -> int | None:
        """Run `rclone copy` in `root`; its exit code, or None if it ran out of time (killed)."""
        with log.open("ab") as output:
            process = subprocess.Popen(
                [str(self.rclone), "copy", *source_and_dest], cwd=root, env=env,
                stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True)
            started.append(process)
            try:
                return process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return None

    def _container_source(self, model_uri: str, root: Path) -> str:
        """The operator's rewrite: `pvc://CLAIM/PATH` becomes /mnt/pvc/PATH, the claim mounted."""
        if model_uri.startswith(":"):
            msg = (f"modelUri {model_uri!r}: rclone connection-string remotes are not run by "
                   "this stand-in (name a claim or a configured remote)")
            raise InitializerError(msg)
        if not model_uri.startswith(PVC_PREFIX):
            return model_uri
        claim, _, path = model_uri.removeprefix(PVC_PREFIX).partition("/")
        if claim not in self.claims:
            # The pod never schedules; the scheduler's event says why.
            raise InitializerError(f'persistentvolumeclaim "{claim}" not found')
        mount = root / PVC_MOUNT.lstrip("/")
        mount.parent.mkdir(parents=True, exist_ok=True)
        if not mount.is_symlink():
            mount.symlink_to(self.claims[claim].resolve(), target_is_directory=True)
        return f"{PVC_MOUNT}/{path}"


def _is_remote(source: str) -> bool:
    # rclone reads `name:path` as a remote when the colon comes before any slash.
    return ":" in source.split("/", 1)[0]


def _last_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace")
             .splitlines() if line.strip()]
    return _TIMESTAMP.sub("", lines[-1]) if lines else "no output"
