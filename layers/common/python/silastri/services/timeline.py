"""Recording what happened to an application (its timeline) and telling people about it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..adapters import dynamo, messaging
from ..domain import audit
from ..domain.clock import now_utc
from ..domain.models import TimelineEvent
from ..observability import logger


def entry(application_id: str, step: str, action: str, actor_role: str, actor_id: str | None = None,
          note: str | None = None, **details: Any) -> Callable[[int, str], TimelineEvent]:
    """One timeline event to append, as `build(seq, prev_hash)` for the hash-chained trail (`dynamo.append_chained`,
    or inside a claim's commit transaction: `dynamo.commit_claim`). Its time is now (UTC)."""
    at = now_utc()

    def build(seq: int, prev_hash: str) -> TimelineEvent:
        event = TimelineEvent(application_id=application_id, event_id=f"{seq:08d}", seq=seq, prev_hash=prev_hash,
                              at=at, step=step, action=action, actor_role=actor_role, actor_id=actor_id, note=note,
                              details=details)
        event.hash = audit.entry_hash(prev_hash, event.model_dump(mode="json"))
        return event

    return build


def record(application_id: str, step: str, action: str, actor_role: str, actor_id: str | None = None,
           note: str | None = None, **details: Any) -> TimelineEvent:
    """Append one timeline event (and log it, without personal data)."""
    event = dynamo.append_chained(application_id, entry(application_id, step, action, actor_role, actor_id, note,
                                                        **details))
    logger.info("timeline", application_id=application_id, step=step, action=action, actor_role=actor_role)
    return event


def recorded(application_id: str, action: str, **details: Any) -> bool:
    """Whether the audit trail has an `action` entry with these details (one Query; for steps run again)."""
    return any(e.action == action and all(e.details.get(k) == v for k, v in details.items())
               for e in dynamo.timeline(application_id))


def verify_audit(application_id: str) -> list[str]:
    """Problems in one application's audit trail (edited, deleted or added entries); [] when intact."""
    entries = sorted(dynamo.raw_events(application_id), key=lambda e: int(e.get("seq", 0)))
    seq, head = dynamo.audit_head(application_id)
    return audit.verify_chain(entries, seq, head)


def notify(kind: str, **fields: Any) -> None:
    """Publish a notification event (ids only) if the office's plan tells anyone about it.

    Give `event_id` when the same kind can happen more than once to the same application (revision rounds,
    tasks); otherwise it is derived from the fields, so a retried step publishes the same event."""
    from . import notifier

    note = messaging.Notification(kind=kind, **fields)
    if notifier.wanted(note):
        messaging.publish(note)
