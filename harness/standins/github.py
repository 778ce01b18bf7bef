"""A local GitHub stand-in: the OAuth2 code flow and REST API calls GitHubOAuthenticator makes.

Run it as its own process: `python -m harness.standins.github --port P --config FILE`
(FILE: JSON, see `StandInConfig`). Point the authenticator's `github_url` at
`http://127.0.0.1:P`; it then calls `/login/oauth/authorize`, `/login/oauth/access_token`
and the API under `/api/v3` (`/user`, `/user/emails`, `/orgs/{org}/members/{user}`).

Stand-in affordance, where a person would click on github.com: the authorize page signs in
as `login=<user>` (GitHub's own "suggested account" parameter) and approves at once,
redirecting to the callback with `code` and `state`. Without `login` it lists the users.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import html
import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import ValidationError

from harness.standins._github_state import (
    ERROR_URIS,
    REDIRECT_MISMATCH,
    GitHubState,
    OAuthError,
    StandInConfig,
    Token,
    User,
    redirect_allowed,
)

__all__ = ["GitHubState", "StandInConfig", "main", "serve"]

API = "/api/v3"
_DOCS = "https://docs.github.com/rest"


class _Handler(BaseHTTPRequestHandler):
    """One request; routes on path like github.com and GitHub Enterprise Server do."""

    state: ClassVar[GitHubState]
    server_version = "GitHub.com-standin"

    def log_message(self, format: str, *args: Any) -> None:
        # Query strings hold codes and state: log method and path only.
        status = args[1] if len(args) > 1 else ""
        sys.stderr.write(f"{self.command} {urlsplit(self.path).path} {status}\n")

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        if url.path == "/health":
            self._send(HTTPStatus.OK, b"ok", "text/plain")
        elif url.path == "/login/oauth/authorize":
            self._authorize(query)
        elif url.path.startswith(API + "/"):
            self._api(url.path.removeprefix(API))
        else:
            self._json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/login/oauth/access_token":
            self._json(HTTPStatus.NOT_FOUND, {"message": "Not Found"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = dict(parse_qsl(self.rfile.read(length).decode("utf-8")))
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = self.headers.get("Authorization", "")
        if basic.lower().startswith("basic "):  # oauthenticator's `basic_auth = True`
            try:
                decoded = base64.b64decode(basic[6:], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ":"  # unreadable credentials are wrong credentials
            client_id, _, client_secret = decoded.partition(":")
        try:
            token, granted = self.state.exchange(
                client_id, client_secret, form.get("code", ""), form.get("redirect_uri", ""),
                form.get("code_verifier"))
            scope = ",".join(granted.scopes)  # GitHub separates granted scopes with commas
            body = {"access_token": token, "token_type": "bearer", "scope": scope}
        except OAuthError as exc:
            # GitHub answers a refused exchange with 200 and an error document.
            body = {"error": exc.error, "error_description": exc.description,
                    "error_uri": exc.uri}
        if "application/json" in self.headers.get("Accept", ""):
            self._json(HTTPStatus.OK, body)
        else:
            self._send(HTTPStatus.OK, urlencode(body).encode(), "application/x-www-form-urlencoded")

    def _authorize(self, query: dict[str, str]) -> None:
        app = self.state.app(query.get("client_id", ""))
        if app is None:
            self._send(HTTPStatus.NOT_FOUND, b"<h1>404</h1><p>No OAuth app has this client_id.")
            return
        redirect_uri = query.get("redirect_uri") or app.callback_url
        state = query.get("state", "")
        if not redirect_allowed(app.callback_url, redirect_uri):
            # GitHub sends the browser to the registered callback URL with the error.
            self._redirect(app.callback_url, {
                "error": "redirect_uri_mismatch", "error_description": REDIRECT_MISMATCH,
                "error_uri": ERROR_URIS["redirect_uri_mismatch"], "state": state})
            return
        login = query.get("login", "")
        if not login:
            self._sign_in_page(query)
            return
        if self.state.user(login) is None:
            page = f"<p>No account {html.escape(login)!r} in the stand-in.</p>"
            self._send(HTTPStatus.FORBIDDEN, page.encode())
            return
        method = query.get("code_challenge_method", "S256")
        challenge = query.get("code_challenge")
        if challenge is not None and method != "S256":
            self._redirect(redirect_uri, {"error": "invalid_request", "state": state,
                                          "error_description": "code_challenge_method: S256"})
            return
        scopes = tuple(s for s in query.get("scope", "").replace(",", " ").split() if s)
        code = self.state.grant(app, login, redirect_uri, scopes, challenge)
        self._redirect(redirect_uri, {"code": code, "state": state} if state else {"code": code})

    def _sign_in_page(self, query: dict[str, str]) -> None:
        links = "".join(
            f'<li><a href="?{html.escape(urlencode({**query, "login": name}))}">'
            f"{html.escape(name)}</a></li>"
            for name in sorted(self.state.config.users))
        self._send(HTTPStatus.OK, f"<h1>Sign in to GitHub (stand-in)</h1><ul>{links}</ul>".encode())

    def _api(self, path: str) -> None:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in {"token", "bearer"} or not value:
            self._json(HTTPStatus.UNAUTHORIZED, {"message": "Requires authentication",
                                                 "documentation_url": _DOCS})
            return
        token = self.state.token(value.strip())
        if token is None:
            self._json(HTTPStatus.UNAUTHORIZED, {"message": "Bad credentials",
                                                 "documentation_url": _DOCS})
            return
        parts = path.strip("/").split("/")
        me = self.state.user(token.login) or User()  # tokens go to configured users only
        if parts == ["user"]:
            self._json(HTTPStatus.OK, {"login": token.login, "id": _user_id(token.login),
                                       "type": "User", "site_admin": False, "name": me.name,
                                       "email": None}, token)
        elif parts == ["user", "emails"] and {"user", "user:email"} & set(token.scopes):
            email = me.email or f"{token.login}@users.noreply.github.com"
            self._json(HTTPStatus.OK, [{"email": email, "primary": True, "verified": True,
                                        "visibility": "private"}], token)
        elif len(parts) == 4 and parts[0] == "orgs" and parts[2] == "members":
            self._membership(token, parts[1], parts[3])
        elif len(parts) == 4 and parts[0] == "orgs" and parts[2] == "public_members":
            # Memberships are private (GitHub's default): never listed publicly.
            self._json(HTTPStatus.NOT_FOUND, {"message": "Not Found"}, token)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"message": "Not Found"}, token)

    def _membership(self, token: Token, org: str, login: str) -> None:
        me = self.state.user(token.login)
        requester_sees_org = me is not None and org in me.orgs and "read:org" in token.scopes
        if not requester_sees_org:
            # GitHub: a requester who cannot see the org's members is sent to the public list.
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", f"{API}/orgs/{org}/public_members/{login}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        member = self.state.user(login)
        if member is not None and org in member.orgs:
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()
        else:
            self._json(HTTPStatus.NOT_FOUND, {"message": "Not Found"}, token)

    def _redirect(self, url: str, params: dict[str, str]) -> None:
        joiner = "&" if urlsplit(url).query else "?"
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", url + joiner + urlencode(params))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _json(self, status: HTTPStatus, body: object, token: Token | None = None) -> None:
        extra = {"X-OAuth-Scopes": ", ".join(token.scopes)} if token is not None else {}
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8", extra)

    def _send(self, status: HTTPStatus, body: bytes, content_type: str = "text/html",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


def _user_id(login: str) -> int:
    # A stable numeric id per login, as GitHub's accounts have.
    return int.from_bytes(login.encode()[:6].ljust(6, b"\0"), "big") % 10**8


def serve(config: StandInConfig, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Start the stand-in in a daemon thread; `server.shutdown()` stops it."""
    handler = type("GitHubHandler", (_Handler,), {"state": GitHubState(config)})
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, name="github-standin", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    """Entry point: serve until terminated. Exit 2 on an unreadable or invalid config."""
    parser = argparse.ArgumentParser(prog="python -m harness.standins.github", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    parser.add_argument("--config", type=Path, required=True, help="JSON config (StandInConfig)")
    args = parser.parse_args(argv)
    try:
        config = StandInConfig.model_validate_json(args.config.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        print(f"{args.config}: not a usable stand-in config: {exc}", file=sys.stderr)
        return 2
    server = serve(config, args.port)
    print(f"GitHub stand-in on http://127.0.0.1:{server.server_port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
