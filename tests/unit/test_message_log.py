"""The message log (adapters/message_log.py) and the notifier's exactly-once send (services/notifier.py) against
an in-process DynamoDB (moto) whose table is created from template.yaml's MessagesTable.

Channels are recording fakes (objects with `send`), never a provider; the Cognito and application look-ups
the notifier makes (identity.contact_of, identity.contacts_of_role, dynamo.get_application) are replaced by
functions returning fixed contacts and one application."""

from __future__ import annotations

import importlib.util
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from silastri.adapters import dynamo, identity, message_log, messaging
from silastri.adapters.messaging import (
    Notification,
    OutgoingMessage,
    PermanentChannelError,
    TransientChannelError,
    UncertainChannelError,
)
from silastri.domain import notifications
from silastri.domain.models import Application, ApplicationStatus
from silastri.services import notifier

ROOT = Path(__file__).resolve().parents[2]
REGION = "ap-southeast-3"
MESSAGES_TABLE = "silastri-unit-messages"
NOW = 1_800_000_000.0


@pytest.fixture(autouse=True)
def messages_table(template_tables):
    """An empty MessagesTable (as template.yaml declares it) in moto, with the models bound to it."""
    template_tables({"MessagesTable": MESSAGES_TABLE}, MESSAGES_TABLE=MESSAGES_TABLE)


FIELDS = dict(event="submitted", event_id="submitted:a1", channel="whatsapp", template="silastri_permohonan_diterima",
              recipient_id="user-1", recipient_role="applicant", office_id="rokan-hilir", application_id="a1")


def queued(message_id: str = "m1", **fields: Any) -> message_log.MessageItem:
    return message_log.ensure(message_id, **(FIELDS | fields))


def status_of(message_id: str) -> str:
    item = message_log.get(message_id)
    assert item is not None
    return item.status


def history_of(message_id: str) -> list[str]:
    item = message_log.get(message_id)
    assert item is not None
    return [entry["status"] for entry in item.history]


# ----------------------------------------------------------------------------- the message log


def test_ensure_creates_the_item_once_and_then_returns_it_unchanged():
    first = queued("m1")
    again = message_log.ensure("m1", **(FIELDS | {"template": "lain", "recipient_role": "back_office"}))

    assert first.status == again.status == message_log.QUEUED
    assert again.template == "silastri_permohonan_diterima" and again.recipient_role == "applicant"
    assert again.created_at == first.created_at and history_of("m1") == ["queued"]
    assert [m.message_id for m in message_log.for_application("a1")] == ["m1"]


def test_only_one_of_many_concurrent_claims_wins():
    queued("m1")
    start = threading.Barrier(12)

    def claim(_: int) -> int | None:
        start.wait()
        return message_log.claim_attempt("m1", NOW, 120)

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(claim, range(12)))

    assert sorted(results, key=lambda r: r or 0) == [None] * 11 + [1]
    item = message_log.get("m1")
    assert item and item.attempts == 1 and item.sending_until == int(NOW + 120)


def test_a_message_no_longer_waiting_cannot_be_claimed():
    queued("m1")
    attempt = message_log.claim_attempt("m1", NOW, 120)
    assert attempt == 1 and message_log.record_outcome("m1", attempt, message_log.SENT, provider_id="p-1")
    assert message_log.claim_attempt("m1", NOW + 1000, 120) is None
    assert message_log.claim_attempt("nothing-here", NOW, 120) is None  # no item: nothing to claim


def test_only_the_live_attempt_records_its_outcome():
    queued("m1")
    first = message_log.claim_attempt("m1", NOW, 120)
    assert first == 1
    assert not message_log.record_outcome("m1", 2, message_log.SENT)  # not the live attempt
    assert message_log.record_outcome("m1", first, message_log.RETRYING, reason="layanan gangguan")
    assert not message_log.record_outcome("m1", first, message_log.SENT)  # already closed

    second = message_log.claim_attempt("m1", NOW + 10, 120)
    assert second == 2
    assert not message_log.record_outcome("m1", first, message_log.SENT)  # the old attempt answers late
    assert message_log.record_outcome("m1", second, message_log.SENT, provider_id="p-2")

    item = message_log.get("m1")
    assert item and item.status == message_log.SENT and item.provider_id == "p-2"
    assert item.sending_until is None and item.reason is None
    assert history_of("m1") == ["queued", "retrying", "sent"]


def test_a_lease_that_ran_out_becomes_unknown_and_a_live_one_does_not():
    queued("stale")
    stale = message_log.claim_attempt("stale", NOW - 1000, 120)  # the sender died long ago
    assert stale == 1
    assert message_log.mark_unknown("stale", stale, NOW)
    assert status_of("stale") == message_log.UNKNOWN
    assert message_log.claim_attempt("stale", NOW, 120) is None  # never sent again by itself

    queued("fresh")
    fresh = message_log.claim_attempt("fresh", NOW, 120)
    assert fresh == 1
    assert not message_log.mark_unknown("fresh", fresh, NOW + 60)
    item = message_log.get("fresh")
    assert item and item.status == message_log.QUEUED and item.sending_until == int(NOW + 120)
    assert message_log.record_outcome("fresh", fresh, message_log.SENT)  # the live attempt still closes it


def test_statuses_only_move_forward():
    at = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
    queued("m1")
    attempt = message_log.claim_attempt("m1", NOW, 120)
    message_log.record_outcome("m1", attempt, message_log.SENT, provider_id="p-1")

    assert not message_log.apply_status("m1", message_log.SENT, at)  # a repeated event
    assert message_log.apply_status("m1", message_log.DELIVERED, at)
    assert message_log.apply_status("m1", message_log.READ, at + timedelta(seconds=5))
    assert not message_log.apply_status("m1", message_log.DELIVERED, at)  # arrives late: read stays read
    assert not message_log.apply_status("m1", message_log.FAILED, at, reason="late failure")
    assert status_of("m1") == message_log.READ
    assert history_of("m1") == ["queued", "sent", "delivered", "read"]


def test_failed_is_accepted_after_sent_but_not_after_delivered():
    at = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
    for mid in ("sent-then-failed", "delivered-then-failed"):
        queued(mid)
        message_log.record_outcome(mid, message_log.claim_attempt(mid, NOW, 120), message_log.SENT)
    message_log.apply_status("delivered-then-failed", message_log.DELIVERED, at)

    assert message_log.apply_status("sent-then-failed", message_log.FAILED, at, reason="WhatsApp 131026: undeliverable")
    assert not message_log.apply_status("delivered-then-failed", message_log.FAILED, at, reason="x")

    item = message_log.get("sent-then-failed")
    assert item and item.status == message_log.FAILED and item.reason == "WhatsApp 131026: undeliverable"
    assert status_of("delivered-then-failed") == message_log.DELIVERED


def test_a_status_event_settles_an_unknown_message_and_ignores_messages_we_do_not_know():
    queued("m1")
    message_log.mark_unknown("m1", message_log.claim_attempt("m1", NOW - 1000, 120), NOW)
    assert message_log.apply_status("m1", message_log.DELIVERED, datetime.now(UTC), provider_id="wamid.1")
    item = message_log.get("m1")
    assert item and item.status == message_log.DELIVERED and item.provider_id == "wamid.1" and item.reason is None

    assert not message_log.apply_status("not-ours", message_log.DELIVERED, datetime.now(UTC))
    assert message_log.get("not-ours") is None  # no item made up from an event


def test_reopen_only_from_failed_or_unknown():
    for mid, outcome in (("sent", message_log.SENT), ("failed", message_log.FAILED), ("retrying", message_log.RETRYING)):
        queued(mid)
        message_log.record_outcome(mid, message_log.claim_attempt(mid, NOW, 120), outcome, reason="r")
    queued("unknown")
    message_log.mark_unknown("unknown", message_log.claim_attempt("unknown", NOW - 1000, 120), NOW)
    queued("queued")

    assert not message_log.reopen("sent") and not message_log.reopen("retrying") and not message_log.reopen("queued")
    assert message_log.reopen("failed") and message_log.reopen("unknown")
    assert not message_log.reopen("failed")  # once: it is queued now

    for mid in ("failed", "unknown"):
        item = message_log.get(mid)
        assert item and item.status == message_log.QUEUED and item.reason is None
        assert message_log.claim_attempt(mid, NOW + 10, 120) == 2  # the redrive's attempt
    assert status_of("sent") == message_log.SENT


def test_inbox_messages_are_the_owners_and_marked_read_only_by_them():
    queued("i1", channel="inbox", status=message_log.DELIVERED, inbox_owner="officer-1",
           content={"subject": "Tugas baru", "body": "b", "link": None})
    queued("i2", channel="inbox", status=message_log.DELIVERED, inbox_owner="officer-2",
           content={"subject": "Tugas lain", "body": "b", "link": None})

    assert [m.message_id for m in message_log.inbox("officer-1")] == ["i1"]
    assert message_log.mark_read("i1", "officer-2") is None and status_of("i1") == message_log.DELIVERED
    read = message_log.mark_read("i1", "officer-1")
    assert read and read.status == message_log.READ


# ----------------------------------------------------------------------------- the notifier's exactly-once send


class Recording:
    """A fake channel: records every message handed to it, and fails as told first.

    `failures` is a list of exceptions raised by the first sends (one per send)."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.attempts: list[OutgoingMessage] = []
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> str:
        self.attempts.append(message)
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return f"provider-{len(self.sent)}"


APPLICANT = {"sub": "user-1", "phone_number": "+6281234567890", "email": "pemohon@contoh.id", "email_verified": "true"}
OFFICERS = [{"sub": "officer-1", "phone_number": "+6281100000001", "email": "bo1@contoh.id"},
            {"sub": "officer-2", "phone_number": "+6281100000002", "email": "bo2@contoh.id"}]


@pytest.fixture
def people(monkeypatch):
    """Contacts and the application the notifier looks up; returns the applicant's contact (editable)."""
    applicant = dict(APPLICANT)
    app = Application(application_id="a1", office_id="rokan-hilir", applicant_id="user-1",
                      permit_type="izin-operasional-orsos", status=ApplicationStatus.IN_PROGRESS,
                      registration_number="REG-2026-000123", created_at=datetime.now(UTC))
    monkeypatch.setattr(identity, "contact_of", lambda user_id: applicant if user_id == "user-1" else {})
    monkeypatch.setattr(identity, "contacts_of_role",
                        lambda office_id, role: OFFICERS if (office_id, role) == ("rokan-hilir", "back_office") else [])
    monkeypatch.setattr(dynamo, "get_application", lambda application_id, documents=True: app)
    return applicant


def submitted() -> Notification:
    return Notification(kind="submitted", event_id="submitted:a1", application_id="a1", office_id="rokan-hilir",
                        registration_number="REG-2026-000123", user_id="user-1")


def channels(whatsapp: Recording | None = None, email: Recording | None = None) -> dict[str, Any]:
    return {"whatsapp": whatsapp or Recording(), "email": email or Recording()}


def mid(note: Notification, recipient: str, channel: str) -> str:
    return notifications.message_id(note.event_id, recipient, channel)


def test_delivering_an_event_twice_sends_each_message_once(people):
    fakes = channels()
    note = submitted()

    assert notifier.deliver(note, fakes) == {"sent": 2}
    assert notifier.deliver(note, fakes) == {"sent": 2}  # the queue delivered it again: nothing is re-sent
    assert notifier.deliver(Notification.model_validate_json(note.model_dump_json()), fakes) == {"sent": 2}

    (whatsapp,), (email,) = fakes["whatsapp"].sent, fakes["email"].sent
    assert whatsapp.template and whatsapp.template.name == "silastri_permohonan_diterima"
    assert whatsapp.message_id == mid(note, "user-1", "whatsapp") and whatsapp.to == "+6281234567890"
    assert email.message_id == mid(note, "user-1", "email") and "REG-2026-000123" in email.subject
    item = message_log.get(whatsapp.message_id)
    assert item and item.status == message_log.SENT and item.provider_id == "provider-1" and item.attempts == 1
    assert item.note and "+6281234567890" not in str(item.note) and "pemohon@contoh.id" not in str(item.note)


def test_concurrent_deliveries_of_one_event_send_each_message_once(people):
    fakes = channels()
    note = submitted()
    start = threading.Barrier(6)

    def deliver(_: int) -> str:
        start.wait()
        try:
            notifier.deliver(note, fakes)
            return "done"
        except TransientChannelError:  # another delivery holds the attempt: the queue would retry later
            return "retry"

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(deliver, range(6)))
    assert len(fakes["whatsapp"].attempts) == 1 and len(fakes["email"].attempts) == 1


def test_a_transient_failure_is_retried_by_the_queue_and_sends_once(people):
    fakes = channels(whatsapp=Recording(TransientChannelError("WhatsApp belum dapat mengirim (ThrottledRequestException)")))
    note = submitted()
    whatsapp_id = mid(note, "user-1", "whatsapp")

    with pytest.raises(TransientChannelError):
        notifier.deliver(note, fakes)
    item = message_log.get(whatsapp_id)
    assert item and item.status == message_log.RETRYING and "ThrottledRequestException" in (item.reason or "")
    assert len(fakes["email"].sent) == 1  # the other channel was not held back

    assert notifier.deliver(note, fakes) == {"sent": 2}
    assert len(fakes["whatsapp"].attempts) == 2 and len(fakes["whatsapp"].sent) == 1
    assert len(fakes["email"].attempts) == 1
    assert status_of(whatsapp_id) == message_log.SENT and history_of(whatsapp_id) == ["queued", "retrying", "sent"]


def test_an_unexpected_error_is_treated_as_transient(people):
    fakes = channels(email=Recording(ConnectionError("SES unavailable")))
    with pytest.raises(TransientChannelError, match="ConnectionError"):
        notifier.deliver(submitted(), fakes)
    assert status_of(mid(submitted(), "user-1", "email")) == message_log.RETRYING


def test_a_permanent_failure_is_recorded_and_neither_raised_nor_retried(people):
    fakes = channels(whatsapp=Recording(PermanentChannelError("WhatsApp menolak pesan (ValidationException)")))
    note = submitted()

    assert notifier.deliver(note, fakes) == {"failed": 1, "sent": 1}
    assert notifier.deliver(note, fakes) == {"failed": 1, "sent": 1}

    assert len(fakes["whatsapp"].attempts) == 1
    item = message_log.get(mid(note, "user-1", "whatsapp"))
    assert item and item.status == message_log.FAILED and item.reason == "WhatsApp menolak pesan (ValidationException)"


def test_an_uncertain_send_is_not_sent_again(people):
    fakes = channels(whatsapp=Recording(UncertainChannelError("tidak ada jawaban setelah pesan dikirim")))
    note = submitted()
    assert notifier.deliver(note, fakes) == {"unknown": 1, "sent": 1}
    assert notifier.deliver(note, fakes) == {"unknown": 1, "sent": 1}
    assert len(fakes["whatsapp"].attempts) == 1


def test_an_attempt_in_flight_elsewhere_is_retried_later_and_a_dead_one_becomes_unknown(people):
    note = submitted()
    rule = notifier.plan_for("rokan-hilir").rules_for("submitted")[0]
    params = notifier.event_params(note)
    whatsapp_id = mid(note, "user-1", "whatsapp")
    message_log.ensure(whatsapp_id, **(FIELDS | {"event_id": note.event_id}))
    message_log.claim_attempt(whatsapp_id, time.time(), notifier.LEASE_SECONDS)  # another sender is at it
    fakes = channels()

    with pytest.raises(TransientChannelError, match="sedang dikirim"):
        notifier.send_one(note, rule, "applicant", people, "whatsapp", params, fakes)

    message_log.get(whatsapp_id).update(actions=[message_log.MessageItem.sending_until.set(int(time.time()) - 1)])
    assert notifier.send_one(note, rule, "applicant", people, "whatsapp", params, fakes) == message_log.UNKNOWN
    assert status_of(whatsapp_id) == message_log.UNKNOWN and fakes["whatsapp"].attempts == []


@pytest.mark.parametrize("verified", [None, "false", "False", ""])
def test_an_applicants_email_is_used_only_once_verified(people, verified):
    if verified is None:
        del people["email_verified"]
    else:
        people["email_verified"] = verified
    fakes = channels()

    assert notifier.deliver(submitted(), fakes) == {"sent": 1, "skipped": 1}
    assert fakes["email"].attempts == [] and len(fakes["whatsapp"].sent) == 1
    assert message_log.get(mid(submitted(), "user-1", "email")) is None  # nothing logged for a skipped channel


def test_an_applicant_without_a_phone_number_gets_email_only(people):
    del people["phone_number"]
    fakes = channels()
    assert notifier.deliver(submitted(), fakes) == {"sent": 1, "skipped": 1}
    assert fakes["whatsapp"].attempts == [] and len(fakes["email"].sent) == 1


def test_officers_get_email_and_the_inbox_and_no_whatsapp_under_the_default_plan(people):
    assert notifier.plan_for("rokan-hilir").name == "standar"
    fakes = channels()
    note = Notification(kind="task_opened", event_id="task_opened:t1", application_id="a1", office_id="rokan-hilir",
                        role="back_office", params={"step": "completeness_check", "task_id": "t1"})

    assert notifier.deliver(note, fakes) == {"sent": 2, "delivered": 2}
    assert notifier.deliver(note, fakes) == {"sent": 2, "delivered": 2}

    assert fakes["whatsapp"].attempts == []
    assert sorted(m.to for m in fakes["email"].sent) == ["bo1@contoh.id", "bo2@contoh.id"]
    assert all(m.link and "/petugas/tugas/t1?l=" in m.link for m in fakes["email"].sent)
    for officer in ("officer-1", "officer-2"):
        (item,) = message_log.inbox(officer)
        assert item.status == message_log.DELIVERED and item.content["link"].startswith(
            "https://silastri.example/petugas/tugas/t1?l=")
        assert "REG-2026-000123" in item.content["subject"] + item.content["body"]


def test_an_event_the_plan_routes_to_nobody_sends_nothing(people):
    fakes = channels()
    note = Notification(kind="step_done", event_id="step_done:t1", application_id="a1", office_id="rokan-hilir",
                        role="back_office", params={"step": "completeness_check", "outcome": "complete"})
    assert notifier.deliver(note, fakes) == {}
    assert not notifier.wanted(note)
    assert fakes["whatsapp"].attempts == fakes["email"].attempts == []


# ----------------------------------------------------------------------------- the notifier function's backoff


def notifier_function() -> Any:
    """functions/notifier/app.py, imported from its CodeUri as Lambda does (functions are not packages)."""
    spec = importlib.util.spec_from_file_location("silastri_test_notifier_app", ROOT / "functions/notifier/app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Fixed(random.Random):
    """A random source whose `uniform` always returns its lowest or its highest value."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a: float, b: float) -> float:
        return b if self.high else a


def test_the_backoff_grows_with_each_receive_and_stays_between_1_and_900_seconds():
    backoff = notifier_function().backoff_seconds
    lowest = [backoff(n, 10.0, Fixed(high=False)) for n in range(1, 12)]
    highest = [backoff(n, 10.0, Fixed(high=True)) for n in range(1, 12)]
    assert lowest[:4] == [5, 10, 20, 40] and highest[:4] == [10, 20, 40, 80]  # base·2^(n-1), half of it jittered
    assert lowest == sorted(lowest) and highest == sorted(highest)
    assert highest[-1] == 900 and lowest[-1] == 450  # capped at SQS's 15 minutes (ceiling 900, jitter in half)

    rng = random.Random(7)
    for base in (0.1, 1.0, 10.0, 60.0, 900.0):
        for receives in range(0, 40):
            assert 1 <= backoff(receives, base, rng) <= 900
    assert backoff(1, 0.1, rng) == 1  # the local base (0.1 s) still waits the 1 s SQS allows at least


def test_the_backoff_is_jittered():
    backoff = notifier_function().backoff_seconds
    rng = random.Random(11)
    delays = [backoff(6, 10.0, rng) for _ in range(50)]  # ceiling 320 s: between 160 and 320
    assert all(160 <= d <= 320 for d in delays) and len(set(delays)) > 10


def test_deliver_takes_its_channels_from_the_messaging_adapter(people, monkeypatch):
    """deliver() without channels uses messaging.channels() (chosen by settings); swapped for fakes here."""
    fakes = channels()
    monkeypatch.setattr(messaging, "channels", lambda: fakes)
    assert notifier.deliver(submitted()) == {"sent": 2}
    assert len(fakes["whatsapp"].sent) == len(fakes["email"].sent) == 1


def test_a_record_that_failed_for_now_comes_back_after_the_backoff(people, monkeypatch, unit_env):
    """The notifier function on a real (moto) SQS queue: the failed record is hidden for the backoff delay
    (ChangeMessageVisibility), then received again and sent; the message already sent is not sent again."""
    unit_env(MESSAGES_TABLE=MESSAGES_TABLE, NOTIFICATION_RETRY_BASE_SECONDS="0.1")  # the local base: 1 s waits
    fakes = channels(whatsapp=Recording(TransientChannelError("WhatsApp belum dapat mengirim (InternalServiceException)")))
    monkeypatch.setattr(messaging, "channels", lambda: fakes)
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="NotificationsQueue", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(QueueUrl=url, MessageBody=submitted().model_dump_json())
    function = notifier_function()

    def receive() -> list[Any]:
        from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

        messages = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"]).get("Messages", [])
        return [SQSRecord({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                           "attributes": m["Attributes"], "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                           "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": REGION}) for m in messages]

    (first,) = receive()
    with pytest.raises(TransientChannelError):
        function._record(first)
    assert receive() == []  # hidden for the backoff (the queue's own visibility timeout here is 0)

    time.sleep(1.2)
    (second,) = receive()
    assert second.attributes.approximate_receive_count == "2"
    function._record(second)
    assert len(fakes["whatsapp"].sent) == 1 and len(fakes["email"].attempts) == 1
