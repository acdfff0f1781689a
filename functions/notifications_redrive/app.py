"""Operators' redrive of notifications, invoked by hand after a channel outage (see the stack Output
NotificationsRedriveCommand):

    aws lambda invoke --function-name <NotificationsRedriveFunction> --cli-binary-format raw-in-base64-out \
        --payload '{"event": "permit_ready", "include_failed": true}' redrive.json

Payload (all optional): `event` — one notification kind (`notifications.EVENTS`), else every kind;
`include_failed` — also reopen messages recorded failed/unknown; `limit` — at most this many DLQ messages
(1..10000, default 1000). Returns {"moved", "left", "reopened", "republished"}; a bad payload fails the
invocation with a ValueError saying what is wrong."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from silastri.domain import notifications
from silastri.observability import logger, metrics
from silastri.services import redrive


class RedriveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: str | None = None
    include_failed: bool = False
    limit: int = Field(default=1000, ge=1, le=10000)

    @field_validator("event")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is not None and value not in notifications.EVENTS:
            raise ValueError(f"unknown event '{value}'; one of: {', '.join(notifications.EVENTS)}")
        return value


def parse(event: Any) -> RedriveRequest:
    """The invocation payload as a request; ValueError (readable, one line per problem) when it does not fit."""
    try:
        return RedriveRequest.model_validate(event or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid redrive payload: {problems}") from None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics()
def handler(event, context):
    request = parse(event)
    return redrive.redrive(request.event, request.include_failed, request.limit)
