"""Signed, expiring links to a task page, for e-mail and WhatsApp messages.

A link carries the task id, an expiry and an HMAC — never the task token. Opening it only shows the
task page (after login); deciding is an authenticated POST with a CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import time

from ..domain.errors import ForbiddenError
from ..settings import derived_key, get_settings

LINK_SECONDS = 7 * 24 * 3600


def _signature(task_id: str, expires: int) -> str:
    return hmac.new(derived_key("links"), f"task:{task_id}:{expires}".encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:40]


def task_link(task_id: str, ttl_seconds: int = LINK_SECONDS, now: float | None = None) -> str:
    """The signed task-page URL, valid for `ttl_seconds` seconds (default 7 days) from `now` (epoch seconds)."""
    expires = int((now if now is not None else time.time()) + ttl_seconds)
    return f"{get_settings().public_base_url.rstrip('/')}/petugas/tugas/{task_id}?l={expires}.{_signature(task_id, expires)}"


def check_task_link(task_id: str, value: str | None, now: float | None = None) -> None:
    """Raise ForbiddenError for a tampered, foreign or expired link."""
    try:
        expires_text, signature = (value or "").split(".", 1)
        if not expires_text.isascii() or not expires_text.isdigit() or len(expires_text) > 12:
            raise ValueError("not an expiry")
        expires = int(expires_text)
    except (ValueError, AttributeError, TypeError):
        raise ForbiddenError("tautan tidak valid", field="link") from None
    if len(signature) > 64 or not hmac.compare_digest(signature.encode("utf-8", "surrogatepass"),
                                                      _signature(task_id, expires).encode()):
        raise ForbiddenError("tautan tidak valid", field="link")
    if expires < (now if now is not None else time.time()):
        raise ForbiddenError("tautan sudah kedaluwarsa; buka tugas dari dasbor", field="link")
