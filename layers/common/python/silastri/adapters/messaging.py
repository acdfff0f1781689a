"""Notifications. Producers publish a small event to SNS (ids only, no personal data); the notifier
resolves recipients and delivers through channels: WhatsApp (AWS End User Messaging Social), e-mail
(SES), or — on the local stack — the local outbox (a file shown on a local-only page)."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field

from ..domain.clock import now_utc
from ..settings import get_settings
from .aws import client


class Notification(BaseModel):
    """What happened and to whom — by user id or by office + role. Never a phone number or NIK."""

    kind: str
    application_id: str | None = None
    registration_number: str | None = None
    user_id: str | None = None
    office_id: str | None = None
    role: str | None = None
    params: dict[str, str] = Field(default_factory=dict)


def publish(notification: Notification) -> None:
    client("sns").publish(
        TopicArn=get_settings().notifications_topic_arn,
        Message=notification.model_dump_json(),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": notification.kind}},
    )


class WhatsAppTemplate(BaseModel):
    """An approved WhatsApp template (business-initiated messages such as one-time codes need one)."""

    name: str
    language: str = "id"
    body_parameters: list[str] = Field(default_factory=list)
    button_parameter: str | None = None  # authentication templates repeat the code in a copy-code button


class OutgoingMessage(BaseModel):
    channel: str  # "whatsapp" | "email"
    to: str       # phone number or e-mail address (personal data: never logged)
    subject: str
    text: str     # the rendered text (e-mail body; what the local outbox shows)
    link: str | None = None
    template: WhatsAppTemplate | None = None
    at: datetime = Field(default_factory=now_utc)


class Channel(Protocol):
    def send(self, message: OutgoingMessage) -> str: ...


class WhatsAppChannel:
    """AWS End User Messaging Social: a WhatsApp text through the Meta Cloud API message format."""

    def __init__(self, origination_phone_number_id: str, social: Any | None = None) -> None:
        self._origin = origination_phone_number_id
        self._social = social

    def send(self, message: OutgoingMessage) -> str:
        payload: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.to}
        if message.template:
            components: list[dict[str, Any]] = [{"type": "body", "parameters": [
                {"type": "text", "text": value} for value in message.template.body_parameters]}]
            if message.template.button_parameter:
                components.append({"type": "button", "sub_type": "url", "index": "0",
                                   "parameters": [{"type": "text", "text": message.template.button_parameter}]})
            payload |= {"type": "template", "template": {"name": message.template.name,
                                                         "language": {"code": message.template.language},
                                                         "components": components}}
        else:  # inside the 24-hour service window a plain text message is allowed
            body = message.text + (f"\n{message.link}" if message.link else "")
            payload |= {"type": "text", "text": {"preview_url": False, "body": body[:4096]}}
        social = self._social or client("socialmessaging")
        response = social.send_whatsapp_message(
            originationPhoneNumberId=self._origin, message=json.dumps(payload).encode(), metaApiVersion="v20.0"
        )
        return str(response["messageId"])


class EmailChannel:
    """Amazon SES (the sender must be a verified identity)."""

    def __init__(self, sender: str, ses: Any | None = None) -> None:
        self._sender = sender
        self._ses = ses

    def send(self, message: OutgoingMessage) -> str:
        text = message.text + (f"\n\n{message.link}" if message.link else "")
        ses = self._ses or client("ses")
        response = ses.send_email(
            Source=self._sender,
            Destination={"ToAddresses": [message.to]},
            Message={"Subject": {"Data": message.subject, "Charset": "UTF-8"},
                     "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}},
        )
        return str(response["MessageId"])


class LocalOutbox:
    """Local adapter for both channels: appends messages to a JSON-lines file shown at /lokal/kotak-keluar.
    Used only on the local stack (MESSAGING_MODE=local-outbox)."""

    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, message: OutgoingMessage) -> str:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(message.model_dump_json() + "\n")
        return f"local-{message.at.timestamp()}"

    def messages(self) -> list[OutgoingMessage]:
        if not self.path.exists():
            return []
        with self._lock:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        return [OutgoingMessage.model_validate_json(line) for line in lines if line.strip()]


def outbox_path() -> Path:
    return Path(get_settings().data_dir) / "outbox.jsonl"


def channels() -> dict[str, Channel]:
    settings = get_settings()
    if settings.messaging_mode == "local-outbox":
        outbox = LocalOutbox(outbox_path())
        return {"whatsapp": outbox, "email": outbox}
    return {"whatsapp": WhatsAppChannel(settings.whatsapp_phone_number_id), "email": EmailChannel(settings.sender_email)}
