"""The environment a server or task starts with: an allow-list of the harness's own, plus what
its spec sets. Nothing else passes: `HARNESS_*` settings, `TF_VAR_*` secrets and admin DSNs
stay in the harness, since any client of a tool (e.g. of a Dask worker) can read its environment.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from harness.errors import ProvisionError

if TYPE_CHECKING:
    from collections.abc import Mapping

# What a process needs to run like one started from a login shell: where programs and home
# are, locale, temporary directory, trusted certificates, a proxy, Python's output settings.
ALLOWED = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ", "LANG", "LANGUAGE",
    "TMPDIR", "TEMP", "TMP",
    "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
    "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING", "PYTHONUTF8",
})
ALLOWED_PREFIXES = ("LC_",)
# Never passed, even when a spec names one: the harness's settings, Terraform's inputs.
FORBIDDEN_PREFIXES = ("HARNESS_", "TF_VAR_")


def allowed(name: str) -> bool:
    """Whether the harness's variable `name` may reach a process it starts."""
    return name in ALLOWED or name.startswith(ALLOWED_PREFIXES)


def process_env(own: Mapping[str, str], keep: Mapping[str, str] | None = None) -> dict[str, str]:
    """The allow-listed part of the harness's environment (`os.environ` unless `keep` is given),
    plus `own`, the variables the process's spec sets.

    Raises:
        ProvisionError: `own` names a `HARNESS_*` or `TF_VAR_*` variable.

    """
    forbidden = sorted(name for name in own if name.startswith(FORBIDDEN_PREFIXES))
    if forbidden:
        raise ProvisionError(f"{', '.join(forbidden)}: a server's environment may not set "
                             "HARNESS_* or TF_VAR_* variables (the harness's settings and "
                             "secrets); give them another name")
    source = os.environ if keep is None else keep
    return {**{k: v for k, v in source.items() if allowed(k)}, **own}
