"""The GitHub stand-in, run as its own process, driven by oauthenticator's real GitHubOAuthenticator.

The test plays the browser (it follows the authorize redirect with `login=<user>`) and the
hub's callback handler (it hands the authenticator the callback's `code` and the state
cookie); everything else is the authenticator's own code talking to the stand-in over HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from oauthenticator.github import GitHubOAuthenticator
from oauthenticator.oauth2 import OAuthCallbackHandler
from tornado.web import HTTPError

from harness.errors import BadInputError
from harness.launchers.base import ProcessSpec, PythonEnv, free_port
from harness.scenario import load_scenario
from harness.standins import _github_state
from harness.standins._github_state import (
    ERROR_URIS,
    GitHubState,
    OAuthApp,
    OAuthError,
    redirect_allowed,
)
from harness.standins.github import StandInConfig
from harness.supervisor import Supervisor

# The local hub's callback; the scenario's oauth_github_callback_url names a cluster's hub.
CALLBACK = "http://127.0.0.1:8000/hub/oauth_callback"
OAUTH = load_scenario("oauth")
CLIENT_ID = str(OAUTH.var("oauth_github_client_id"))
CLIENT_SECRET = "s3cret-client"  # as run_secrets would generate for oauth_github_client_secret


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the test looks at each redirect itself, as a browser's devtools would


_OPENER = urllib.request.build_opener(_NoRedirect)


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stand-in's base URL (its `github_url`): its own process, under the harness's supervisor."""
    state = tmp_path_factory.mktemp("github")
    accounts = StandInConfig.from_scenario(OAUTH, client_secret=CLIENT_SECRET,
                                           callback_url=CALLBACK)
    (state / "github.json").write_text(accounts.model_dump_json(), encoding="utf-8")
    port = free_port()
    spec = ProcessSpec(
        name="github", health_url=f"http://127.0.0.1:{port}/health", timeout_s=20,
        argv=PythonEnv().module("harness.standins.github", "--port", str(port),
                                "--config", str(state / "github.json")))
    deaths: list[str] = []
    supervisor = Supervisor(state / "logs", state / "pids.json", on_death=deaths.append)
    supervisor.start(spec)
    yield f"http://127.0.0.1:{port}"
    assert supervisor.stop_all() == []
    assert deaths == []
    log = (state / "logs" / "github.log").read_text()
    assert CLIENT_SECRET not in log
    assert "code=" not in log, "codes and state stay out of the log"


class CallbackRequest:
    """What the hub's OAuth callback handler gives the authenticator: arguments and cookie."""

    log = logging.getLogger("callback")

    def __init__(self, query: dict[str, str], cookie_state: dict[str, str]) -> None:
        self.query = query
        self.cookie = base64.urlsafe_b64encode(json.dumps(cookie_state).encode()).decode()

    def get_argument(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, default)

    def get_state_cookie(self) -> str:
        return self.cookie

    get_state_url = OAuthCallbackHandler.get_state_url
    check_state = OAuthCallbackHandler.check_state


def authenticator(github: str, **overrides: Any) -> GitHubOAuthenticator:
    # What the jupyterhub module renders for the oauth scenario, pointed at the stand-in.
    settings: dict[str, Any] = {
        "github_url": github, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "oauth_callback_url": CALLBACK,
        "allowed_organizations": set(OAUTH.var("oauth_github_allowed_organizations")),
        "admin_users": set(OAUTH.var("oauth_github_admin_users")), "scope": ["read:org"],
        **overrides,
    }
    return GitHubOAuthenticator(**settings)


def sign_in(github: str, login: str, **params: str) -> tuple[CallbackRequest, dict[str, str]]:
    """The browser's part: authorize as `login`; return the callback request and its query."""
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode()).digest()
    state_id = secrets.token_hex(16)
    state = base64.urlsafe_b64encode(json.dumps({"state_id": state_id}).encode()).decode()
    query = {"client_id": CLIENT_ID, "redirect_uri": CALLBACK, "scope": "read:org",
             "state": state, "response_type": "code", "login": login,
             "code_challenge": base64.urlsafe_b64encode(digest).decode().rstrip("="),
             "code_challenge_method": "S256", **params}
    location = follow(f"{github}/login/oauth/authorize?{urlencode(query)}")
    callback = dict(parse_qsl(urlsplit(location).query))
    cookie = {"state_id": state_id, "next_url": "/hub/", "code_verifier": verifier}
    return CallbackRequest(callback, cookie), callback


def follow(url: str) -> str:
    """GET `url`; return the Location of its 302 (failing the test on anything else)."""
    try:
        _OPENER.open(url, timeout=5)
    except urllib.error.HTTPError as exc:
        if exc.code == 302:
            return str(exc.headers["Location"])
        pytest.fail(f"expected a redirect from {url}, got {exc.code}")
    pytest.fail(f"expected a redirect from {url}, got 200")


def log_in(github: str, login: str, **overrides: Any) -> dict[str, Any] | None:
    request, _ = sign_in(github, login)
    request.check_state()
    auth = authenticator(github, **overrides)
    result: dict[str, Any] | None = asyncio.run(auth.get_authenticated_user(request, None))
    return result


def api(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_authorize_url_is_the_standin(github: str) -> None:
    auth = authenticator(github)
    assert auth.authorize_url == f"{github}/login/oauth/authorize"
    assert auth.token_url == f"{github}/login/oauth/access_token"
    assert auth.userdata_url == f"{github}/api/v3/user"


def test_redirect_echoes_state_and_goes_to_the_callback(github: str) -> None:
    request, callback = sign_in(github, "bob")
    assert set(callback) == {"code", "state"}
    assert request.get_argument("state") == callback["state"]
    request.check_state()  # the hub's own check: the echoed state matches its cookie


def test_member_of_an_allowed_org_is_accepted(github: str) -> None:
    user = log_in(github, "bob")
    assert user is not None
    assert user["name"] == "bob"
    assert not user["admin"]
    assert user["auth_state"]["github_user"]["login"] == "bob"


@pytest.mark.parametrize("login", ["eve", "mallory"])  # another org; none at all
def test_user_in_no_allowed_org_is_refused(github: str, login: str) -> None:
    assert log_in(github, login) is None


def test_admin_user_is_admin(github: str) -> None:
    user = log_in(github, "ada")
    assert user is not None
    assert user["admin"] is True


def test_config_from_a_scenario_without_accounts_is_refused(write_scenario: Any) -> None:
    bare = load_scenario(str(write_scenario(
        "description: x\ntfvars: {oauth_github_enable: true, oauth_github_client_id: c}\n")))
    with pytest.raises(BadInputError, match="field 'local.github'"):
        StandInConfig.from_scenario(bare, client_secret="s", callback_url=CALLBACK)


def test_membership_is_invisible_without_read_org(github: str) -> None:
    # GitHub hides private memberships from a token without `read:org`.
    request, _ = sign_in(github, "bob", scope="")
    auth = authenticator(github, scope=[])
    assert asyncio.run(auth.get_authenticated_user(request, None)) is None


def test_tampered_state_is_refused(github: str) -> None:
    request, _ = sign_in(github, "bob")
    request.query["state"] = base64.urlsafe_b64encode(b'{"state_id": "forged"}').decode()
    with pytest.raises(HTTPError, match="state mismatch"):
        request.check_state()


def test_reused_code_is_refused_and_revokes_its_token(github: str) -> None:
    request, _ = sign_in(github, "bob")
    auth = authenticator(github)
    first = asyncio.run(auth.get_authenticated_user(request, None))
    assert first is not None
    token = first["auth_state"]["access_token"]
    assert api(f"{github}/api/v3/user", token) == 200
    with pytest.raises(HTTPError, match="incorrect or expired"):
        asyncio.run(authenticator(github).get_authenticated_user(request, None))
    assert api(f"{github}/api/v3/user", token) == 401


@pytest.mark.parametrize("basic_auth", [False, True])  # secret in the form, or HTTP Basic
def test_wrong_client_secret_is_refused(github: str, basic_auth: bool) -> None:
    request, _ = sign_in(github, "bob")
    auth = authenticator(github, client_secret="not-the-secret", basic_auth=basic_auth)
    with pytest.raises(HTTPError, match="client_secret passed are incorrect"):
        asyncio.run(auth.get_authenticated_user(request, None))


def test_client_credentials_by_http_basic_are_accepted(github: str) -> None:
    assert log_in(github, "bob", basic_auth=True) is not None


def test_wrong_pkce_verifier_is_refused(github: str) -> None:
    request, _ = sign_in(github, "bob")
    request.cookie = base64.urlsafe_b64encode(json.dumps(
        {"state_id": "x", "code_verifier": "forged"}).encode()).decode()
    with pytest.raises(HTTPError, match="code_verifier"):
        asyncio.run(authenticator(github).get_authenticated_user(request, None))


# GitHub's documented examples for the callback http://example.com/path, plus loopback ports.
@pytest.mark.parametrize(("callback", "redirect_uri", "allowed"), [
    ("http://example.com/path", "http://example.com/path", True),
    ("http://example.com/path", "http://example.com/path/subdir/other", True),
    ("http://example.com/path", "http://oauth.example.com/path", True),
    ("http://example.com/path", "http://oauth.example.com/path/subdir/other", True),
    ("http://example.com/path", "http://example.com/bar", False),
    ("http://example.com/path", "http://example.com/", False),
    ("http://example.com/path", "http://example.com/pathology", False),
    ("http://example.com/path", "http://example.com:8080/path", False),
    ("http://example.com/path", "http://oauth.example.com:8080/path", False),
    ("http://example.com/path", "http://example.org", False),
    ("http://example.com/path", "http://badexample.com/path", False),
    ("http://example.com/path", "https://example.com/path", False),
    ("http://127.0.0.1/path", "http://127.0.0.1:1234/path", True),
    ("http://127.0.0.1:8000/hub/oauth_callback", "http://127.0.0.1:9/hub/oauth_callback", True),
    ("http://127.0.0.1:8000/hub/oauth_callback", "http://127.0.0.1:8000/hub/other", False),
])
def test_redirect_uri_rules_are_githubs(callback: str, redirect_uri: str, allowed: bool) -> None:
    assert redirect_allowed(callback, redirect_uri) is allowed


@pytest.mark.parametrize("redirect_uri", [
    "http://evil.example/hub/oauth_callback",  # another host
    "http://127.0.0.1:8000/hub/elsewhere",  # the callback's host, outside its path
])
def test_authorize_sends_a_wrong_redirect_uri_back_to_the_callback(github: str,
                                                                   redirect_uri: str) -> None:
    location = follow(f"{github}/login/oauth/authorize?" + urlencode({
        "client_id": CLIENT_ID, "redirect_uri": redirect_uri, "state": "xyz", "login": "bob"}))
    assert location.startswith(CALLBACK + "?")  # the registered callback, never the one asked
    callback = dict(parse_qsl(urlsplit(location).query))
    assert callback == {"error": "redirect_uri_mismatch", "state": "xyz",
                        "error_description": "The redirect_uri MUST match the registered "
                                             "callback URL for this application.",
                        "error_uri": ERROR_URIS["redirect_uri_mismatch"]}


def test_token_exchange_with_another_redirect_uri_is_refused(github: str) -> None:
    request, _ = sign_in(github, "bob")  # the code was issued for CALLBACK
    auth = authenticator(github, oauth_callback_url=CALLBACK + "/other")
    with pytest.raises(HTTPError, match="redirect_uri MUST match"):
        asyncio.run(auth.get_authenticated_user(request, None))


def test_wrong_client_id_at_token_exchange_is_refused(github: str) -> None:
    request, _ = sign_in(github, "bob")
    auth = authenticator(github, client_id="not-the-client")
    with pytest.raises(HTTPError, match="client_id and/or client_secret passed are incorrect"):
        asyncio.run(auth.get_authenticated_user(request, None))


@pytest.mark.parametrize(("form", "error", "description"), [
    ({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": "0" * 20},
     "bad_verification_code", "The code passed is incorrect or expired."),
    ({"client_id": CLIENT_ID, "client_secret": "wrong", "code": "0" * 20},
     "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect."),
])
def test_token_errors_answer_200_with_githubs_document(github: str, form: dict[str, str],
                                                       error: str, description: str) -> None:
    """GitHub answers a refused exchange with 200 and an error document, JSON or form."""
    url = f"{github}/login/oauth/access_token"
    data = urlencode(form).encode()
    as_json = urllib.request.Request(url, data=data, headers={"Accept": "application/json"})
    with urllib.request.urlopen(as_json, timeout=5) as resp:
        assert resp.status == 200
        body = json.loads(resp.read())
    assert body == {"error": error, "error_description": description,
                    "error_uri": ERROR_URIS[error]}
    assert "access_token" not in body
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=5) as resp:
        assert dict(parse_qsl(resp.read().decode()))["error"] == error


def test_code_expires_after_ten_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    app = OAuthApp(client_id="c", client_secret="s", callback_url=CALLBACK)
    state = GitHubState(StandInConfig(apps=[app], users={"bob": {"orgs": []}}))
    fresh = state.grant(app, "bob", CALLBACK, ("read:org",), None)
    stale = state.grant(app, "bob", CALLBACK, ("read:org",), None)
    clock = [time.monotonic() + _github_state.CODE_TTL_S - 1]  # both issued before this
    monkeypatch.setattr(_github_state.time, "monotonic", lambda: clock[0])
    assert state.exchange("c", "s", fresh, CALLBACK, None)[1].login == "bob"
    clock[0] += 2
    with pytest.raises(OAuthError, match="incorrect or expired") as refused:
        state.exchange("c", "s", stale, CALLBACK, None)
    assert refused.value.error == "bad_verification_code"


def test_unknown_client_and_missing_token_are_refused(github: str) -> None:
    assert api(f"{github}/login/oauth/authorize?client_id=nope") == 404
    assert api(f"{github}/api/v3/user") == 401
    assert api(f"{github}/api/v3/user", "gho_forged") == 401


def test_sign_in_page_lists_users_to_click(github: str) -> None:
    query = urlencode({"client_id": CLIENT_ID, "state": "s"})
    with urllib.request.urlopen(f"{github}/login/oauth/authorize?{query}") as resp:
        page = resp.read().decode()
    assert "login=bob" in page


def test_bad_config_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "github.json"
    config.write_text('{"apps": []}', encoding="utf-8")
    argv = [sys.executable, "-m", "harness.standins.github", "--port", "1", "--config", str(config)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    assert proc.returncode == 2
    assert "apps" in proc.stderr
