"""JupyterHub: authentication, users' servers spawned through the API, kernels, storage."""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import requests

from harness.checks import expect, expect_equal
from harness.errors import WaitTimeoutError
from harness.host_facts import host_of
from harness.versioning import expect_versions
from harness.wait import wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from harness.stack import Stack

pytestmark = pytest.mark.jupyterhub
# The checks this module runs; collection fails unless they match its checks exactly.
CHECK_IDS = (
    "jupyterhub.api-version",
    "jupyterhub.login",
    "jupyterhub.login-refused",
    "jupyterhub.api-auth",
    "jupyterhub.spawn",
    "jupyterhub.kernel",
    "jupyterhub.storage",
    "jupyterhub.stop-server",
)
SPAWN_TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def hub(stack: Stack) -> str:
    """The hub's public URL (through its proxy)."""
    return stack.tools["jupyterhub"].endpoints["hub"]


@pytest.fixture(scope="module")
def password(stack: Stack) -> str:
    """The shared password of the DummyAuthenticator."""
    authenticator = stack.tools["jupyterhub"].expect.get("authenticator")
    if authenticator != "dummy":
        pytest.skip(f"the stack's hub authenticates with {authenticator!r}, not the shared "
                    "password of the DummyAuthenticator (jupyterhub.oauth-* checks cover it)")
    return stack.secret("jupyterhub", "dummy_password")


def user_token(hub: str, username: str, password: str) -> requests.Response:
    """Ask the hub for an API token, authenticating with username and password."""
    return requests.post(f"{hub}/hub/api/users/{username}/tokens", timeout=30,
                         json={"auth": {"username": username, "password": password},
                               "note": "conformance", "expires_in": 3600})


def start_server(hub: str, username: str, token: str, hub_log: Path | None = None) -> str:
    """Start the user's default server through the API, wait until ready; return its URL.

    A spawn that fails says why: the hub's answer and, where the hub's log is readable
    (`logs/jupyterhub.log` beside a local stack file), the spawner's own output.
    """
    headers = {"Authorization": f"token {token}"}
    response = requests.post(f"{hub}/hub/api/users/{username}/server", headers=headers,
                             timeout=60)
    expect("jupyterhub", response.status_code in {201, 202}, "201 or 202 from POST .../server",
           f"{response.status_code} {response.text[:200]}{spawner_output(hub_log)}")

    seen: dict[str, Any] = {}

    def ready() -> bool:
        model = requests.get(f"{hub}/hub/api/users/{username}", headers=headers, timeout=10)
        seen["server"] = model.json().get("servers", {}).get("")
        return bool(seen["server"] and seen["server"].get("ready"))

    def dropped() -> str | None:  # a failed spawn leaves the user without a server
        return "the hub dropped it" if "server" in seen and not seen["server"] else None

    try:
        wait_until(ready, timeout_s=SPAWN_TIMEOUT_S, what=f"server of {username}",
                   interval_s=0.5, fail_fast=dropped)
    except WaitTimeoutError as exc:
        raise AssertionError(f"jupyterhub: expected the server of {username} ready within "
                             f"{SPAWN_TIMEOUT_S:g}s, got {exc}{spawner_output(hub_log)}"
                             ) from None
    return f"{hub}/user/{username}"


def spawner_output(hub_log: Path | None, lines: int = 15) -> str:
    """The spawner's own output since the hub's last `Spawning` line, as a message suffix."""
    if hub_log is None or not hub_log.is_file():
        return ""
    logged = hub_log.read_text(encoding="utf-8", errors="replace").splitlines()
    starts = [i for i, line in enumerate(logged) if " JupyterHub spawner" in line
              and "Spawning " in line]
    if not starts:
        return ""
    # The hub's own lines name `JupyterHub`, their tracebacks are indented: skip both.
    own = [line for line in logged[starts[-1] + 1:]
           if " JupyterHub " not in line and not line.startswith("    ")]
    return f"; spawner output: {' | '.join(own[-lines:]) or '(none)'}"


def stop_server(hub: str, username: str, token: str) -> None:
    """Stop the user's server and wait until the hub reports it gone."""
    headers = {"Authorization": f"token {token}"}
    requests.delete(f"{hub}/hub/api/users/{username}/server", headers=headers, timeout=60)

    def stopped() -> bool:
        model = requests.get(f"{hub}/hub/api/users/{username}", headers=headers, timeout=10)
        return "" not in model.json().get("servers", {})

    wait_until(stopped, timeout_s=SPAWN_TIMEOUT_S, what=f"stop of {username}'s server")


class User:
    """A user with a token and a running server."""

    def __init__(self, hub: str, name: str, token: str, server: str) -> None:
        self.hub, self.name, self.token, self.server = hub, name, token, server
        self.headers = {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def hub_log(stack: Stack) -> Path | None:
    """The hub's log, where a local target keeps it beside the stack file; else None."""
    path = stack.base_dir / "logs" / "jupyterhub.log"
    return path if path.is_file() else None


@pytest.fixture(scope="module")
def spawn(hub: str, password: str, hub_log: Path | None) -> Iterator[Callable[[], User]]:
    """Factory: a new user with a running server; every server is stopped afterwards."""
    users: list[User] = []

    def create() -> User:
        name = f"ci-{uuid.uuid4().hex[:8]}"
        login(hub, name, password)  # the first login creates the user; tokens need one
        response = user_token(hub, name, password)
        expect_equal("jupyterhub", "POST .../tokens with the right password", 201,
                     response.status_code)
        token = response.json()["token"]
        started = time.monotonic()
        user = User(hub, name, token, start_server(hub, name, token, hub_log))
        print(f"jupyterhub: {name}'s server ready in {time.monotonic() - started:.1f}s")
        users.append(user)
        return user

    yield create
    for user in users:
        stop_server(hub, user.name, user.token)


class Spawned:
    """The shared user's server, or why its spawn failed: judged by each check that needs
    it, so a spawn that fails is a failed check, not an error of a fixture.
    """

    def __init__(self, spawn: Callable[[], User]) -> None:
        self.user: User | None = None
        self.failure: AssertionError | None = None
        try:
            self.user = spawn()
        except AssertionError as exc:
            self.failure = exc

    def get(self) -> User:
        """The user with a running server; raises the spawn's failure."""
        if self.failure is not None:
            raise AssertionError(str(self.failure))
        assert self.user is not None
        return self.user


@pytest.fixture(scope="module")
def user(spawn: Callable[[], User]) -> Spawned:
    """One user whose server the checks share."""
    return Spawned(spawn)


def run_code(user: User, code: str, timeout_s: float = 120.0) -> str:
    """Start a kernel in the user's server, execute `code` over its websocket, return stdout.

    A kernel's first start on a loaded two-core machine was seen to take over 60 s; the budget
    bounds the kernel's reply, it is not retried.
    """
    import websocket

    response = requests.post(f"{user.server}/api/kernels", headers=user.headers, json={},
                             timeout=60)
    expect_equal("jupyterhub", "POST /api/kernels status", 201, response.status_code)
    kernel = response.json()["id"]
    ws_url = user.server.replace("http", "ws", 1) + f"/api/kernels/{kernel}/channels"
    try:
        connection = websocket.create_connection(
            ws_url, header=[f"Authorization: token {user.token}"], timeout=timeout_s)
    except websocket.WebSocketException as exc:
        requests.delete(f"{user.server}/api/kernels/{kernel}", headers=user.headers, timeout=30)
        raise AssertionError(f"jupyterhub: expected a websocket to kernel {kernel} of "
                             f"{user.name}'s server, got {str(exc).split(' -+-+- ')[0]}: "
                             f"{str(exc).rsplit(' -+-+- ', 1)[-1]}") from None
    msg_id = uuid.uuid4().hex
    header = {"msg_id": msg_id, "msg_type": "execute_request", "username": user.name,
              "session": uuid.uuid4().hex, "version": "5.3", "date": ""}
    content = {"code": code, "silent": False, "store_history": False, "user_expressions": {},
               "allow_stdin": False, "stop_on_error": True}
    try:
        connection.send(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                    "content": content, "channel": "shell", "buffers": []}))
        return _collect_stdout(connection, msg_id, time.monotonic() + timeout_s)
    finally:
        connection.close()
        requests.delete(f"{user.server}/api/kernels/{kernel}", headers=user.headers, timeout=30)


def _collect_stdout(connection: Any, msg_id: str, deadline: float) -> str:
    output: list[str] = []
    while time.monotonic() < deadline:
        message = json.loads(connection.recv())
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = message["msg_type"], message["content"]
        if kind == "stream" and content.get("name") == "stdout":
            output.append(content["text"])
        elif kind == "error":
            raise AssertionError(f"jupyterhub: kernel raised {content['ename']}: "
                                 f"{content['evalue']}")
        elif kind == "status" and content.get("execution_state") == "idle":
            return "".join(output)
    raise AssertionError("jupyterhub: kernel did not finish executing in time")


@pytest.mark.check("jupyterhub.api-version")
def test_api_version(stack: Stack, hub: str, record_version: Callable[[str, str, str], None]
                     ) -> None:
    """The hub API root answers with the hub's version: the one the target says it runs, of
    the series of the jupyterhub library users' servers talk to it with.
    """
    response = requests.get(f"{hub}/hub/api", timeout=10)
    expect_equal("jupyterhub", "GET /hub/api status", 200, response.status_code)
    version = str(response.json().get("version", ""))
    expect("jupyterhub", version[:1].isdigit(), "a version number from /hub/api", version)
    import jupyterhub

    # Users' servers talk to the hub with the jupyterhub library where they run: the target
    # says which (`singleuser`); without it, the harness's (a stack made by other means).
    singleuser = stack.tools["jupyterhub"].versions.get("singleuser") or jupyterhub.__version__
    record_version("jupyterhub", "hub", version)
    record_version("jupyterhub", "client", jupyterhub.__version__)
    record_version("jupyterhub", "singleuser", singleuser)
    expect_versions("jupyterhub", "hub's /hub/api", version,
                    claimed=stack.tools["jupyterhub"].versions.get("hub"), client=singleuser)


def login(hub: str, username: str, password: str) -> requests.Session:
    """Log in through the hub's login form; return the session (cookies set on success)."""
    session = requests.Session()
    session.get(f"{hub}/hub/login", timeout=30)  # sets the _xsrf cookie the form needs
    session.post(f"{hub}/hub/login?next=", timeout=30, allow_redirects=False,
                 data={"username": username, "password": password,
                       "_xsrf": session.cookies.get("_xsrf", "")})
    return session


@pytest.mark.check("jupyterhub.login")
def test_login_gives_session(hub: str, password: str) -> None:
    """The right password gives a session that the hub knows as that user."""
    name = f"ci-{uuid.uuid4().hex[:8]}"
    session = login(hub, name, password)
    home = session.get(f"{hub}/hub/home", timeout=30, allow_redirects=False)
    expect_equal("jupyterhub", "GET /hub/home with the session", 200, home.status_code)
    expect("jupyterhub", name in home.text, f"the home page to greet {name!r}")


@pytest.mark.check("jupyterhub.login-refused")
def test_wrong_password_refused(hub: str, password: str) -> None:
    """A wrong password gives neither a session nor an API token."""
    name = f"ci-{uuid.uuid4().hex[:8]}"
    wrong = password + "-wrong"
    session = login(hub, name, wrong)
    home = session.get(f"{hub}/hub/home", timeout=30, allow_redirects=False)
    expect("jupyterhub", home.status_code in {302, 303} and "/hub/login" in
           home.headers.get("Location", ""), "a redirect to the login page without a session",
           f"{home.status_code} {home.headers.get('Location')}")
    refused = user_token(hub, name, wrong)
    expect("jupyterhub", refused.status_code in {401, 403}, "POST .../tokens refused",
           refused.status_code)


@pytest.mark.check("jupyterhub.api-auth")
def test_unauthenticated_api_refused(hub: str) -> None:
    """The API refuses a request without a token, and one with a made-up token."""
    anonymous = requests.get(f"{hub}/hub/api/users", timeout=10)
    expect("jupyterhub", anonymous.status_code in {401, 403},
           "GET /hub/api/users without a token refused", anonymous.status_code)
    forged = requests.get(f"{hub}/hub/api/users", timeout=10,
                          headers={"Authorization": f"token {secrets.token_hex(16)}"})
    expect("jupyterhub", forged.status_code in {401, 403},
           "GET /hub/api/users with a made-up token refused", forged.status_code)


@pytest.mark.check("jupyterhub.spawn")
def test_spawn_reaches_ready(user: Spawned) -> None:
    """A server started through the API answers through the proxy, as its user."""
    served = user.get()
    status = requests.get(f"{served.server}/api/status", headers=served.headers, timeout=30)
    expect_equal("jupyterhub", "GET /user/NAME/api/status", 200, status.status_code)
    me = requests.get(f"{served.hub}/hub/api/user", headers=served.headers, timeout=10).json()
    expect_equal("jupyterhub", "user the token belongs to", served.name, me.get("name"))
    expect("jupyterhub", me.get("servers", {}).get("", {}).get("ready"),
           "the hub to report the server ready", me.get("servers"))


@pytest.mark.check("jupyterhub.kernel")
def test_kernel_executes(user: Spawned) -> None:
    """Code sent over a kernel's websocket runs, and its output comes back."""
    served = user.get()
    n = secrets.randbelow(10_000) + 10
    output = run_code(served, f"print(sum(range({n})))")
    expect_equal("jupyterhub", f"kernel output of sum(range({n}))", str(n * (n - 1) // 2),
                 output.strip())


@pytest.mark.check("jupyterhub.storage")
def test_storage_writable(stack: Stack, user: Spawned) -> None:
    """`singleuser_storage_mount_path` exists in the user's server, is writable, and what the
    server writes there reads back where the server runs (inside its pod on a cluster, where
    the path must also be a mounted volume, or the user's files die with the pod).
    """
    served = user.get()
    expected = stack.tools["jupyterhub"].expect
    path = expected["storage_path"].format(username=served.name)
    payload = secrets.token_hex(16)
    code = (f"import os, pathlib, socket\np = pathlib.Path({path!r})\n"
            f"print(socket.gethostname(), p.is_dir(), os.access(p, os.W_OK))\n"
            f"if p.is_dir():\n"
            f"    (p / 'conformance-probe.txt').write_text({payload!r})\n"
            f"    print((p / 'conformance-probe.txt').read_text())")
    hostname, *lines = run_code(served, code).split()
    expect_equal("jupyterhub", f"{path} is a directory and writable", ["True", "True"],
                 lines[:2])
    expect_equal("jupyterhub", "content read back by the server from the storage path",
                 [payload], lines[2:3])
    place = host_of(stack, "jupyterhub", hostname)
    probe = f"{path.rstrip('/')}/conformance-probe.txt"
    expect_equal("jupyterhub", f"content of {probe} read {place.where}", payload,
                 place.read_text(probe))
    if expected.get("storage_volume"):
        expect("jupyterhub", place.is_mount_point(path),
               f"{path} to be a mounted volume {place.where}", "a directory of the pod's own")


@pytest.mark.check("jupyterhub.stop-server")
def test_stop_server_stops_process(spawn: Callable[[], User]) -> None:
    """Stopping a user's server through the API ends it: the proxy route and its process."""
    import psutil

    user = spawn()
    host, pid = run_code(user, "import os, socket\nprint(socket.gethostname(), os.getppid())"
                         ).split()
    stop_server(user.hub, user.name, user.token)
    after = requests.get(f"{user.server}/api/status", headers=user.headers, timeout=30,
                         allow_redirects=False)
    expect("jupyterhub", after.status_code != 200, "the stopped server no longer to answer",
           after.status_code)
    if host == socket.gethostname():  # the server ran on this machine: its process is visible
        with contextlib.suppress(WaitTimeoutError):
            wait_until(lambda: not psutil.pid_exists(int(pid)), timeout_s=30,
                       what=f"exit of {user.name}'s server process {pid}")
        expect("jupyterhub", not psutil.pid_exists(int(pid)),
               f"{user.name}'s server process {pid} to exit within 30s", "still running")
