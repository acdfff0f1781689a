"""What people see of the message log: an application's messages for its officers, and an officer's in-app inbox.

Rows name the recipient by role (Pemohon, Back Office, …), never by phone number or address; the wording is
Bahasa Indonesia (event descriptions from `notifications.EVENTS`, status labels from `message_log.STATUS_LABELS`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..adapters import dynamo, message_log
from ..adapters.identity import Principal
from ..domain import notifications, steps
from ..domain.clock import format_datetime_wib
from ..domain.errors import ForbiddenError, NotFoundError
from ..settings import get_settings

EVENT_LABELS: dict[str, str] = {event: description for event, (description, _) in notifications.EVENTS.items()}
CHANNEL_LABELS = {"whatsapp": "WhatsApp", "email": "E-mail", "inbox": "Kotak masuk"}
# statuses an officer should look at: the message may not have arrived (highlighted on the page)
ATTENTION = (message_log.FAILED, message_log.UNKNOWN, message_log.RETRYING)
_OFFICER_ROLES = frozenset(r.value for r in steps.OFFICER_ROLES)


def role_label(role: str | None) -> str:
    """`Pemohon` or the officer role's Bahasa name (from `steps.ROLE_NAMES`)."""
    return str(steps.ROLE_NAMES.get(role or "system", role or ""))


def _wib(value: str | None) -> str:
    return format_datetime_wib(datetime.fromisoformat(value)) if value else "—"


def _is_officer(principal: Principal) -> bool:
    return bool(principal.roles & _OFFICER_ROLES and principal.office_id)


def application_messages(principal: Principal, application_id: str) -> list[dict[str, Any]]:
    """The application's messages, oldest first, for officers of its office.

    Each row: message_id, event, event_label, channel, channel_label, recipient_role, recipient_label, template,
    status, status_label, reason, attempts, updated_at (ISO, UTC), updated_wib, attention (bool).
    Raises NotFoundError (unknown application) and ForbiddenError (applicants, officers of another office)."""
    app = dynamo.get_application(application_id, documents=False)
    if not _is_officer(principal):
        raise ForbiddenError("daftar pesan hanya untuk petugas", field="role")
    if principal.office_id != app.office_id:
        raise ForbiddenError("permohonan ini milik kantor lain", field="office_id")
    from . import officer_search

    if not officer_search.may_see(principal, app):
        raise ForbiddenError("permohonan ini belum diteruskan kepada tim teknis", field="application_id")
    rows = []
    for item in message_log.for_application(application_id):
        rows.append({
            "message_id": item.message_id, "event": item.event, "event_label": EVENT_LABELS.get(item.event, item.event),
            "channel": item.channel, "channel_label": CHANNEL_LABELS.get(item.channel, item.channel),
            "recipient_role": item.recipient_role, "recipient_label": role_label(item.recipient_role),
            "template": item.template, "status": item.status,
            "status_label": message_log.STATUS_LABELS.get(item.status, item.status), "reason": item.reason,
            "attempts": int(item.attempts or 0), "updated_at": item.updated_at, "updated_wib": _wib(item.updated_at),
            "attention": item.status in ATTENTION,
        })
    return rows


API_FIELDS = ("message_id", "event", "event_label", "channel", "recipient_role", "template", "status", "status_label",
              "reason", "attempts", "updated_at")


def inbox(principal: Principal, limit: int = 30) -> list[dict[str, Any]]:
    """The officer's latest inbox messages, newest first: message_id, event, event_label, application_id, subject,
    body, link, status (delivered/read), unread (bool), created_at (ISO, UTC), created_wib.
    Raises ForbiddenError for anyone but an officer."""
    if not _is_officer(principal):
        raise ForbiddenError("kotak masuk hanya untuk petugas", field="role")
    rows = []
    for item in message_log.inbox(principal.user_id, limit=limit):
        content = item.content or {}
        rows.append({
            "message_id": item.message_id, "event": item.event, "event_label": EVENT_LABELS.get(item.event, item.event),
            "application_id": item.application_id, "subject": str(content.get("subject") or ""),
            "body": str(content.get("body") or ""), "link": content.get("link"), "status": item.status,
            "unread": item.status != message_log.READ, "created_at": item.created_at,
            "created_wib": _wib(item.created_at),
        })
    return rows


def own_link(link: str | None, fallback: str = "/petugas") -> str:
    """`link` if it points into our own public site (same scheme, host and port as PUBLIC_BASE_URL, under its
    path); otherwise `fallback`. Keeps the inbox from being an open redirect."""
    if not link:
        return fallback
    base = urlsplit(get_settings().public_base_url.rstrip("/") + "/")
    target = urlsplit(link)
    if (target.scheme, target.netloc) != (base.scheme, base.netloc) or not (target.path + "/").startswith(base.path):
        return fallback
    if "\\" in link or any(ord(c) < 0x20 for c in link):
        return fallback
    return link


def open_inbox_message(principal: Principal, message_id: str) -> str:
    """The officer opened an inbox message: it is marked read; returns where to go (its link if it is ours,
    else the dashboard). NotFoundError when the message is not in this officer's inbox."""
    if not _is_officer(principal):
        raise ForbiddenError("kotak masuk hanya untuk petugas", field="role")
    item = message_log.mark_read(message_id, principal.user_id)
    if item is None:
        raise NotFoundError("pesan tidak ditemukan", field="message_id")
    return own_link((item.content or {}).get("link"))
