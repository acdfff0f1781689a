"""Web sessions: the Cognito ID token in an HttpOnly cookie, and a CSRF token bound to it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from http.cookies import SimpleCookie

from ..adapters import identity
from ..adapters.identity import AuthError, Principal
from ..domain.errors import ForbiddenError
from ..settings import derived_key, get_settings

SESSION_COOKIE = "silastri_session"


def _secure() -> str:
    return "; Secure" if get_settings().public_base_url.startswith("https://") else ""


def set_cookie_header(id_token: str, max_age: int) -> str:
    return f"{SESSION_COOKIE}={id_token}; Max-Age={int(max_age)}; Path=/; HttpOnly; SameSite=Lax{_secure()}"


def clear_cookie_header() -> str:
    return f"{SESSION_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax{_secure()}"


def session_token(headers: Mapping[str, str]) -> str | None:
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


def principal_from_headers(headers: Mapping[str, str]) -> Principal | None:
    """The verified session's principal, or None when there is no valid session cookie."""
    token = session_token(headers)
    if not token:
        return None
    try:
        return identity.verify_token(token)
    except AuthError:
        return None


def _key() -> bytes:
    return derived_key("csrf")


def csrf_token(principal: Principal) -> str:
    """Bound to the user and to this login (the token's issue time)."""
    return hmac.new(_key(), f"{principal.user_id}:{principal.issued_at}".encode(), hashlib.sha256).hexdigest()


def check_csrf(principal: Principal, token: str | None) -> None:
    if not token or not hmac.compare_digest(token, csrf_token(principal)):
        raise ForbiddenError("sesi formulir tidak valid; muat ulang halaman", field="csrf_token")
