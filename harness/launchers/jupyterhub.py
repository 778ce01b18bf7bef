"""JupyterHub: the hub, configurable-http-proxy, and each user's server as a local process."""

from __future__ import annotations

import copy
import json
import os
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from mirakuru.base import ENV_UUID

from harness.launchers._installed import installed_versions
from harness.launchers._jupyterhub_config import CONFIG
from harness.launchers._server_env import server_python
from harness.launchers.base import Launcher, ProcessSpec, PythonEnv, Stage, free_port
from harness.settings import ToolSettings
from harness.stack import ToolEntry
from harness.standins.github import StandInConfig
from harness.variables import root_variables

if TYPE_CHECKING:
    from collections.abc import Iterator

    from harness.launchers.base import LaunchContext

_PROXY_MAIN = "from configurable_http_proxy.cli import main; main()"
_CLIENT_SECRET = "oauth_github_client_secret"  # noqa: S105 - the secret's name, not a value
SINGLEUSER_PORTS = 16  # ports handed to the hub for users' servers (reused once freed)


class JupyterhubSettings(ToolSettings):
    """JupyterHub: authentication and the user's persistent storage path."""

    oauth_github_enable: bool
    oauth_github_client_id: str
    oauth_github_admin_users: list[str]
    oauth_github_allowed_organizations: list[str]
    oauth_github_callback_url: str
    singleuser_storage_mount_path: str
    jhub_proxy_https_enabled: bool


class JupyterhubLauncher(Launcher):
    """configurable-http-proxy, then the hub; users' servers are spawned by the hub.

    With `oauth_github_enable` the hub uses oauthenticator's GitHubOAuthenticator against a
    local GitHub stand-in (harness/standins/github.py), started first.
    """

    NAME = "jupyterhub"

    def __init__(self, context: LaunchContext) -> None:
        super().__init__(context)
        # What the checks expect comes from the scenario; what runs, from the chart's values:
        # the hub applies `hub.config` as the chart's hub does.
        self.settings = JupyterhubSettings.from_scenario(context.scenario)
        self.hub_config: dict[str, Any] = copy.deepcopy(
            dict(context.values.get("jupyterhub", "hub.config", {})))
        self.mount_path = str(context.values.get(
            "jupyterhub", "singleuser.storage.homeMountPath", "/home/jovyan"))
        self.public_port, self.api_port, self.hub_port = free_port(), free_port(), free_port()
        self.singleuser_ports = [free_port() for _ in range(SINGLEUSER_PORTS)]
        self.url = f"http://127.0.0.1:{self.public_port}"
        # The chart's hub runs `--upgrade-db` when `hub.db.upgrade` is true, or unset with the
        # default `sqlite-pvc` database (its hub Deployment's args).
        upgrade = context.values.get("jupyterhub", "hub.db.upgrade")
        self.upgrade_db = bool(upgrade) if isinstance(upgrade, bool) else str(
            context.values.get("jupyterhub", "hub.db.type", "sqlite-pvc")) == "sqlite-pvc"
        self.python = context.python  # until processes() has the chart version's environment
        self.proxy_token = context.secrets.generate("jhub_proxy_secret_token", hex_bytes=32)
        try:
            password = context.secrets.get("dummy_password")
        except KeyError:
            password = str(context.scenario.var("dummy_password"))
            context.secrets.put("dummy_password", password)
        self.password = password
        self.github: StandInConfig | None = None
        self.github_port = free_port()
        if self.settings.oauth_github_enable:
            # The OAuth app registered on GitHub, as the scenario says; its callback URL names
            # a cluster's hub, here it is the same path on ours.
            self.callback = self.local_url(self.settings.oauth_github_callback_url) \
                or f"{self.url}/hub/oauth_callback"
            self.client_secret = self._client_secret()
            # Built now so validation names a scenario without accounts; written at start.
            self.github = StandInConfig.from_scenario(
                context.scenario, client_secret=self.client_secret, callback_url=self.callback)

    def _client_secret(self) -> str:
        try:
            return self.context.secrets.get(_CLIENT_SECRET)  # run_secrets made one for the run
        except KeyError:  # given in the scenario's tfvars, or a launcher built outside a run
            given = str(self.context.scenario.var(_CLIENT_SECRET) or "")
            if given:
                self.context.secrets.put(_CLIENT_SECRET, given)
            return given or self.context.secrets.generate(_CLIENT_SECRET)

    def local_url(self, url: str) -> str:
        """`url`'s path on this hub (the cluster's host is ours here); empty stays empty."""
        if not url:
            return ""
        parsed = urlparse(url)
        return f"{self.url}{parsed.path}" + (f"?{parsed.query}" if parsed.query else "")

    @property
    def github_url(self) -> str:
        """The stand-in's base URL: the authenticator's `github_url`."""
        return f"http://127.0.0.1:{self.github_port}"

    @property
    def storage_template(self) -> str:
        """Where the chart's `singleuser.storage.homeMountPath` is for user `{username}`."""
        return self._under_users_root(self.mount_path)

    def _under_users_root(self, mount_path: str) -> str:
        """Where `mount_path` is for user `{username}`: under their root."""
        mount = PurePosixPath(mount_path)
        # Each user's directory plays their pod's filesystem, as MLflow's state plays its pod's.
        return str(self.context.state_dir / "users" / "{username}" / mount.relative_to("/"))

    def _write_github_config(self) -> str:
        assert self.github is not None
        path = self.context.state_dir / "github.json"
        # It holds the OAuth app's client secret: owner-only from the first byte.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.github.model_dump_json())
        return str(path)

    # Secrets of `hub.config` reach the hub through its environment, never a file.
    _SECRET_TRAITS = (("DummyAuthenticator", "password", "JHUB_DUMMY_PASSWORD"),
                      ("GitHubOAuthenticator", "client_secret", "GITHUB_CLIENT_SECRET"))

    def _hub_config_secrets(self) -> dict[str, str]:
        return {env: str(self.hub_config.get(section, {}).get(trait) or "")
                for section, trait, env in self._SECRET_TRAITS}

    def _hub_config_without_secrets(self) -> dict[str, Any]:
        config = copy.deepcopy(self.hub_config)
        for section, trait, _env in self._SECRET_TRAITS:
            config.get(section, {}).pop(trait, None)
        github = config.get("GitHubOAuthenticator")
        if github is not None:
            # GitHub is the local stand-in (a closed port without one); the callback URL names
            # a cluster's hub, here the same path on ours.
            github["github_url"] = self.github_url
            github["oauth_callback_url"] = self.local_url(str(github.get("oauth_callback_url")
                                                              or ""))
        return config

    def _write_config(self) -> str:
        state = self.context.state_dir
        python = str(self.python.python)
        settings: dict[str, Any] = {
            "public_port": self.public_port, "hub_port": self.hub_port,
            "proxy_api": f"http://127.0.0.1:{self.api_port}",
            "db": str(state / "jupyterhub.sqlite"),  # schema_store() reads it
            "cookie_secret": str(state / "jupyterhub_cookie_secret"),
            "pid_file": str(state / "jupyterhub.pid"),
            "hub_config": self._hub_config_without_secrets(),
            "home": str(state / "users" / "{username}" / "home" / "jovyan"),
            "storage": self.storage_template,
            "singleuser_cmd": [python, "-m", "jupyterhub.singleuser"],
            # A root user's server refuses to start without it (containers run as jovyan).
            "singleuser_args": ["--allow-root"] if os.geteuid() == 0 else [],
            "spawn_timeout_s": int(self.context.timeout_s("jupyterhub-spawn")),
            "singleuser_ports": self.singleuser_ports,
            # The supervisor's process marker, so its sweep also finds users' servers.
            "env_keep": [ENV_UUID],
        }
        (state / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
        config = state / "jupyterhub_config.py"
        config.write_text(CONFIG, encoding="utf-8")
        return str(config)

    def processes(self) -> Iterator[Stage]:
        """Yield the build of the hub's environment at the chart's version (once; the proxy
        and users' servers run from it too), the GitHub stand-in (OAuth only), the proxy, then
        the hub.
        """
        self.python = yield from server_python(self.context, self.NAME, "hub")
        if self.github is not None:
            port = str(self.github_port)
            yield ProcessSpec(
                name="github",
                # The harness's own interpreter: the stand-in is harness code, not the tool's.
                argv=PythonEnv().module("harness.standins.github", "--port", port,
                                        "--config", self._write_github_config()),
                health_url=f"{self.github_url}/health", timeout_s=self.context.timeout_s("github"),
            )
        token = {"CONFIGPROXY_AUTH_TOKEN": self.proxy_token}
        yield ProcessSpec(
            name="jupyterhub-proxy",
            argv=[str(self.python.python), "-c", _PROXY_MAIN,
                  "--ip", "127.0.0.1", "--port", str(self.public_port),
                  "--api-ip", "127.0.0.1", "--api-port", str(self.api_port),
                  "--default-target", f"http://127.0.0.1:{self.hub_port}",
                  "--error-target", f"http://127.0.0.1:{self.hub_port}/hub/error"],
            env=token, health_url=f"{self.url}/_chp_healthz",
            timeout_s=self.context.timeout_s("jupyterhub-proxy"),
        )
        config = self._write_config()
        auth = {env: value for env, value in self._hub_config_secrets().items() if value}
        yield ProcessSpec(
            name="jupyterhub",
            argv=self.python.module("jupyterhub", "-f", config,
                                    *(["--upgrade-db"] if self.upgrade_db else [])),
            # `--upgrade-db` runs the `alembic` of the hub's environment, found on PATH as in
            # the hub's image.
            env={**token, **auth, "PATH": os.pathsep.join(
                [str(self.python.python.parent), os.environ.get("PATH", os.defpath)])},
            # Direct, not through the proxy: the proxy answers for the hub before it is up.
            health_url=f"http://127.0.0.1:{self.hub_port}/hub/health",
            timeout_s=self.context.timeout_s("jupyterhub"),
        )

    def entry(self) -> ToolEntry:
        """The hub's public URL, the shared password, and what the scenario expects."""
        endpoints = {"hub": self.url}
        expect: dict[str, Any] = {
            "authenticator": "dummy",
            "storage_path": self._under_users_root(self.settings.singleuser_storage_mount_path)}
        if self.github is not None:
            endpoints["github"] = self.github_url
            expect.update({
                "authenticator": "github",
                "client_id": self.settings.oauth_github_client_id,
                "oauth_callback_url": self.callback,
                "oauth_callback_url_note": (
                    "the path of the scenario's oauth_github_callback_url "
                    f"({self.settings.oauth_github_callback_url}) on the local hub"),
                "admin_users": self.settings.oauth_github_admin_users,
                "allowed_organizations": self.settings.oauth_github_allowed_organizations,
                # The stand-in's accounts (login -> organisations), so checks pick users.
                "github_users": {login: user.orgs for login, user in self.github.users.items()},
            })
        # Under OAuth the shared password is kept so a check can show it no longer logs in.
        return ToolEntry(
            endpoints=endpoints,
            credentials={"dummy_password": self.context.secrets.ref("dummy_password")},
            expect=expect,
        )

    def schema_store(self) -> str:
        """The hub's database as a SQLAlchemy URL (the chart's default `sqlite-pvc`)."""
        return f"sqlite:///{self.context.state_dir / 'jupyterhub.sqlite'}"

    def versions(self, entry: ToolEntry) -> dict[str, str]:
        """JupyterHub as installed where the hub runs (not its API root: the check compares),
        and where users' servers run: the library they talk to the hub with.
        """
        installed = installed_versions(self.python.python, "jupyterhub")["jupyterhub"]
        return {"hub": installed, "singleuser": installed}

    def findings(self) -> list[str]:
        """Insecure defaults in effect."""
        found: list[str] = []
        if self.github is None:
            found.append("jupyterhub: DummyAuthenticator: every user name logs in with one "
                         "shared password (allow_all)")
            if self.password == root_variables()["dummy_password"].default:
                found.append("jupyterhub: the shared password is the documented default "
                             "`dummy_password`; anyone who read the README can log in")
        elif not self.settings.oauth_github_allowed_organizations:
            found.append("jupyterhub: GitHub OAuth without oauth_github_allowed_organizations: "
                         "every GitHub user can log in (allow_all)")
        if not self.settings.jhub_proxy_https_enabled:
            found.append("jupyterhub: the proxy serves plain HTTP (jhub_proxy_https_enabled "
                         "is false); passwords and tokens cross the network unencrypted")
        return found
