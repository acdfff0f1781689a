"""Throttle counters in DynamoDB: one item per (policy, subject, fixed window), changed only by conditional writes.

The items live in the codes table (short-lived security state, TTL on `expires_epoch`, already readable and
writable by the API function), keyed `limit#<policy>#<keyed hash of the subject>#<window start>`: no e-mail,
phone number, registration number or client address is stored in clear. TTL removes old windows; expired
windows are never read again anyway, because the window start is part of the key."""

from __future__ import annotations

import os

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.models import Model


class LimitItem(Model):
    """Hits counted in one window of one throttle (same table and key attribute as the one-time codes)."""

    class Meta:
        table_name = ""
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "ap-southeast-3"

    code_id = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    expires_epoch = NumberAttribute()


def _bind() -> None:
    """Bound with the other models (`dynamo.bind_tables`): again when the AWS endpoint changed since."""
    from .dynamo import bind_tables

    bind_tables()


def _conditional(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def take(bucket_id: str, limit: int, expires_epoch: int) -> bool:
    """Add one hit to the bucket in one conditional write, only while it holds fewer than `limit` hits.

    Returns False (nothing written) when the bucket is full. `expires_epoch` (seconds since the epoch) is the
    TTL after which DynamoDB may delete the item. Other DynamoDB errors propagate."""
    _bind()
    item = LimitItem(code_id=bucket_id)
    try:
        item.update(actions=[LimitItem.hits.add(1), LimitItem.expires_epoch.set(int(expires_epoch))],
                    condition=LimitItem.code_id.does_not_exist() | (LimitItem.hits < int(limit)))
    except UpdateError as exc:
        if _conditional(exc):
            return False
        raise
    return True


def give_back(bucket_id: str) -> None:
    """Remove one hit again (the attempt succeeded and should not count); never below zero."""
    _bind()
    item = LimitItem(code_id=bucket_id)
    try:
        item.update(actions=[LimitItem.hits.add(-1)], condition=LimitItem.hits > 0)
    except UpdateError as exc:
        if not _conditional(exc):
            raise


def hits(bucket_id: str) -> int:
    """Hits counted so far in a bucket (0 when it does not exist)."""
    _bind()
    try:
        return int(LimitItem.get(bucket_id, consistent_read=True).hits)
    except LimitItem.DoesNotExist:
        return 0
