"""The GitHub stand-in's state: its config, OAuth apps, users, one-time codes and tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from harness.errors import BadInputError

if TYPE_CHECKING:
    from harness.scenario import Scenario

CODE_TTL_S = 600.0  # GitHub: "codes expire after 10 minutes"
_BAD_CODE = "The code passed is incorrect or expired."
_EXCHANGE_DOCS = ("https://docs.github.com/apps/managing-oauth-apps/"
                 "troubleshooting-oauth-app-access-token-request-errors/")
# GitHub's `error_uri` per error code, as its token and authorize endpoints answer.
ERROR_URIS = {
    "incorrect_client_credentials": _EXCHANGE_DOCS + "#incorrect-client-credentials",
    "bad_verification_code": _EXCHANGE_DOCS + "#bad-verification-code",
    "redirect_uri_mismatch": "https://docs.github.com/apps/managing-oauth-apps/"
                             "troubleshooting-authorization-request-errors/#redirect-uri-mismatch",
}
REDIRECT_MISMATCH = ("The redirect_uri MUST match the registered callback URL for this "
                     "application.")
# GitHub lets a loopback redirect_uri use any port (its docs: "Loopback redirect urls").
_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class OAuthApp(BaseModel):
    """A registered OAuth app, as on GitHub's developer settings page."""

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    callback_url: str = Field(min_length=1, description="The app's registered callback URL.")


class User(BaseModel):
    """A GitHub account: its organisations (memberships private, GitHub's default)."""

    model_config = ConfigDict(extra="forbid")

    orgs: list[str] = Field(default_factory=list)
    email: str | None = None
    name: str | None = None


class StandInConfig(BaseModel):
    """The stand-in's config file (JSON), written by the harness from a scenario."""

    model_config = ConfigDict(extra="forbid")

    apps: list[OAuthApp] = Field(min_length=1)
    users: dict[str, User] = Field(default_factory=dict)

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, *, client_secret: str, callback_url: str
    ) -> StandInConfig:
        """The OAuth app of `oauth_github_client_id` and the accounts of `local.github`.

        `callback_url` is the hub's real callback on this target (the scenario's
        `oauth_github_callback_url` names a cluster's hub).

        Raises:
            BadInputError: the scenario gives the stand-in no accounts.

        """
        if scenario.local.github is None or not scenario.local.github.users:
            msg = (f"{scenario.path}: field 'local.github': the local GitHub stand-in needs "
                   "accounts, e.g. `github: {users: {ada: [my-org]}}`")
            raise BadInputError(msg)
        app = OAuthApp(client_id=str(scenario.var("oauth_github_client_id")),
                       client_secret=client_secret, callback_url=callback_url)
        users = {login: User(orgs=orgs) for login, orgs in scenario.local.github.users.items()}
        return cls(apps=[app], users=users)


class OAuthError(Exception):
    """A token request GitHub refuses: `error` is GitHub's code, the message its description."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description

    @property
    def uri(self) -> str:
        """GitHub's documentation page for this error (its `error_uri`)."""
        return ERROR_URIS.get(self.error, "https://docs.github.com/apps/oauth-apps")


@dataclass
class _Grant:
    client_id: str
    login: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    issued_at: float = field(default_factory=time.monotonic)
    used: bool = False
    tokens: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Token:
    """An access token: who it acts for and which scopes were granted."""

    login: str
    scopes: tuple[str, ...]


class GitHubState:
    """Everything the stand-in remembers; thread-safe (one server thread per request)."""

    def __init__(self, config: StandInConfig) -> None:
        self.config = config
        self._apps = {app.client_id: app for app in config.apps}
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def app(self, client_id: str) -> OAuthApp | None:
        """The registered app with `client_id`, if any."""
        return self._apps.get(client_id)

    def user(self, login: str) -> User | None:
        """The account `login`, if the config has it."""
        return self.config.users.get(login)

    def grant(
        self, app: OAuthApp, login: str, redirect_uri: str, scopes: tuple[str, ...],
        challenge: str | None,
    ) -> str:
        """Record that `login` authorized `app`; return the one-time code for the callback."""
        code = secrets.token_hex(10)  # GitHub's codes are 20 hex digits
        with self._lock:
            self._codes[code] = _Grant(app.client_id, login, redirect_uri, scopes, challenge)
        return code

    def exchange(
        self, client_id: str, client_secret: str, code: str, redirect_uri: str,
        verifier: str | None,
    ) -> tuple[str, Token]:
        """Trade a code for an access token, checking everything GitHub checks.

        Raises:
            OAuthError: bad client credentials, unknown/expired/reused code, wrong redirect_uri
                or PKCE verifier. A reused code also revokes the tokens it gave (RFC 6749 4.1.2).

        """
        app = self._apps.get(client_id)
        if app is None or not hmac.compare_digest(app.client_secret, client_secret):
            raise OAuthError("incorrect_client_credentials",
                             "The client_id and/or client_secret passed are incorrect.")
        with self._lock:
            grant = self._codes.get(code)
            if grant is None or grant.client_id != client_id:
                raise OAuthError("bad_verification_code", _BAD_CODE)
            if grant.used:
                for token in grant.tokens:
                    self._tokens.pop(token, None)
                raise OAuthError("bad_verification_code", _BAD_CODE)
            grant.used = True
            if time.monotonic() - grant.issued_at > CODE_TTL_S:
                raise OAuthError("bad_verification_code", _BAD_CODE)
            # GitHub matches it "against the URI originally provided when the code was issued".
            if redirect_uri and redirect_uri != grant.redirect_uri:
                raise OAuthError("redirect_uri_mismatch", REDIRECT_MISMATCH)
            if grant.challenge is not None and not _pkce_matches(grant.challenge, verifier):
                raise OAuthError("bad_verification_code",
                                 "The code_verifier does not match the code_challenge.")
            token = "gho_" + secrets.token_urlsafe(27)[:36]
            self._tokens[token] = Token(grant.login, grant.scopes)
            grant.tokens.append(token)
            return token, self._tokens[token]

    def token(self, value: str) -> Token | None:
        """The token `value` stands for, if it is live."""
        with self._lock:
            return self._tokens.get(value)


def redirect_allowed(callback_url: str, redirect_uri: str) -> bool:
    """GitHub's rule: the host (or a sub-domain of it) and the port of the callback URL, any
    port on a loopback host, and a path at or below the callback's. The scheme must match too
    (GitHub's docs do not say; the stand-in is strict).

    >>> redirect_allowed("http://example.com/path", "http://oauth.example.com/path/subdir")
    True
    >>> redirect_allowed("http://example.com/path", "http://example.com:8080/path")
    False
    >>> redirect_allowed("http://127.0.0.1:8/hub/callback", "http://127.0.0.1:9/hub/callback")
    True
    """
    registered, given = urlsplit(callback_url), urlsplit(redirect_uri)
    if registered.scheme != given.scheme:
        return False
    host, asked = registered.hostname or "", given.hostname or ""
    if asked != host and not asked.endswith("." + host):
        return False
    default = _DEFAULT_PORTS.get(registered.scheme)
    if host not in _LOOPBACK and (registered.port or default) != (given.port or default):
        return False
    base = registered.path.rstrip("/")
    return given.path == registered.path or given.path.startswith(base + "/")


def _pkce_matches(challenge: str, verifier: str | None) -> bool:
    if not verifier:
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return hmac.compare_digest(expected, challenge)
