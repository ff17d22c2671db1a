"""Who may change the index over HTTP (upload, delete, reindex): whoever has the admin token.

The rule, in full:

- `QA_ADMIN_TOKEN` set: a request that sends `Authorization: Bearer <token>` may change the
  index; any other gets 401.
- Not set, and the server listens on this machine only (127.0.0.1, ::1, localhost): `qa serve`
  makes a random token for the session and prints the Documents link that carries it
  (`http://127.0.0.1:7860/documents#token=…`). So the person who started the server — who can
  read its terminal — may change the index, and nobody else: not another user of the machine,
  not a web page that makes the browser post to 127.0.0.1 (it can't know the token), not a
  site whose name resolves to 127.0.0.1. The token travels in the link's fragment, which
  browsers never send to a server, and the Documents page keeps it for the tab only.
- Not set, and the server listens on a network address: changing the index over HTTP is off
  (403, saying how to turn it on). Visitors can still read the Documents list.

Reading (the chat, answers, the document list and pages) never needs the token.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets

from ..config import Settings
from .http import ApiError

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


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


def session_token(settings: Settings) -> Settings:
    """`settings` with a random admin token for this run when none is set and the server
    stays on this machine (see the module's rule); otherwise `settings` unchanged."""
    if settings.admin_token or not is_loopback(settings.host):
        return settings
    return settings.with_overrides(admin_token=secrets.token_urlsafe(18))


def may_change(settings: Settings, token: str | None) -> bool:
    """Whether a request bearing `token` may change the index (compared in constant time)."""
    if not settings.admin_token or not token:
        return False
    return hmac.compare_digest(token.encode(), settings.admin_token.encode())


def require_change(settings: Settings, token: str | None) -> None:
    """Raises `ApiError` unless `token` may change the index: 403 when changes over HTTP are
    off, 401 for a missing or wrong token."""
    if not settings.admin_token:
        raise ApiError(403, "changes_off",
                       "changing the index over HTTP is off on this server: start it with "
                       "QA_ADMIN_TOKEN set, or with `qa serve` on 127.0.0.1, which prints a "
                       "link with a token for the session")
    if not may_change(settings, token):
        raise ApiError(401, "unauthorized",
                       "changing the index needs the admin token: send "
                       "`Authorization: Bearer <QA_ADMIN_TOKEN>`",
                       headers={"WWW-Authenticate": "Bearer"})
