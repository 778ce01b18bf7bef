"""JupyterHub behind GitHub OAuth: login redirect, members, non-members, admins, no dummy login."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from conformance.test_jupyterhub import SPAWN_TIMEOUT_S, login, user_token
from harness.checks import expect, expect_equal
from harness.wait import wait_until

if TYPE_CHECKING:
    from harness.stack import Stack, ToolEntry

pytestmark = pytest.mark.jupyterhub
# The checks this module runs; collection fails unless they match its checks exactly.
CHECK_IDS = (
    "jupyterhub.oauth-redirect",
    "jupyterhub.oauth-member",
    "jupyterhub.oauth-non-member",
    "jupyterhub.oauth-admin",
    "jupyterhub.oauth-dummy-refused",
)
SESSION_COOKIE = "jupyterhub-hub-login"  # the hub's login cookie (JupyterHub >= 1.0)


@pytest.fixture(scope="module")
def hub_entry(stack: Stack) -> ToolEntry:
    """The hub's Stack entry; skips unless the hub authenticates with GitHub."""
    entry = stack.tools["jupyterhub"]
    authenticator = entry.expect.get("authenticator")
    if authenticator != "github":
        pytest.skip(f"the stack's hub authenticates with {authenticator!r}, not GitHub OAuth "
                    "(oauth_github_enable is false)")
    return entry


@pytest.fixture(scope="module")
def hub(hub_entry: ToolEntry) -> str:
    """The hub's public URL (through its proxy)."""
    return hub_entry.endpoints["hub"]


@pytest.fixture(scope="module")
def accounts(hub_entry: ToolEntry) -> dict[str, list[str]]:
    """GitHub accounts the checks can sign in as: login -> its organisations."""
    users: dict[str, list[str]] = hub_entry.expect.get("github_users") or {}
    if not users:
        pytest.skip("the stack names no GitHub accounts to sign in as (the local target's "
                    "GitHub stand-in has them; github.com has no test accounts)")
    return users


def account(entry: ToolEntry, accounts: dict[str, list[str]], *, member: bool, admin: bool
            ) -> str:
    """The first account that is (not) in an allowed organisation and (not) an admin."""
    allowed = set(entry.expect["allowed_organizations"])
    admins = set(entry.expect["admin_users"])
    for name, orgs in sorted(accounts.items()):
        # No allowed organisation means every GitHub user may log in (allow_all).
        in_org = not allowed or bool(allowed & set(orgs))
        if in_org == member and (name in admins) == admin:
            return name
    what = f"{'' if member else 'not '}in {sorted(allowed)} and {'' if admin else 'not '}an admin"
    pytest.skip(f"the stack's GitHub has no account {what}")


class Login(NamedTuple):
    """One browser's OAuth login: its cookies and the hub callback's answer."""

    session: requests.Session
    callback: requests.Response


def oauth_login(hub: str, name: str) -> Login:
    """Play the browser: the hub's login, GitHub's authorize page as `name`, the callback."""
    session = requests.Session()
    start = session.get(f"{hub}/hub/oauth_login", allow_redirects=False, timeout=30)
    expect("jupyterhub", start.status_code == 302, "a redirect from /hub/oauth_login to GitHub",
           start.status_code)
    authorize = start.headers["Location"]
    # The stand-in's affordance where a person would click: sign in as `login`, approve.
    joiner = "&" if urlsplit(authorize).query else "?"
    approved = session.get(authorize + joiner + urlencode({"login": name}),
                           allow_redirects=False, timeout=30)
    expect("github", approved.status_code == 302, f"the authorize page to approve {name!r} "
           "and redirect to the hub's callback", f"{approved.status_code} {approved.text[:200]}")
    callback = session.get(approved.headers["Location"], allow_redirects=False, timeout=60)
    return Login(session, callback)


def whoami(hub: str, session: requests.Session) -> dict[str, Any] | None:
    """The hub's model of the session's user, or None when the session is not logged in."""
    response = session.get(f"{hub}/hub/api/user", timeout=30)
    return dict(response.json()) if response.status_code == 200 else None


def logged_in(hub: str, name: str) -> requests.Session:
    """A session of `name` after a successful OAuth login (fails the check otherwise)."""
    __tracebackhide__ = True
    attempt = oauth_login(hub, name)
    expect("jupyterhub", attempt.callback.status_code == 302 and
           "/login" not in attempt.callback.headers.get("Location", ""),
           f"the OAuth callback to log {name!r} in and redirect into the hub",
           f"{attempt.callback.status_code} {attempt.callback.headers.get('Location')}")
    me = whoami(hub, attempt.session)
    expect_equal("jupyterhub", "user of the session after the OAuth callback", name,
                 me and me.get("name"))
    return attempt.session


def xsrf(hub: str, session: requests.Session) -> dict[str, str]:
    """Headers for an API call authenticated by the session's cookie, as the hub's pages send."""
    session.get(f"{hub}/hub/home", timeout=30)  # a page view sets the _xsrf cookie
    tokens = [cookie.value for cookie in session.cookies if cookie.name == "_xsrf"]
    expect("jupyterhub", tokens, "an _xsrf cookie from GET /hub/home", list(session.cookies.keys()))
    return {"X-XSRFToken": tokens[-1]}


@pytest.mark.check("jupyterhub.oauth-redirect")
def test_login_redirects_to_github(hub_entry: ToolEntry, hub: str) -> None:
    """The hub's login sends the browser to GitHub's authorize URL with its app and callback."""
    response = requests.get(f"{hub}/hub/oauth_login", allow_redirects=False, timeout=30)
    expect_equal("jupyterhub", "GET /hub/oauth_login status", 302, response.status_code)
    location = urlsplit(response.headers["Location"])
    github = hub_entry.endpoints.get("github", "https://github.com")
    expect_equal("jupyterhub", "authorize URL", f"{github}/login/oauth/authorize",
                 f"{location.scheme}://{location.netloc}{location.path}")
    query = {key: values[0] for key, values in parse_qs(location.query).items()}
    expect_equal("jupyterhub", "client_id on the authorize URL",
                 hub_entry.expect["client_id"], query.get("client_id"))
    expect_equal("jupyterhub", "redirect_uri on the authorize URL",
                 hub_entry.expect["oauth_callback_url"], query.get("redirect_uri"))
    expect_equal("jupyterhub", "response_type", "code", query.get("response_type"))
    expect("jupyterhub", query.get("state"), "a state parameter on the authorize URL", query)
    if hub_entry.expect["allowed_organizations"]:  # membership is private without read:org
        expect("jupyterhub", "read:org" in query.get("scope", "").split(),
               "scope read:org (organisation membership is private without it)",
               query.get("scope"))


@pytest.mark.check("jupyterhub.oauth-member")
def test_member_logs_in_and_starts_a_server(hub_entry: ToolEntry, hub: str,
                                            accounts: dict[str, list[str]]) -> None:
    """A member of an allowed organisation logs in, starts a server with the session, stops it."""
    name = account(hub_entry, accounts, member=True, admin=False)
    started = time.monotonic()
    session = logged_in(hub, name)
    print(f"jupyterhub: OAuth login of {name} in {time.monotonic() - started:.2f}s")
    headers = xsrf(hub, session)
    response = session.post(f"{hub}/hub/api/users/{name}/server", headers=headers, json={},
                            timeout=60)
    expect("jupyterhub", response.status_code in {201, 202},
           "201 or 202 from POST .../server with the OAuth session",
           f"{response.status_code} {response.text[:200]}")
    try:
        def server() -> dict[str, Any]:
            model = session.get(f"{hub}/hub/api/users/{name}", timeout=10).json()
            return dict(model.get("servers", {}).get("", {}))

        wait_until(lambda: bool(server().get("ready")), timeout_s=SPAWN_TIMEOUT_S,
                   what=f"server of {name}", interval_s=0.5)
        token = session.post(f"{hub}/hub/api/users/{name}/tokens", headers=headers,
                             json={"note": "conformance", "expires_in": 600}, timeout=30)
        expect_equal("jupyterhub", "POST .../tokens with the OAuth session", 201,
                     token.status_code)
        auth = {"Authorization": f"token {token.json()['token']}"}
        status = requests.get(f"{hub}/user/{name}/api/status", headers=auth, timeout=30)
        expect_equal("jupyterhub", f"GET /user/{name}/api/status of the started server", 200,
                     status.status_code)
    finally:
        session.delete(f"{hub}/hub/api/users/{name}/server", headers=headers, timeout=60)
    wait_until(lambda: not server(), timeout_s=SPAWN_TIMEOUT_S, what=f"stop of {name}'s server")
    after = requests.get(f"{hub}/user/{name}/api/status", headers=auth, timeout=30,
                         allow_redirects=False)
    expect("jupyterhub", after.status_code != 200, "the stopped server no longer to answer",
           after.status_code)


@pytest.mark.check("jupyterhub.oauth-non-member")
def test_non_member_refused(hub_entry: ToolEntry, hub: str, accounts: dict[str, list[str]]
                            ) -> None:
    """Accounts in no allowed organisation complete GitHub's part but get no hub session."""
    if not hub_entry.expect["allowed_organizations"]:
        pytest.skip("oauth_github_allowed_organizations is empty: every GitHub user may log in")
    account(hub_entry, accounts, member=False, admin=False)  # skips when there is none
    admins = set(hub_entry.expect["admin_users"])
    allowed = set(hub_entry.expect["allowed_organizations"])
    for name, orgs in sorted(accounts.items()):
        if name in admins or allowed & set(orgs):
            continue
        attempt = oauth_login(hub, name)
        expect_equal("jupyterhub", f"OAuth callback status for {name!r} (orgs {orgs})", 403,
                     attempt.callback.status_code)
        expect("jupyterhub", SESSION_COOKIE not in attempt.session.cookies,
               f"no login cookie for {name!r}", list(attempt.session.cookies.keys()))
        expect_equal("jupyterhub", f"user of {name!r}'s session after a refused login", None,
                     whoami(hub, attempt.session))


@pytest.mark.check("jupyterhub.oauth-admin")
def test_admin_users_are_admins(hub_entry: ToolEntry, hub: str, accounts: dict[str, list[str]]
                                ) -> None:
    """A user of oauth_github_admin_users is an admin and lists users; a member neither."""
    admin = account(hub_entry, accounts, member=True, admin=True)
    member = account(hub_entry, accounts, member=True, admin=False)
    admin_session, member_session = logged_in(hub, admin), logged_in(hub, member)
    expect_equal("jupyterhub", f"admin flag of {admin!r}", True,
                 (whoami(hub, admin_session) or {}).get("admin"))
    expect_equal("jupyterhub", f"admin flag of {member!r}", False,
                 (whoami(hub, member_session) or {}).get("admin"))
    listed = admin_session.get(f"{hub}/hub/api/users", timeout=30)
    expect_equal("jupyterhub", f"GET /hub/api/users as {admin!r}", 200, listed.status_code)
    admins = sorted(user["name"] for user in listed.json() if user.get("admin"))
    expect_equal("jupyterhub", "the hub's admins", sorted(hub_entry.expect["admin_users"]),
                 admins)
    refused = member_session.get(f"{hub}/hub/api/users", timeout=30)
    expect_equal("jupyterhub", f"GET /hub/api/users as {member!r}", 403, refused.status_code)


@pytest.mark.check("jupyterhub.oauth-dummy-refused")
def test_dummy_password_refused(stack: Stack, hub_entry: ToolEntry, hub: str,
                                accounts: dict[str, list[str]]) -> None:
    """The DummyAuthenticator's shared password logs no one in: no session, no API token."""
    if "dummy_password" in hub_entry.credentials:
        password = stack.secret("jupyterhub", "dummy_password")
    else:
        from harness.variables import root_variables

        password = str(root_variables()["dummy_password"].default)
    member = account(hub_entry, accounts, member=True, admin=False)
    for name in (member, *hub_entry.expect["admin_users"], f"ci-{uuid.uuid4().hex[:8]}"):
        session = login(hub, name, password)
        expect("jupyterhub", SESSION_COOKIE not in session.cookies,
               f"no login cookie for {name!r} with the shared password",
               list(session.cookies.keys()))
        expect_equal("jupyterhub", f"user of {name!r}'s session after the shared password",
                     None, whoami(hub, session))
        token = user_token(hub, name, password)
        expect("jupyterhub", token.status_code in {400, 401, 403},
               f"POST .../users/{name}/tokens with the shared password refused",
               f"{token.status_code} {token.text[:200]}")
