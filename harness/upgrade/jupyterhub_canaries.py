"""JupyterHub's canaries, through the hub's REST API and a user's server: two users, logged
in the way the hub authenticates them (the DummyAuthenticator's shared password, or GitHub
OAuth through the local target's stand-in), an API token each with a note, a file in the
first user's home (the chart's persistent volume), and, where an admin can sign in (GitHub's
`oauth_github_admin_users`), a group holding both users. Without an admin there is no group
canary: users cannot create groups.

Public API:
    JupyterhubCanaries: writes and reads them
    github_token(hub, user, note) -> an API token of `user`, logged in through GitHub OAuth
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import requests

from harness.upgrade.canaries import CanaryError
from harness.wait import wait_until

if TYPE_CHECKING:
    from harness.stack import Stack, ToolEntry

_TIMEOUT_S = 30
_SPAWN_TIMEOUT_S = 120


class JupyterhubCanaries:
    """Writes and reads JupyterHub's canaries at the hub's public URL."""

    TOOL = "jupyterhub"
    why_none = ""  # it always writes some, or fails saying why

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}  # user -> their canary token
        self.admin_token = ""
        self.group = ""
        self.note = ""
        self.file = ""

    def write(self, stack: Stack, label: str) -> dict[str, Any]:
        """Create the canaries; return the readings they must give back."""
        entry = stack.tools[self.TOOL]
        hub = entry.endpoints["hub"]
        expected: dict[str, Any] = {}
        self.note = f"canary {label}"
        if entry.expect.get("authenticator") == "github":
            users, admin = _github_accounts(entry)
            sign_in = github_token
        else:
            users, admin = [f"canary-a-{label}", f"canary-b-{label}"], None
            password = stack.secret(self.TOOL, "dummy_password")

            def sign_in(hub: str, user: str, note: str) -> str:
                return _password_token(hub, user, password, note)

        for user in users:
            self.tokens[user] = sign_in(hub, user, self.note)
            expected[f"user {user} name"] = user
            expected[f"user {user} token note"] = self.note
        if admin is not None:
            self.admin_token = self.tokens.get(admin) or sign_in(hub, admin, self.note)
            self.group = f"canary-{label}"
            response = requests.post(f"{hub}/hub/api/groups/{self.group}", timeout=_TIMEOUT_S,
                                     headers=_auth(self.admin_token), json={"users": users})
            response.raise_for_status()
            expected[f"group {self.group} members"] = sorted(users)
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
        """Read every canary again; a user, token or group that is gone leaves its readings
        out.
        """
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
        if self.group:
            group = requests.get(f"{hub}/hub/api/groups/{self.group}", timeout=_TIMEOUT_S,
                                 headers=_auth(self.admin_token))
            if group.ok:
                found[f"group {self.group} members"] = sorted(group.json().get("users", []))
        user = next(iter(self.tokens))
        if f"user {user} name" in found:
            with _server(hub, user, self.tokens[user]) as server:
                response = requests.get(f"{server}/api/contents/{self.file}",
                                        params={"content": "1", "format": "text"},
                                        headers=_auth(self.tokens[user]), timeout=_TIMEOUT_S)
                if response.ok:
                    found[f"user {user} file {self.file}"] = response.json().get("content")
        return found


def _github_accounts(entry: ToolEntry) -> tuple[list[str], str | None]:
    """Two GitHub accounts the hub lets in (members of an allowed organisation, or admins),
    and an admin among them or beside them (None when none can sign in).
    """
    accounts: dict[str, list[str]] = entry.expect.get("github_users") or {}
    if not accounts:
        msg = ("jupyterhub: the hub logs users in through GitHub and the stack names no "
               "accounts to sign in as (the local target's GitHub stand-in has them)")
        raise CanaryError(msg)
    allowed = set(entry.expect.get("allowed_organizations") or [])
    admins = set(entry.expect.get("admin_users") or [])
    let_in = [name for name, orgs in sorted(accounts.items())
              if name in admins or not allowed or allowed & set(orgs)]
    admin = next((name for name in let_in if name in admins), None)
    # Users who are not the admin first: the group is then the admin's work, not its own.
    users = [name for name in let_in if name != admin] + ([admin] if admin else [])
    return users[:2], admin


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"token {token}"}


def _password_token(hub: str, user: str, password: str, note: str) -> str:
    """Log in through the form, as a person does (the DummyAuthenticator creates the user);
    then a token with `note`, asked for with the password.
    """
    _login(hub, user, password)
    response = requests.post(f"{hub}/hub/api/users/{user}/tokens", timeout=_TIMEOUT_S,
                             json={"auth": {"username": user, "password": password},
                                   "note": note})
    response.raise_for_status()
    return str(response.json()["token"])


def github_token(hub: str, user: str, note: str) -> str:
    """Log in as a browser does through GitHub OAuth (the stand-in's authorize page, told
    which account signs in), then ask for a token with the session, as the hub's pages do.
    """
    session = requests.Session()
    start = session.get(f"{hub}/hub/oauth_login", allow_redirects=False, timeout=_TIMEOUT_S)
    authorize = start.headers.get("Location", "")
    if start.status_code != 302 or not authorize:
        msg = f"jupyterhub: /hub/oauth_login answered {start.status_code}, not a redirect"
        raise requests.HTTPError(msg, response=start)
    joiner = "&" if urlsplit(authorize).query else "?"
    approved = session.get(authorize + joiner + urlencode({"login": user}),
                           allow_redirects=False, timeout=_TIMEOUT_S)
    callback = session.get(approved.headers.get("Location", ""), allow_redirects=False,
                           timeout=60)
    if callback.status_code != 302 or "/login" in callback.headers.get("Location", ""):
        msg = f"jupyterhub: the OAuth login of {user} answered {callback.status_code}"
        raise requests.HTTPError(msg, response=callback)
    session.get(f"{hub}/hub/home", timeout=_TIMEOUT_S)  # a page view sets the _xsrf cookie
    xsrf = [cookie.value for cookie in session.cookies if cookie.name == "_xsrf"]
    response = session.post(f"{hub}/hub/api/users/{user}/tokens", timeout=_TIMEOUT_S,
                            headers={"X-XSRFToken": xsrf[-1]} if xsrf else {},
                            json={"note": note})
    response.raise_for_status()
    return str(response.json()["token"])


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
