"""Web sessions: the Cognito ID token in an HttpOnly cookie, and a CSRF token bound to it."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from http.cookies import SimpleCookie

from ..adapters import identity
from ..adapters.identity import AuthError, Principal
from ..domain.errors import ForbiddenError
from ..settings import derived_key, get_settings

SESSION_COOKIE = "silastri_session"
#: A JWT in compact form: three base64url parts; ID tokens are a few kB (larger is refused unread).
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_MAX_TOKEN = 16_384


def _secure() -> str:
    return "; Secure" if get_settings().public_base_url.startswith("https://") else ""


def set_cookie_header(id_token: str, max_age: int) -> str:
    """The Set-Cookie value holding the ID token for `max_age` seconds (HttpOnly, SameSite=Lax, Secure on https)."""
    return f"{SESSION_COOKIE}={id_token}; Max-Age={int(max_age)}; Path=/; HttpOnly; SameSite=Lax{_secure()}"


def clear_cookie_header() -> str:
    """The Set-Cookie value that ends the session."""
    return f"{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{_secure()}"


def session_token(headers: Mapping[str, str]) -> str | None:
    """The session cookie's value, or None (also for a Cookie header that cannot be parsed)."""
    raw = headers.get("cookie") or headers.get("Cookie")
    if not raw:
        return None
    cookie: SimpleCookie = SimpleCookie()
    try:
        cookie.load(raw)
    except Exception:  # a malformed Cookie header is treated as no session
        return None
    morsel = cookie.get(SESSION_COOKIE)
    return morsel.value if morsel and morsel.value else None


def verify(token: str) -> Principal:
    """The principal of a Bearer or cookie token; AuthError (401) for anything that is not a valid ID token,
    including tokens that are not even shaped like a JWT (non-ASCII, oversized) — those are never parsed."""
    if not isinstance(token, str) or len(token) > _MAX_TOKEN or not _JWT.fullmatch(token):
        raise AuthError("sesi tidak valid atau kedaluwarsa; silakan masuk lagi")
    return identity.verify_token(token)


def principal_from_headers(headers: Mapping[str, str]) -> Principal | None:
    """The verified session's principal, or None when there is no valid session cookie."""
    token = session_token(headers)
    if not token:
        return None
    try:
        return verify(token)
    except AuthError:
        return None


def _key() -> bytes:
    return derived_key("csrf")


def csrf_token(principal: Principal) -> str:
    """Bound to the user and to this login (the token's issue time)."""
    return hmac.new(_key(), f"{principal.user_id}:{principal.issued_at}".encode(), hashlib.sha256).hexdigest()


def check_csrf(principal: Principal, token: str | None) -> None:
    """ForbiddenError (403) unless `token` is this session's CSRF token (compared as bytes, constant time)."""
    if not isinstance(token, str) or not token or not hmac.compare_digest(
            token.encode("utf-8", "surrogatepass"), csrf_token(principal).encode()):
        raise ForbiddenError("sesi formulir tidak valid; muat ulang halaman", field="csrf_token")
