"""Recording what happened to an application (its timeline) and telling people about it."""

from __future__ import annotations

from typing import Any

from ..adapters import dynamo, messaging
from ..domain.clock import now_utc
from ..domain.models import TimelineEvent
from ..observability import logger


def record(application_id: str, step: str, action: str, actor_role: str, actor_id: str | None = None,
           note: str | None = None, **details: Any) -> TimelineEvent:
    """Append one timeline event (and log it, without personal data)."""
    at = now_utc()
    event = TimelineEvent(application_id=application_id, event_id=dynamo.new_event_id(at), at=at, step=step,
                          action=action, actor_role=actor_role, actor_id=actor_id, note=note, details=details)
    dynamo.append_event(event)
    logger.info("timeline", application_id=application_id, step=step, action=action, actor_role=actor_role)
    return event


def notify(kind: str, **fields: Any) -> None:
    messaging.publish(messaging.Notification(kind=kind, **fields))
