"""Who may change the index over HTTP (upload, delete, reindex): whoever has the admin token.

The rule, in full:

- `QA_ADMIN_TOKEN` set: it must be at least `min_admin_token_chars` (16) long, or the server
  does not start. A request that sends `Authorization: Bearer <token>` may change the index;
  any other gets 401.
- Not set, and the server listens on this machine only (127.0.0.1, ::1, localhost): `qa serve`
  makes a random token for the session and prints the Documents link that carries it
  (`http://127.0.0.1:7860/documents#token=…`). So the person who started the server — who can
  read its terminal — may change the index, and nobody else: not another user of the machine,
  not a web page that makes the browser post to 127.0.0.1 (it can't know the token), not a
  site whose name resolves to 127.0.0.1 (its `Host` header is refused anyway). The token
  travels in the link's fragment, which browsers never send to a server, and the Documents
  page keeps it for the tab only.
- Not set, and the server listens on a network address: changing the index over HTTP is off
  (403, saying how to turn it on). Visitors can still read the Documents list.
- Guessing is bounded: a client address that sends a wrong (or no) token
  `auth_failures_per_minute` times within a minute is refused with 429 until its oldest
  failure is a minute old — even with the right token. This counts every place a token is
  checked, the document listing's `can_change` included, so no route is a free oracle.

Reading (the chat, answers, the document list and pages) never needs the token.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import secrets
import threading
import time
from collections import deque

from ..config import Settings
from ..errors import ConfigError
from .http import ApiError

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
#: The window failed attempts are counted in.
_AUTH_WINDOW_SECONDS = 60.0
#: Random bytes in a token `qa serve` makes for a run, at the least (24 characters).
_SESSION_TOKEN_BYTES = 18


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server on this machine.

    Example:
        >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("0.0.0.0")
        (True, True, False)
    """
    name = host.strip().strip("[]").lower()
    if name in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_token(settings: Settings) -> None:
    """Refuses a configured admin token shorter than `min_admin_token_chars` (none is fine:
    changes are then off, or `qa serve` makes one).

    Raises:
        ConfigError: the token is too short, with how to make a good one.
    """
    token = settings.admin_token
    if token and len(token) < settings.min_admin_token_chars:
        raise ConfigError(
            f"QA_ADMIN_TOKEN has {len(token)} characters; it needs at least "
            f"{settings.min_admin_token_chars}. Make one with: python -c \"import secrets; "
            "print(secrets.token_urlsafe(32))\"")


def session_token(settings: Settings) -> Settings:
    """`settings` with a random admin token for this run when none is set and the server
    stays on this machine (see the module's rule); otherwise `settings` unchanged. The token
    made is never shorter than `min_admin_token_chars`.

    Raises:
        ConfigError: a configured token is too short (`check_token`).
    """
    check_token(settings)
    if settings.admin_token or not is_loopback(settings.host):
        return settings
    # token_urlsafe(n) has ceil(4n/3) >= n characters.
    size = max(_SESSION_TOKEN_BYTES, settings.min_admin_token_chars)
    return settings.with_overrides(admin_token=secrets.token_urlsafe(size))


class Access:
    """The admin-token rule of one server: checks tokens in constant time and counts failed
    attempts per client address (shared by every route that checks a token).

    Raises:
        ConfigError: the configured token is too short (`check_token`).
    """

    def __init__(self, settings: Settings) -> None:
        check_token(settings)
        self.settings = settings
        self._guard = _AuthGuard(settings.auth_failures_per_minute)

    def require(self, client: str, token: str | None) -> None:
        """Raises `ApiError` unless `token` may change the index: 403 when changes over HTTP
        are off, 429 after too many failed attempts from `client`, 401 for a missing or wrong
        token (which counts as a failed attempt)."""
        if not self.settings.admin_token:
            raise ApiError(403, "changes_off",
                           "changing the index over HTTP is off on this server: start it with "
                           "QA_ADMIN_TOKEN set, or with `qa serve` on 127.0.0.1, which prints a "
                           "link with a token for the session")
        if not self._attempt(client, token):
            raise ApiError(401, "unauthorized",
                           "changing the index needs the admin token: send "
                           "`Authorization: Bearer <QA_ADMIN_TOKEN>`",
                           headers={"WWW-Authenticate": "Bearer"})

    def may_change(self, client: str, token: str | None) -> bool:
        """Whether a request from `client` bearing `token` may change the index. Sending no
        token is just a visitor (False, nothing counted); a wrong one counts as a failed
        attempt, and past the limit this raises the same 429 as the change routes."""
        if not self.settings.admin_token or not token:
            return False
        return self._attempt(client, token)

    def _attempt(self, client: str, token: str | None) -> bool:
        self._guard.check(client)
        given = (token or "").encode()
        if hmac.compare_digest(given, self.settings.admin_token.encode()):
            return True
        self._guard.failed(client)
        return False


class _AuthGuard:
    """Counts failed token checks per client address; past the limit within a minute, the
    client is refused (429) until its oldest failure is a minute old. Guessing a token of
    `min_admin_token_chars` random characters at this rate is hopeless."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        with self._lock:
            recent = self._recent(client)
            if len(recent) < self.per_minute:
                return
            wait = max(1, math.ceil(recent[0] + _AUTH_WINDOW_SECONDS - time.monotonic()))
        raise ApiError(429, "too_many_attempts", f"too many failed attempts with the admin "
                       f"token; try again in {wait} s", headers={"Retry-After": str(wait)})

    def failed(self, client: str) -> None:
        with self._lock:
            failures = self._recent(client)
            failures.append(time.monotonic())
            self._failures[client] = failures

    def _recent(self, client: str) -> deque[float]:
        """`client`'s failures within the window (older ones dropped; a client with none left
        is forgotten, so the table holds only clients failing now)."""
        failures = self._failures.get(client, deque())
        while failures and failures[0] < time.monotonic() - _AUTH_WINDOW_SECONDS:
            failures.popleft()
        self._failures.pop(client, None)
        if failures:
            self._failures[client] = failures
        return failures
