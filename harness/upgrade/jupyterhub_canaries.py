"""JupyterHub's canaries, through the hub's REST API and a user's server: two users (logged
in with the shared password, as the DummyAuthenticator creates them), an API token each with
a note, and a file in the first user's home, the chart's persistent volume. Groups need an
admin, and the scenarios' hubs have none by default: no group canary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from harness.wait import wait_until

if TYPE_CHECKING:
    from harness.stack import Stack

_TIMEOUT_S = 30
_SPAWN_TIMEOUT_S = 120


class JupyterhubCanaries:
    """Writes and reads JupyterHub's canaries at the hub's public URL."""

    TOOL = "jupyterhub"

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}  # user -> their canary token
        self.note = ""
        self.file = ""

    def write(self, stack: Stack, label: str) -> dict[str, Any]:
        """Create the canaries; return the readings they must give back."""
        hub = stack.tools[self.TOOL].endpoints["hub"]
        password = stack.secret(self.TOOL, "dummy_password")
        expected: dict[str, Any] = {}
        self.note = f"canary {label}"
        for user in (f"canary-a-{label}", f"canary-b-{label}"):
            _login(hub, user, password)
            response = requests.post(
                f"{hub}/hub/api/users/{user}/tokens", timeout=_TIMEOUT_S,
                json={"auth": {"username": user, "password": password}, "note": self.note})
            response.raise_for_status()
            self.tokens[user] = response.json()["token"]
            expected[f"user {user} name"] = user
            expected[f"user {user} token note"] = self.note
        user = next(iter(self.tokens))
        self.file = f"canary-{label}.txt"
        content = f"canary file of {user}"
        with _server(hub, user, self.tokens[user]) as server:
            response = requests.put(f"{server}/api/contents/{self.file}", timeout=_TIMEOUT_S,
                                    headers=_auth(self.tokens[user]),
                                    json={"type": "file", "format": "text", "content": content})
            response.raise_for_status()
        expected[f"user {user} file {self.file}"] = content
        return expected

    def read(self, stack: Stack) -> dict[str, Any]:
        """Read every canary again; a user or token that is gone leaves its readings out."""
        hub = stack.tools[self.TOOL].endpoints["hub"]
        found: dict[str, Any] = {}
        for user, token in self.tokens.items():
            me = requests.get(f"{hub}/hub/api/user", headers=_auth(token), timeout=_TIMEOUT_S)
            if me.status_code in {401, 403, 404}:  # the token (or its user) is gone
                continue
            me.raise_for_status()
            found[f"user {user} name"] = me.json()["name"]
            tokens = requests.get(f"{hub}/hub/api/users/{user}/tokens", headers=_auth(token),
                                  timeout=_TIMEOUT_S)
            tokens.raise_for_status()
            notes = [t.get("note") for t in tokens.json().get("api_tokens", [])]
            if self.note in notes:
                found[f"user {user} token note"] = self.note
        user = next(iter(self.tokens))
        if f"user {user} name" in found:
            with _server(hub, user, self.tokens[user]) as server:
                response = requests.get(f"{server}/api/contents/{self.file}",
                                        params={"content": "1", "format": "text"},
                                        headers=_auth(self.tokens[user]), timeout=_TIMEOUT_S)
                if response.ok:
                    found[f"user {user} file {self.file}"] = response.json().get("content")
        return found


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def _login(hub: str, user: str, password: str) -> None:
    """Log in through the form, as a person does: the DummyAuthenticator creates the user."""
    session = requests.Session()
    session.get(f"{hub}/hub/login", timeout=_TIMEOUT_S)  # the _xsrf cookie the form needs
    response = session.post(f"{hub}/hub/login?next=", timeout=_TIMEOUT_S, allow_redirects=False,
                            data={"username": user, "password": password,
                                  "_xsrf": session.cookies.get("_xsrf", "")})
    if response.status_code not in {302, 303}:
        msg = f"jupyterhub: login of {user} answered {response.status_code}"
        raise requests.HTTPError(msg, response=response)


class _server:  # a context manager: `with _server(...) as url:`
    """The user's default server, started through the API until ready, stopped after."""

    def __init__(self, hub: str, user: str, token: str) -> None:
        self.hub, self.user, self.headers = hub, user, _auth(token)

    def _model(self) -> dict[str, Any]:
        response = requests.get(f"{self.hub}/hub/api/users/{self.user}", headers=self.headers,
                                timeout=_TIMEOUT_S)
        response.raise_for_status()
        model: dict[str, Any] = response.json()
        return model

    def __enter__(self) -> str:
        response = requests.post(f"{self.hub}/hub/api/users/{self.user}/server",
                                 headers=self.headers, timeout=60)
        if response.status_code not in {201, 202}:
            msg = f"jupyterhub: start of {self.user}'s server answered {response.status_code}"
            raise requests.HTTPError(msg, response=response)
        wait_until(lambda: (self._model().get("servers", {}).get("") or {}).get("ready"),
                   timeout_s=_SPAWN_TIMEOUT_S, what=f"server of {self.user}", interval_s=0.5)
        return f"{self.hub}/user/{self.user}"

    def __exit__(self, *_: object) -> None:
        requests.delete(f"{self.hub}/hub/api/users/{self.user}/server", headers=self.headers,
                        timeout=60)
        wait_until(lambda: "" not in self._model().get("servers", {}),
                   timeout_s=_SPAWN_TIMEOUT_S, what=f"stop of {self.user}'s server")
