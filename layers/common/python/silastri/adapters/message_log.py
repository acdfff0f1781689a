"""The message log (DynamoDB): one item per (event, recipient, channel), holding that message's delivery status.

The item is both the exactly-once guard and the status record:
- created `queued` by a conditional put (a second producer of the same message finds it there);
- an attempt is claimed by one conditional update (`sending_until` set) before the provider is called, so two
  deliveries of the same queue message never both send;
- the outcome clears the claim: `sent` (with the provider's id), `retrying` (transient failure, the queue retries)
  or `failed` (permanent, with the reason);
- a claim whose lease ran out with no outcome (the sender died between calling the provider and recording
  the answer) becomes `unknown` and is not sent again by itself: the provider's status events (which carry
  our message id) settle it, or an operator redrives it explicitly.
- status events move it forward only: sent → delivered → read; failed from any state before delivered; and only
  for the live attempt (a late event of an attempt a redrive replaced — its provider id is `superseded` — or of
  another provider id is ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from ..domain.clock import now_utc
from .dynamo import _key, _Meta, bind_tables

QUEUED, RETRYING, UNKNOWN, SENT, DELIVERED, READ, FAILED = (
    "queued", "retrying", "unknown", "sent", "delivered", "read", "failed")
NOT_SENT = (QUEUED, RETRYING)
STATUS_LABELS = {QUEUED: "antre", RETRYING: "gagal sementara, dicoba lagi", UNKNOWN: "hasil tidak pasti",
                 SENT: "terkirim", DELIVERED: "diterima", READ: "dibaca", FAILED: "gagal"}
# which statuses a provider status event may move a message *from* (forward only)
_FORWARD_FROM = {SENT: (QUEUED, RETRYING, UNKNOWN), DELIVERED: (QUEUED, RETRYING, UNKNOWN, SENT),
                 READ: (QUEUED, RETRYING, UNKNOWN, SENT, DELIVERED), FAILED: (QUEUED, RETRYING, UNKNOWN, SENT)}


class ByApplicationIndex(GlobalSecondaryIndex["MessageItem"]):
    """An application's messages, for its timeline (officers): keys only, the items then read with BatchGetItem
    (status, attempts and times change with every send; an index projecting them was rewritten each time)."""

    class Meta:
        index_name = "by_application_keys"
        projection = KeysOnlyProjection()

    application_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ByInboxIndex(GlobalSecondaryIndex["MessageItem"]):
    """An officer's in-app inbox (sparse: only inbox messages carry `inbox_owner`)."""

    class Meta:
        index_name = "by_inbox"
        projection = IncludeProjection(["content", "status", "application_id", "event"])

    inbox_owner = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class MessageItem(Model):
    class Meta(_Meta):
        pass

    message_id = UnicodeAttribute(hash_key=True)
    event = UnicodeAttribute()
    event_id = UnicodeAttribute()
    channel = UnicodeAttribute()
    template = UnicodeAttribute()
    recipient_id = UnicodeAttribute()     # the user's id (Cognito sub): never a phone number or address
    recipient_role = UnicodeAttribute()   # "applicant" or the officer role
    office_id = UnicodeAttribute(null=True)
    application_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    attempts = NumberAttribute(default=0)
    sending_until = NumberAttribute(null=True)  # epoch seconds: an attempt is in flight until then
    reason = UnicodeAttribute(null=True)
    provider_id = UnicodeAttribute(null=True)
    superseded = UnicodeSetAttribute(null=True)  # provider ids of attempts an operator's redrive replaced
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    history: ListAttribute[Any] = ListAttribute(default=list)      # [{"status", "at", "reason"?}] (DynamoDB list of maps)
    note = JSONAttribute(null=True)            # the notification (ids only), for an explicit redrive
    content = JSONAttribute(null=True)         # inbox messages only: {"subject", "body", "link"}
    inbox_owner = UnicodeAttribute(null=True)
    by_application = ByApplicationIndex()
    by_inbox = ByInboxIndex()


def _entry(status: str, reason: str | None = None, at: datetime | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": status, "at": (at or now_utc()).isoformat()}
    if reason:
        entry["reason"] = reason[:300]
    return entry


def _failed_condition(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def get(message_id: str) -> MessageItem | None:
    bind_tables()
    try:
        return MessageItem.get(message_id, consistent_read=True)
    except DoesNotExist:
        return None


def ensure(message_id: str, **fields: Any) -> MessageItem:
    """The message's item, created `queued` with `fields` if it does not exist yet (one conditional put)."""
    bind_tables()
    now = now_utc()
    status = fields.pop("status", QUEUED)
    item = MessageItem(message_id, status=status, created_at=_key(now), updated_at=now.isoformat(),
                       history=[_entry(status, at=now)], attempts=0, **fields)
    try:
        item.save(condition=MessageItem.message_id.does_not_exist())
        return item
    except PutError as exc:
        if not _failed_condition(exc):
            raise
    existing = get(message_id)
    assert existing is not None
    return existing


def create_claimed(message_id: str, now_epoch: float, lease_seconds: int, **fields: Any) -> bool:
    """Create the message `queued` with its first attempt already claimed (`attempts` 1, `sending_until` set): one
    conditional put instead of `ensure` + `claim_attempt`. True when created here (attempt 1 is this caller's);
    False when the message exists (then `get` it and claim as usual). A sender that dies after this put leaves a
    claim whose lease runs out, which `mark_unknown` settles, as for a death just after `claim_attempt`."""
    bind_tables()
    now = now_utc()
    item = MessageItem(message_id, status=QUEUED, created_at=_key(now), updated_at=now.isoformat(),
                       history=[_entry(QUEUED, at=now)], attempts=1, sending_until=int(now_epoch + lease_seconds),
                       **fields)
    try:
        item.save(condition=MessageItem.message_id.does_not_exist())
    except PutError as exc:
        if not _failed_condition(exc):
            raise
        return False
    return True


def claim_attempt(message_id: str, now_epoch: float, lease_seconds: int) -> int | None:
    """Claim the next send attempt; returns its number, or None when the message is not waiting to be sent
    or another attempt holds it (read the item to see which)."""
    bind_tables()
    item = MessageItem(message_id)
    try:
        item.update(actions=[MessageItem.attempts.add(1), MessageItem.sending_until.set(int(now_epoch + lease_seconds)),
                             MessageItem.updated_at.set(now_utc().isoformat())],
                    condition=MessageItem.status.is_in(*NOT_SENT) & MessageItem.sending_until.does_not_exist())
    except UpdateError as exc:
        if _failed_condition(exc):
            return None
        raise
    return int(item.attempts)


def record_outcome(message_id: str, attempt: int, status: str, reason: str | None = None,
                   provider_id: str | None = None) -> bool:
    """Close attempt `attempt` with its outcome (sent / retrying / failed); False if it was not the live attempt."""
    bind_tables()
    actions: list[Action] = [MessageItem.status.set(status), MessageItem.sending_until.remove(),
               MessageItem.updated_at.set(now_utc().isoformat()),
               MessageItem.history.set(MessageItem.history.append([_entry(status, reason)]))]
    actions.append(MessageItem.reason.set(reason[:500]) if reason else MessageItem.reason.remove())
    if provider_id:
        actions.append(MessageItem.provider_id.set(provider_id))
    try:
        MessageItem(message_id).update(actions=actions, condition=(MessageItem.attempts == attempt)
                                       & MessageItem.sending_until.exists() & MessageItem.status.is_in(*NOT_SENT))
    except UpdateError as exc:
        if _failed_condition(exc):
            return False
        raise
    return True


def mark_unknown(message_id: str, attempt: int, now_epoch: float) -> bool:
    """An attempt whose lease ran out with no outcome: its result is unknown (True if marked here)."""
    bind_tables()
    reason = "pengirim berhenti sebelum mencatat hasil; tidak dikirim ulang otomatis"
    try:
        MessageItem(message_id).update(
            actions=[MessageItem.status.set(UNKNOWN), MessageItem.sending_until.remove(),
                     MessageItem.reason.set(reason), MessageItem.updated_at.set(now_utc().isoformat()),
                     MessageItem.history.set(MessageItem.history.append([_entry(UNKNOWN, reason)]))],
            condition=(MessageItem.attempts == attempt) & (MessageItem.sending_until <= int(now_epoch))
            & MessageItem.status.is_in(*NOT_SENT))
    except UpdateError as exc:
        if _failed_condition(exc):
            return False
        raise
    return True


def apply_status(message_id: str, status: str, at: datetime, reason: str | None = None,
                 provider_id: str | None = None) -> bool:
    """A provider status event (sent / delivered / read / failed), applied only forward; False if stale,
    repeated or for a message we do not know.

    The item is read first (consistent, 1 RRU) and an event that cannot move it is not written: a conditional
    write that fails is billed like one that succeeds, and the common case — the provider's `sent` event arriving
    after the sender recorded `sent` — would fail every time. The conditional write stays the guard (a change
    between the read and the write still refuses it)."""
    bind_tables()
    current = get(message_id)
    if current is None or current.status not in _FORWARD_FROM[status]:
        return False
    if provider_id and ((current.provider_id and current.provider_id != provider_id)
                        or provider_id in (current.superseded or set())):
        return False
    actions: list[Action] = [MessageItem.status.set(status), MessageItem.updated_at.set(now_utc().isoformat()),
               MessageItem.sending_until.remove(),
               MessageItem.history.set(MessageItem.history.append([_entry(status, reason, at)]))]
    if reason:
        actions.append(MessageItem.reason.set(reason[:500]))
    elif status != FAILED:
        actions.append(MessageItem.reason.remove())
    condition = MessageItem.message_id.exists() & MessageItem.status.is_in(*_FORWARD_FROM[status])
    if provider_id:
        actions.append(MessageItem.provider_id.set(provider_id))
        condition &= (MessageItem.provider_id.does_not_exist() | (MessageItem.provider_id == provider_id))
        condition &= ~MessageItem.superseded.contains(provider_id)
    try:
        MessageItem(message_id).update(actions=actions, condition=condition)
    except UpdateError as exc:
        if _failed_condition(exc):
            return False
        raise
    return True


def reopen(message_id: str) -> bool:
    """An operator's redrive: a failed or unknown message waits to be sent again (True if reopened). The
    replaced attempt's provider id is kept as `superseded`, so its late status events change nothing."""
    current = get(message_id)
    if current is None:
        return False
    actions: list[Action] = [
        MessageItem.status.set(QUEUED), MessageItem.reason.remove(), MessageItem.sending_until.remove(),
        MessageItem.provider_id.remove(), MessageItem.updated_at.set(now_utc().isoformat()),
        MessageItem.history.set(MessageItem.history.append([_entry(QUEUED, "dikirim ulang (redrive)")]))]
    if current.provider_id:
        actions.append(MessageItem.superseded.add({current.provider_id}))
    try:
        MessageItem(message_id).update(
            actions=actions, condition=MessageItem.status.is_in(FAILED, UNKNOWN)
            & (MessageItem.provider_id == current.provider_id if current.provider_id
               else MessageItem.provider_id.does_not_exist()))
    except UpdateError as exc:
        if _failed_condition(exc):
            return False
        raise
    return True


def for_application(application_id: str) -> list[MessageItem]:
    """An application's messages, oldest first: the keys-only index, then one BatchGetItem."""
    bind_tables()
    ids = [item.message_id for item in MessageItem.by_application.query(application_id)]
    found = {item.message_id: item for item in MessageItem.batch_get(list(dict.fromkeys(ids)))} if ids else {}
    return [found[i] for i in ids if i in found]


def inbox(user_id: str, limit: int = 30) -> list[MessageItem]:
    """An officer's inbox, newest first."""
    bind_tables()
    return list(MessageItem.by_inbox.query(user_id, scan_index_forward=False, limit=limit))


def mark_read(message_id: str, user_id: str) -> MessageItem | None:
    """The owner opened an inbox message: delivered → read. Returns the item (None if not theirs)."""
    item = get(message_id)
    if item is None or item.inbox_owner != user_id:
        return None
    apply_status(message_id, READ, now_utc())
    return get(message_id)


def scan_status(statuses: tuple[str, ...], event: str | None = None) -> Iterator[MessageItem]:
    """Messages in `statuses` (optionally of one event): operator's redrive and reports only (a scan)."""
    bind_tables()
    condition = MessageItem.status.is_in(*statuses)
    if event:
        condition &= MessageItem.event == event
    yield from MessageItem.scan(condition)
