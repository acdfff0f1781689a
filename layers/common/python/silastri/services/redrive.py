"""Redrive: notifications that waited in the dead-letter queue go back to the notifications queue, and (on
request) messages recorded failed or unknown are reopened and their events published again.

Still exactly once: the notifier sends only messages the message log holds as queued or retrying, so an
event delivered again sends only what was never sent (or what this redrive reopened)."""

from __future__ import annotations

import json
from typing import Any

from ..adapters import message_log, messaging
from ..adapters.aws import client
from ..adapters.messaging import Notification
from ..domain import notifications
from ..observability import logger
from ..settings import get_settings

BATCH = 10            # SQS ReceiveMessage maximum
HOLD_SECONDS = 300    # a received message stays invisible this long while the redrive decides on it
WAIT_SECONDS = 1      # long polling: an empty answer means the queue is empty, not an unlucky short poll


class RedriveError(ValueError):
    """The request cannot be carried out (unknown event, queues not configured); the message is in Bahasa."""


def _kind(message: dict[str, Any]) -> str | None:
    """The notification kind of a queued message: its `kind` attribute (set by `messaging.publish`, kept by
    raw SNS delivery), else the body's `kind`."""
    attribute = (message.get("MessageAttributes") or {}).get("kind") or {}
    if attribute.get("StringValue"):
        return str(attribute["StringValue"])
    try:
        body = json.loads(message.get("Body") or "")
    except ValueError:
        return None
    return str(body["kind"]) if isinstance(body, dict) and body.get("kind") else None


def check_event(event: str | None) -> None:
    """RedriveError for an event name that is not in the vocabulary (`notifications.EVENTS`)."""
    if event is not None and event not in notifications.EVENTS:
        raise RedriveError(f"peristiwa tidak dikenal: {event}. Pilihan: {', '.join(notifications.EVENTS)}")


def redrive(event: str | None = None, include_failed: bool = False, limit: int = 1000) -> dict[str, int]:
    """Move up to `limit` notifications from NotificationsDeadLetterQueue back to NotificationsQueue (only those
    of `event` when given; the others stay in the DLQ); with `include_failed`, also reopen the message-log
    items of that event (or all) that ended `failed` or `unknown` and publish each one's notification again.

    This is what `aws sqs start-message-move-task` does, plus the filter by event (and moto, the local
    emulator, does not implement StartMessageMoveTask). A message is sent to the main queue before it is
    deleted from the DLQ: a crash in between leaves a copy that a later redrive moves again, and the notifier
    skips messages already sent. One-time codes (account events) are never reopened: the user asks for a
    new code instead.

    Returns {"moved", "left", "reopened", "republished"}. Raises RedriveError for an unknown event or when
    the queue URLs are not configured (settings notifications_queue_url / notifications_dead_letter_queue_url).
    """
    check_event(event)
    if limit < 1:
        raise RedriveError("batas (limit) minimal 1")
    counts = {"moved": 0, "left": 0, "reopened": 0, "republished": 0}
    _move(event, limit, counts)
    if include_failed:
        _reopen(event, counts)
    logger.info("notifications redriven", extra={"event": event or "all", "include_failed": include_failed, **counts})
    return counts


def _move(event: str | None, limit: int, counts: dict[str, int]) -> None:
    settings = get_settings()
    source, target = settings.notifications_dead_letter_queue_url, settings.notifications_queue_url
    if not (source and target):
        raise RedriveError("alamat antrean notifikasi belum diatur (NOTIFICATIONS_QUEUE_URL, "
                           "NOTIFICATIONS_DEAD_LETTER_QUEUE_URL)")
    sqs = client("sqs")
    held: dict[str, str] = {}  # messages of other events, kept invisible until the pass ends (not seen twice)
    try:
        while counts["moved"] + len(held) < limit:
            batch = sqs.receive_message(
                QueueUrl=source, MaxNumberOfMessages=min(BATCH, limit - counts["moved"] - len(held)),
                VisibilityTimeout=HOLD_SECONDS, WaitTimeSeconds=WAIT_SECONDS, MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            for message in batch:
                kind = _kind(message)
                if event is not None and kind != event:
                    held[message["MessageId"]] = message["ReceiptHandle"]
                    continue
                extra: dict[str, Any] = {}
                if kind:
                    extra["MessageAttributes"] = {"kind": {"DataType": "String", "StringValue": kind}}
                sqs.send_message(QueueUrl=target, MessageBody=message["Body"], **extra)
                sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
                counts["moved"] += 1
    finally:
        for receipt in held.values():  # back in the DLQ at once, for a later redrive
            try:
                sqs.change_message_visibility(QueueUrl=source, ReceiptHandle=receipt, VisibilityTimeout=0)
            except Exception:  # it becomes visible again when its hold runs out
                logger.warning("held message not released early")
        counts["left"] = len(held)


def _reopen(event: str | None, counts: dict[str, int]) -> None:
    """Failed/unknown messages waiting again, and their notifications (ids only) published once per event."""
    notes: dict[str, dict[str, Any]] = {}
    for item in message_log.scan_status((message_log.FAILED, message_log.UNKNOWN), event):
        if item.event in notifications.ACCOUNT_EVENTS or not item.note:
            continue  # a one-time code is asked for again, never resent; an item without its event cannot be
        if message_log.reopen(item.message_id):
            counts["reopened"] += 1
            notes.setdefault(item.event_id, item.note)
    for note in notes.values():
        messaging.publish(Notification.model_validate(note))
        counts["republished"] += 1
