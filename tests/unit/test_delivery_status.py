"""Provider delivery status events → message log updates (services/delivery_status.parse), on events in the
shapes the providers publish:

- End User Messaging Social → SNS: `{"context": ..., "whatsAppWebhookEntry": "<one Meta webhook entry as a JSON
  string>", "aws_account_id": ..., "message_timestamp": ...}` (AWS End User Messaging Social User Guide,
  "WhatsApp message and event destinations"; the entry's `statuses[]` as Meta's Cloud API webhook reference
  "messages — status" describes them). `messageId` at the top level is optional (absent in AWS's own sample).
- SES configuration set → SNS: `eventType` (note "Rendering Failure" with a space), `mail` with
  `messageId` and `tags` as lists of strings (SES Developer Guide, "Contents of event data that Amazon SES
  publishes to Amazon SNS" and its examples)."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from silastri.adapters import message_log, messaging
from silastri.services import delivery_status

ROOT = Path(__file__).resolve().parents[2]
OURS = "5f0c3a1b2d4e6f708192a3b4c5d6e7f801234567"  # a message log id (notifications.message_id)


# ----------------------------------------------------------------------------- WhatsApp (End User Messaging Social)


def meta_status(status: str, *, ours: str | None = OURS, timestamp: str = "1762827867",
                **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ1", "status": status, "timestamp": timestamp,
                             "recipient_id": "6281234567890"}
    if ours is not None:
        entry["biz_opaque_callback_data"] = ours
    if status in ("sent", "delivered"):
        entry["conversation"] = {"id": "c1", "expiration_timestamp": "1762914267", "origin": {"type": "utility"}}
        entry["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
    return entry | extra


def eum_event(value: dict[str, Any], with_message_id: bool = True) -> dict[str, Any]:
    """An End User Messaging Social SNS message around one Meta webhook entry (the entry as a JSON string)."""
    entry = {"id": "1163793972139053", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "574086085794038"}} | value}]}
    event: dict[str, Any] = {
        "context": {
            "MetaWabaIds": [{"wabaId": "1163793972139053",
                             "arn": "arn:aws:social-messaging:ap-southeast-3:123456789012:waba/fb2594b8a79747"}],
            "MetaPhoneNumberIds": [{"metaPhoneNumberId": "574086085794038",
                                    "arn": "arn:aws:social-messaging:ap-southeast-3:123456789012:phone-number-id/976c72"}]},
        "whatsAppWebhookEntry": json.dumps(entry),
        "aws_account_id": "123456789012",
        "message_timestamp": "2025-11-11T02:24:28.476795989Z"}
    if with_message_id:
        event["messageId"] = "6d69f07a-c317-4278-9d5c-6a84078419ec"
    return event


@pytest.mark.parametrize(("status", "ours"), [("sent", message_log.SENT), ("delivered", message_log.DELIVERED),
                                              ("read", message_log.READ)])
def test_whatsapp_sent_delivered_and_read_become_our_statuses(status, ours):
    (update,) = delivery_status.parse(eum_event({"statuses": [meta_status(status)]}))
    assert update == delivery_status.StatusUpdate(OURS, ours, datetime.fromtimestamp(1762827867, UTC), None,
                                                  "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABEYEjQ1")


def test_a_failed_whatsapp_status_carries_metas_error_as_the_reason():
    failed = meta_status("failed", errors=[{
        "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
        "error_data": {"details": "Message Undeliverable."},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}])
    (update,) = delivery_status.parse(eum_event({"statuses": [failed]}, with_message_id=False))
    assert update.status == message_log.FAILED and update.message_id == OURS
    assert update.reason == "WhatsApp 131026: Message undeliverable"
    assert "6281234567890" not in update.reason  # the recipient's number is never part of what is stored


def test_several_statuses_in_one_entry_each_become_an_update_and_foreign_ones_are_skipped():
    statuses = [meta_status("sent", timestamp="100"), meta_status("delivered", timestamp="160"),
                meta_status("delivered", ours=None),           # a message not sent by us (no callback data)
                meta_status("played", ours="another-id")]      # a status we do not track (voice messages)
    updates = delivery_status.parse(eum_event({"statuses": statuses}))
    assert [(u.message_id, u.status, int(u.at.timestamp())) for u in updates] == [
        (OURS, message_log.SENT, 100), (OURS, message_log.DELIVERED, 160)]


def test_an_inbound_message_or_a_system_error_without_statuses_gives_nothing():
    inbound = {"contacts": [{"profile": {"name": "Siti"}, "wa_id": "6281234567890"}],
               "messages": [{"from": "6281234567890", "id": "wamid.IN=", "timestamp": "1762827867",
                             "text": {"body": "Halo"}, "type": "text"}]}
    system = {"errors": [{"code": 130429, "title": "Rate limit hit", "message": "Rate limit hit",
                          "error_data": {"details": "Cloud API message throughput has been reached."}}]}
    assert delivery_status.parse(eum_event(inbound)) == []
    assert delivery_status.parse(eum_event(system)) == []


def test_the_local_outboxs_whatsapp_events_parse_like_the_real_ones():
    event = messaging.whatsapp_status_event(OURS, "local-whatsapp-1", "delivered", 1762827867)
    assert isinstance(event["whatsAppWebhookEntry"], str)  # a JSON string, as End User Messaging Social sends it
    (update,) = delivery_status.parse(event)
    assert (update.message_id, update.status, update.provider_id) == (OURS, message_log.DELIVERED, "local-whatsapp-1")


# ----------------------------------------------------------------------------- e-mail (SES)


def ses_event(event_type: str, *, tags: dict[str, list[str]] | None = None, **detail: Any) -> dict[str, Any]:
    """An SES event as a configuration set publishes it to SNS (shape of the SES Developer Guide examples)."""
    mail_tags = {"ses:configuration-set": ["silastri-messages"], "ses:source-ip": ["192.0.2.0"],
                 "ses:from-domain": ["dpmptsp.rokanhilirkab.go.id"], "ses:caller-identity": ["silastri"]}
    mail_tags |= {"message_id": [OURS]} if tags is None else tags
    return {"eventType": event_type, "mail": {
        "timestamp": "2026-05-04T03:00:02.012Z", "source": "SILASTRI <noreply@dpmptsp.rokanhilirkab.go.id>",
        "sourceArn": "arn:aws:ses:ap-southeast-3:123456789012:identity/dpmptsp.rokanhilirkab.go.id",
        "sendingAccountId": "123456789012", "messageId": "0100018f3a-ses-message-id-000000",
        "destination": ["pemohon@contoh.id"], "headersTruncated": False,
        "commonHeaders": {"from": ["SILASTRI <noreply@dpmptsp.rokanhilirkab.go.id>"], "to": ["pemohon@contoh.id"],
                          "subject": "Permohonan diterima"},
        "tags": mail_tags}} | detail


BOUNCE = {"bounceSubType": "General", "timestamp": "2026-05-04T03:01:02.669Z", "feedbackId": "0100-feedback",
          "bouncedRecipients": [{"emailAddress": "pemohon@contoh.id", "action": "failed", "status": "5.1.1",
                                 "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]}


@pytest.mark.parametrize(("event", "status"), [
    (ses_event("Send", send={}), message_log.SENT),
    (ses_event("Delivery", delivery={"timestamp": "2026-05-04T03:00:14.133Z", "processingTimeMillis": 11893,
                                     "recipients": ["pemohon@contoh.id"], "smtpResponse": "250 2.6.0 Message received"}),
     message_log.DELIVERED),
    (ses_event("Open", open={"ipAddress": "192.0.2.1", "timestamp": "2026-05-04T04:00:00.000Z", "userAgent": "x"}),
     message_log.READ),
])
def test_ses_send_delivery_and_open_become_our_statuses(event, status):
    (update,) = delivery_status.parse(event)
    assert (update.message_id, update.status, update.reason) == (OURS, status, None)
    assert update.provider_id == "0100018f3a-ses-message-id-000000"  # mail.messageId, as send_email returned it


def test_the_send_event_is_dated_by_the_mails_timestamp():
    (update,) = delivery_status.parse(ses_event("Send", send={}))
    assert update.at == datetime(2026, 5, 4, 3, 0, 2, 12000, tzinfo=UTC)


def test_a_permanent_bounce_fails_the_message_and_a_transient_one_does_not():
    (update,) = delivery_status.parse(ses_event("Bounce", bounce=BOUNCE | {"bounceType": "Permanent"}))
    assert update.status == message_log.FAILED and update.reason == "e-mail ditolak penerima (bounce General)"
    assert "pemohon@contoh.id" not in update.reason
    # a soft bounce: SES keeps trying, nothing changes yet
    assert delivery_status.parse(ses_event("Bounce", bounce=BOUNCE | {"bounceType": "Transient"})) == []


@pytest.mark.parametrize(("event", "reason"), [
    (ses_event("Reject", reject={"reason": "Bad content"}), "SES menolak e-mail (virus atau kebijakan)"),
    (ses_event("Rendering Failure", failure={"errorMessage": "Attribute 'x' is not present in the rendering data.",
                                             "templateName": "MyTemplate"}), "template e-mail gagal dirender"),
])
def test_a_rejected_or_unrenderable_email_fails_with_a_reason(event, reason):
    (update,) = delivery_status.parse(event)
    assert (update.message_id, update.status, update.reason) == (OURS, message_log.FAILED, reason)


@pytest.mark.parametrize("event", [
    ses_event("Delivery", tags={}, delivery={"timestamp": "2026-05-04T03:00:14.133Z"}),  # not sent with our tag
    ses_event("Complaint", complaint={"complainedRecipients": [{"emailAddress": "pemohon@contoh.id"}]}),
    ses_event("DeliveryDelay", deliveryDelay={"delayType": "TransientCommunicationFailure"}),
    {"Type": "SubscriptionConfirmation"},  # neither provider's event
])
def test_events_of_no_message_of_ours_or_of_no_status_we_track_give_nothing(event):
    assert delivery_status.parse(event) == []


def test_the_local_outboxs_email_events_parse_like_the_real_ones():
    events = [messaging.ses_event(OURS, "local-email-1", kind, "2026-05-04T03:00:00+00:00") for kind in ("Send", "Delivery")]
    assert [u.status for e in events for u in delivery_status.parse(e)] == [message_log.SENT, message_log.DELIVERED]


# ----------------------------------------------------------------------------- the function: SNS → SQS → handler


def delivery_status_function() -> Any:
    spec = importlib.util.spec_from_file_location("silastri_test_delivery_status_app",
                                                  ROOT / "functions/delivery_status/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sqs_record(body: str) -> SQSRecord:
    return SQSRecord({"messageId": "q1", "receiptHandle": "r", "body": body, "attributes": {}, "messageAttributes": {},
                      "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "ap-southeast-3",
                      "eventSourceARN": "arn:aws:sqs:ap-southeast-3:123456789012:DeliveryStatusQueue"})


@pytest.mark.parametrize("raw_delivery", [False, True])
def test_the_function_unwraps_the_sns_envelope_when_there_is_one(monkeypatch, raw_delivery):
    applied: list[dict[str, Any]] = []
    monkeypatch.setattr(delivery_status, "apply", lambda event: applied.append(event) or 1)
    event = eum_event({"statuses": [meta_status("read")]})
    body = json.dumps(event) if raw_delivery else json.dumps({
        "Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:ap-southeast-3:123456789012:status",
        "Message": json.dumps(event), "Timestamp": "2026-05-04T03:00:00.000Z"})

    delivery_status_function()._record(sqs_record(body))

    assert applied == [event]
    assert [u.status for u in delivery_status.parse(applied[0])] == [message_log.READ]
