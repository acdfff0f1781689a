"""Notifications. Producers publish a small event to SNS (ids only, no personal data); the notifier resolves
recipients from the office's notification plan and delivers through channels: WhatsApp templates (AWS End User
Messaging Social), e-mail (SES), or — on the local stack — the local outbox (a file shown on a local-only page),
which also plays the providers' delivery status events.

Channel errors say what a retry can do: `TransientChannelError` (try again later: throttling, outage, a
configuration an operator can fix), `PermanentChannelError` (never: an invalid number, a rejected template or
address), `UncertainChannelError` (the request may have been accepted: not sent again automatically)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field, model_validator

from ..domain.clock import now_utc
from ..settings import get_settings
from .aws import client

META_API_VERSION = "v20.0"


class Notification(BaseModel):
    """What happened and to whom — by user id or by office + role. Never a phone number or NIK.

    `event_id` names the occurrence: the same event published twice (a retried step, a resumed run) has the
    same id, so each recipient gets its message once. Derived from the fields when the producer gives none."""

    kind: str
    event_id: str = ""
    application_id: str | None = None
    registration_number: str | None = None
    user_id: str | None = None
    office_id: str | None = None
    role: str | None = None
    params: dict[str, str | None] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _identity(self) -> Notification:
        if not self.event_id:
            basis = json.dumps([self.kind, self.application_id, self.user_id, self.office_id, self.role,
                                sorted(self.params.items())], default=str)
            self.event_id = f"{self.kind}:{hashlib.sha256(basis.encode()).hexdigest()[:24]}"
        return self


def publish(notification: Notification) -> None:
    client("sns").publish(
        TopicArn=get_settings().notifications_topic_arn,
        Message=notification.model_dump_json(),
        MessageAttributes={"kind": {"DataType": "String", "StringValue": notification.kind}},
    )


# ----------------------------------------------------------------------------- errors


class ChannelError(Exception):
    """A send that did not go through; `reason` is safe to store and show (no address, no number)."""

    permanent = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:300]


class TransientChannelError(ChannelError):
    """Try again later (with backoff, and not before `retry_after` seconds when given); after the queue's
    receives the notification waits in the DLQ."""

    def __init__(self, reason: str, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class PermanentChannelError(ChannelError):
    """Retrying cannot help (invalid number, template refused, address rejected): recorded as failed."""

    permanent = True


class UncertainChannelError(ChannelError):
    """The provider may have accepted the message (timeout after sending): not re-sent automatically."""


# ----------------------------------------------------------------------------- messages


class TemplateCall(BaseModel):
    """A WhatsApp template message: the approved template's name and the values of its parameters."""

    name: str
    language: str = "id"
    body_parameters: list[str] = Field(default_factory=list)
    button_parameter: str | None = None  # URL suffix of a dynamic URL button, or the one-time code


class OutgoingMessage(BaseModel):
    message_id: str = ""   # ours (message log); travels with the message so status events find it again
    channel: str  # "whatsapp" | "email"
    to: str       # phone number or e-mail address (personal data: never logged)
    subject: str
    text: str     # the rendered text (e-mail body; what the local outbox shows for a template)
    link: str | None = None
    template: TemplateCall | None = None
    at: datetime = Field(default_factory=now_utc)


class Channel(Protocol):
    def send(self, message: OutgoingMessage) -> str: ...


def _client_error(exc: Exception) -> tuple[str, int] | None:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = str(response.get("Error", {}).get("Code", ""))
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


def _network_error(exc: Exception) -> ChannelError | None:
    """botocore's connection errors: never reached the service (transient) or may have (uncertain)."""
    from botocore.exceptions import (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, (ConnectTimeoutError, EndpointConnectionError)):
        return TransientChannelError(f"layanan tidak terjangkau ({type(exc).__name__})")
    if isinstance(exc, (ReadTimeoutError, ConnectionClosedError)):
        return UncertainChannelError(f"tidak ada jawaban setelah pesan dikirim ({type(exc).__name__})")
    return None


def _channel_error(exc: Exception, permanent_codes: set[str], refused: str, not_now: str) -> Exception:
    """The channel error a provider's exception means: network (transient or uncertain), an AWS error code in
    `permanent_codes` (permanent), any other AWS error (transient); an exception of no AWS call is returned as is."""
    network = _network_error(exc)
    if network:
        return network
    error = _client_error(exc)
    if error is None:
        return exc
    code, status = error
    if code in permanent_codes:
        return PermanentChannelError(f"{refused} ({code})")
    return TransientChannelError(f"{not_now} ({code or status})")


class WhatsAppChannel:
    """AWS End User Messaging Social: a WhatsApp *template* message in the Meta Cloud API format.

    Business-initiated messages must use an approved template (Meta, "Message templates"); the message log id
    goes in `biz_opaque_callback_data`, which Meta echoes in every status event (≤ 512 characters)."""

    # socialmessaging errors (botocore model): 400 ValidationException / InvalidParametersException — the
    # payload or template does not fit (permanent); 403 AccessDeniedException, 404 ResourceNotFoundException —
    # the phone number id or permissions are wrong (an operator fixes them: transient, then redrive);
    # 429 ThrottledRequestException, 500 InternalServiceException, 502 DependencyException — retry.
    _PERMANENT = {"ValidationException", "InvalidParametersException"}

    def __init__(self, origination_phone_number_id: str, social: Any | None = None) -> None:
        self._origin = origination_phone_number_id
        self._social = social

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        """The Meta Cloud API message body for a template message."""
        if message.template is None:
            raise PermanentChannelError("pesan WhatsApp dari kantor wajib memakai template yang disetujui")
        template = message.template
        components: list[dict[str, Any]] = []
        if template.body_parameters:
            components.append({"type": "body", "parameters": [
                {"type": "text", "text": value} for value in template.body_parameters]})
        if template.button_parameter:
            components.append({"type": "button", "sub_type": "url", "index": "0",
                               "parameters": [{"type": "text", "text": template.button_parameter}]})
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": message.to, "type": "template",
            "template": {"name": template.name, "language": {"code": template.language}, "components": components}}
        if message.message_id:
            payload["biz_opaque_callback_data"] = message.message_id
        return payload

    def send(self, message: OutgoingMessage) -> str:
        social = self._social or client("socialmessaging")
        try:
            response = social.send_whatsapp_message(
                originationPhoneNumberId=self._origin, message=json.dumps(self.payload(message)).encode(),
                metaApiVersion=META_API_VERSION)
        except ChannelError:
            raise
        except Exception as exc:
            mapped = _channel_error(exc, self._PERMANENT, "WhatsApp menolak pesan", "WhatsApp belum dapat mengirim")
            if mapped is exc:
                raise
            raise mapped from exc
        return str(response["messageId"])


class EmailChannel:
    """Amazon SES (the sender must be a verified identity). With a configuration set, SES publishes the message's
    Send / Delivery / Bounce / Open events to SNS, tagged with our message id (`message_id` tag)."""

    # SES v1 send_email errors: MessageRejected (the message itself is refused: permanent);
    # MailFromDomainNotVerified, ConfigurationSetDoesNotExist, *SendingPaused, Throttling — retry / operator.
    _PERMANENT = {"MessageRejected"}

    def __init__(self, sender: str, ses: Any | None = None, configuration_set: str = "") -> None:
        self._sender = sender
        self._ses = ses
        self._configuration_set = configuration_set

    def send(self, message: OutgoingMessage) -> str:
        text = message.text + (f"\n\n{message.link}" if message.link else "")
        ses = self._ses or client("ses")
        extra: dict[str, Any] = {}
        if self._configuration_set:
            extra["ConfigurationSetName"] = self._configuration_set
        if message.message_id:  # tag values allow [A-Za-z0-9_-] only: our ids are hex
            extra["Tags"] = [{"Name": "message_id", "Value": message.message_id}]
        try:
            response = ses.send_email(
                Source=self._sender,
                Destination={"ToAddresses": [message.to]},
                Message={"Subject": {"Data": message.subject, "Charset": "UTF-8"},
                         "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}},
                **extra,
            )
        except Exception as exc:
            mapped = _channel_error(exc, self._PERMANENT, "SES menolak e-mail", "SES belum dapat mengirim")
            if mapped is exc:
                raise
            raise mapped from exc
        return str(response["MessageId"])


# ----------------------------------------------------------------------------- provider status events


def whatsapp_status_event(message_id: str, provider_id: str, status: str, timestamp: int,
                          errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A WhatsApp status event as End User Messaging Social publishes it to SNS: the Meta webhook `entry`
    as a JSON string in `whatsAppWebhookEntry` (AWS docs: "Example WhatsApp JSON for receiving a message"/
    delivery receipts). Used by the local outbox; the delivery-status function parses the real ones."""
    status_entry: dict[str, Any] = {"id": provider_id, "status": status, "timestamp": str(timestamp),
                                    "recipient_id": "local", "biz_opaque_callback_data": message_id}
    if errors:
        status_entry["errors"] = errors
    entry = {"id": "local-waba", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "metadata": {"phone_number_id": "local"}, "statuses": [status_entry]}}]}
    return {"context": {"MetaWabaIds": [], "MetaPhoneNumberIds": []}, "whatsAppWebhookEntry": json.dumps(entry),
            "aws_account_id": "123456789012", "message_timestamp": now_utc().isoformat()}


def ses_event(message_id: str, provider_id: str, event_type: str, timestamp: str,
              bounce_type: str | None = None) -> dict[str, Any]:
    """An SES event as a configuration set publishes it to SNS (eventType, mail.messageId, mail.tags)."""
    event: dict[str, Any] = {"eventType": event_type, "mail": {
        "timestamp": timestamp, "messageId": provider_id, "tags": {"message_id": [message_id]}}}
    if event_type == "Delivery":
        event["delivery"] = {"timestamp": timestamp}
    if event_type == "Bounce":
        event["bounce"] = {"bounceType": bounce_type or "Permanent", "bounceSubType": "General", "timestamp": timestamp}
    return event


# ----------------------------------------------------------------------------- the local adapter


class LocalOutbox:
    """Local adapter for both channels: appends messages to a JSON-lines file shown at /lokal/kotak-keluar, then
    plays the provider's status events (sent, delivered) to the delivery status topic, as End User Messaging
    Social and SES do. It can be told to fail (`set_fault`): N times or until cleared, transiently or
    permanently. Used only on the local stack (MESSAGING_MODE=local-outbox)."""

    _lock = threading.Lock()

    def __init__(self, path: Path, channel: str = "whatsapp") -> None:
        self.path = path
        self.channel = channel

    def send(self, message: OutgoingMessage) -> str:
        _take_fault(self.path.parent, message.channel)
        provider_id = f"local-{message.channel}-{hashlib.sha256((message.message_id or message.at.isoformat()).encode()).hexdigest()[:16]}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = message.model_dump(mode="json") | {"provider_id": provider_id}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with self._lock:
            # One write(2) on an O_APPEND descriptor: a reader in another process sees whole lines, or a last line
            # without its newline (see `outbox_lines`), never two lines interleaved.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        if message.message_id:
            _play_status_events(message, provider_id)
        return provider_id

    def messages(self) -> list[OutgoingMessage]:
        with self._lock:
            lines = outbox_lines(self.path)
        return [OutgoingMessage.model_validate_json(line) for line in lines]


def outbox_lines(path: Path) -> list[str]:
    """The complete lines of a local outbox file, in the order written; a last line still being written by another
    process (no newline yet) is left out. [] when the file does not exist."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    complete, _, _partial = text.rpartition("\n")
    return [line for line in complete.split("\n") if line.strip()]


def _play_status_events(message: OutgoingMessage, provider_id: str) -> None:
    topic = get_settings().delivery_status_topic_arn
    if not topic:
        return
    now = now_utc()
    if message.channel == "whatsapp":
        events = [whatsapp_status_event(message.message_id, provider_id, status, int(now.timestamp()))
                  for status in ("sent", "delivered")]
    else:
        events = [ses_event(message.message_id, provider_id, kind, now.isoformat()) for kind in ("Send", "Delivery")]
    sns = client("sns")
    for event in events:
        sns.publish(TopicArn=topic, Message=json.dumps(event))


_FAULTS = "outbox-faults.json"
_fault_lock = threading.Lock()


def set_fault(data_dir: Path, channel: str, mode: str | None, times: int | None = None) -> dict[str, Any]:
    """Make the local outbox fail on `channel`: mode "transient" (an outage) or "permanent" (invalid number),
    `times` sends (None: until cleared); mode None clears it. Returns the faults now in force."""
    if channel not in ("whatsapp", "email"):
        raise ValueError("kanal harus whatsapp atau email")
    if mode not in (None, "transient", "permanent"):
        raise ValueError("mode harus transient atau permanent")
    if times is not None and times < 1:
        raise ValueError("jumlah kegagalan minimal 1")
    with _fault_lock:
        faults = _read_faults(data_dir)
        if mode is None:
            faults.pop(channel, None)
        else:
            faults[channel] = {"mode": mode, "remaining": times}
        data_dir.mkdir(parents=True, exist_ok=True)
        (data_dir / _FAULTS).write_text(json.dumps(faults), encoding="utf-8")
        return faults


def _read_faults(data_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((data_dir / _FAULTS).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def _take_fault(data_dir: Path, channel: str) -> None:
    with _fault_lock:
        faults = _read_faults(data_dir)
        fault = faults.get(channel)
        if not fault:
            return
        if fault.get("remaining") is not None:
            fault["remaining"] -= 1
            if fault["remaining"] <= 0:
                faults.pop(channel)
            (data_dir / _FAULTS).write_text(json.dumps(faults), encoding="utf-8")
    if fault["mode"] == "permanent":
        raise PermanentChannelError(f"nomor atau alamat tidak valid (gangguan {channel} lokal yang disengaja)")
    raise TransientChannelError(f"layanan {channel} sedang gangguan (gangguan lokal yang disengaja)")


def outbox_path() -> Path:
    return Path(get_settings().data_dir) / "outbox.jsonl"


def channels() -> dict[str, Channel]:
    settings = get_settings()
    if settings.messaging_mode == "local-outbox":
        return {"whatsapp": LocalOutbox(outbox_path(), "whatsapp"), "email": LocalOutbox(outbox_path(), "email")}
    return {"whatsapp": WhatsAppChannel(settings.whatsapp_phone_number_id),
            "email": EmailChannel(settings.sender_email, configuration_set=settings.ses_configuration_set)}
