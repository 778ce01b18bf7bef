"""Fixtures the cluster target's tests share."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.terraform.provider.mirror import build_mirror


@pytest.fixture(scope="module")
def offline_terraform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pytest.MonkeyPatch]:
    """The environment of a user whose CLI config installs providers from a mirror (here the
    test provider's), with a plugin cache; no TF_VAR_* from the developer's shell.
    """
    base = tmp_path_factory.mktemp("tfmirror")
    with pytest.MonkeyPatch.context() as patch:
        for key in list(os.environ):
            if key.startswith(("TF_VAR_", "TF_CLI_ARGS", "HARNESS_")):
                patch.delenv(key)
        patch.setenv("TF_CLI_CONFIG_FILE", str(build_mirror(base)))
        patch.setenv("TF_PLUGIN_CACHE_DIR", str(base / "plugin-cache"))
        (base / "plugin-cache").mkdir()
        yield patch
