"""Delivery status events from the providers, applied to the message log (forward only).

- WhatsApp: End User Messaging Social publishes each Meta webhook `entry` to SNS as a JSON string in
  `whatsAppWebhookEntry`; its `statuses[]` carry `status` (sent / delivered / read / failed), a unix
  `timestamp`, `errors` when failed, and our message id in `biz_opaque_callback_data` (AWS End User Messaging
  Social User Guide, "Message and event destinations"; Meta Cloud API, webhooks "statuses").
- E-mail: an SES configuration set publishes `eventType` Send / Delivery / Bounce / Complaint / Reject / Open /
  Click / "Rendering Failure" / DeliveryDelay with `mail.tags` (our `message_id` tag) (SES Developer Guide,
  "Contents of event data that Amazon SES publishes to Amazon SNS").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

from ..adapters import message_log
from ..observability import logger

_WHATSAPP = {"sent": message_log.SENT, "delivered": message_log.DELIVERED, "read": message_log.READ,
             "failed": message_log.FAILED}
_SES = {"Send": message_log.SENT, "Delivery": message_log.DELIVERED, "Open": message_log.READ,
        "Click": message_log.READ, "Reject": message_log.FAILED, "Rendering Failure": message_log.FAILED}


class StatusUpdate(NamedTuple):
    message_id: str
    status: str
    at: datetime
    reason: str | None
    provider_id: str | None


def _whatsapp(event: dict[str, Any]) -> list[StatusUpdate]:
    entry = event["whatsAppWebhookEntry"]
    entry = json.loads(entry) if isinstance(entry, str) else entry
    updates = []
    for change in entry.get("changes", []):
        for status in (change.get("value") or {}).get("statuses", []):
            ours, kind = status.get("biz_opaque_callback_data"), _WHATSAPP.get(status.get("status", ""))
            if not ours or not kind:
                continue  # not one of our messages, or a status we do not track
            reason = None
            if status.get("errors"):
                error = status["errors"][0]
                reason = f"WhatsApp {error.get('code', '?')}: {error.get('title') or error.get('message') or 'gagal'}"
            stamp = str(status.get("timestamp") or "")
            at = datetime.fromtimestamp(int(stamp), UTC) if stamp.isdigit() else datetime.now(UTC)
            updates.append(StatusUpdate(str(ours), kind, at, reason, status.get("id")))
    return updates


def _ses(event: dict[str, Any]) -> list[StatusUpdate]:
    kind_name = event.get("eventType") or event.get("notificationType") or ""
    mail = event.get("mail") or {}
    ours = ((mail.get("tags") or {}).get("message_id") or [None])[0]
    if not ours:
        return []
    reason = None
    kind = _SES.get(kind_name)
    if kind_name == "Bounce":
        bounce = event.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []  # a transient bounce: SES keeps trying
        kind, reason = message_log.FAILED, f"e-mail ditolak penerima (bounce {bounce.get('bounceSubType', 'Permanent')})"
    elif kind_name == "Reject":
        reason = "SES menolak e-mail (virus atau kebijakan)"
    elif kind_name == "Rendering Failure":
        reason = "template e-mail gagal dirender"
    if not kind:
        return []
    # the event's own time (delivery.timestamp, open.timestamp…); mail.timestamp is when the mail was sent
    detail = event.get({"Rendering Failure": "failure"}.get(kind_name, kind_name[:1].lower() + kind_name[1:])) or {}
    stamp = detail.get("timestamp") if isinstance(detail, dict) else None
    try:
        at = datetime.fromisoformat(str(stamp or mail.get("timestamp", "")).replace("Z", "+00:00"))
    except ValueError:
        at = datetime.now(UTC)
    return [StatusUpdate(str(ours), kind, at, reason, mail.get("messageId"))]


def parse(event: dict[str, Any]) -> list[StatusUpdate]:
    """The status updates in one provider event (WhatsApp or SES); [] for events of no message of ours."""
    if "whatsAppWebhookEntry" in event:
        return _whatsapp(event)
    if "mail" in event:
        return _ses(event)
    return []


def apply(event: dict[str, Any]) -> int:
    """Apply one provider event; returns how many messages moved forward (repeats and stale events: 0)."""
    moved = 0
    for update in parse(event):
        if message_log.apply_status(update.message_id, update.status, update.at, update.reason, update.provider_id):
            moved += 1
    logger.info("delivery status", updates=moved)
    return moved
