"""Red-team tests of the messaging feature (issue 9): each test demonstrates a defect found by attacking it (it
failed on the code as the red-team found it, and passes since the fix). They run in-process (moto or fakes, no stack), so each takes well under a second.

Run one: PYTHONPATH=layers/common/python:infra:functions/api .venv/bin/python -m pytest -p no:cacheprovider \
    tests/reliability/test_messages_redteam.py::<test>
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler
from silastri.adapters import aws, dynamo, message_log, messaging
from silastri.domain import notifications, steps
from silastri.domain.models import Application, ApplicationStatus, Task, TimelineEvent
from silastri.services import automated, sla, tasks, timeline
from silastri.settings import get_settings
from silastri_local import template as tpl

REGION = "ap-southeast-3"
MESSAGES_TABLE = "silastri-redteam-messages"
NOW = 1_800_000_000.0

ENV = {
    "APPLICATIONS_TABLE": "a", "UPLOADS_TABLE": "u", "TASKS_TABLE": "t", "EVENTS_TABLE": "e", "COUNTERS_TABLE": "c", "PERMITS_TABLE": "p",
    "SURVEYS_TABLE": "s", "CODES_TABLE": "k", "IDEMPOTENCY_TABLE": "i", "MESSAGES_TABLE": MESSAGES_TABLE,
    "UPLOADS_BUCKET": "u", "DOCUMENTS_BUCKET": "d", "NOTIFICATIONS_TOPIC_ARN": "arn:aws:sns:ap-southeast-3:1:x",
    "USER_POOL_ID": "p", "USER_POOL_CLIENT_ID": "c", "COGNITO_JWKS_URL": "http://127.0.0.1/jwks",
    "COGNITO_ISSUER": "i", "PUBLIC_BASE_URL": "https://silastri.example", "APP_SECRET_KEY": "x" * 64,
    "DATA_DIR": "/tmp/silastri-redteam", "AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}


@pytest.fixture(autouse=True)
def settings(monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@lru_cache(maxsize=1)
def _table_properties() -> dict[str, Any]:
    return tpl.load_template()["Resources"]["MessagesTable"]["Properties"]


@pytest.fixture
def messages_table(monkeypatch):
    """An empty MessagesTable (as template.yaml declares it) in moto, each request applied atomically."""
    lock, call_action = threading.Lock(), DynamoHandler.call_action

    def atomic(self):
        with lock:
            return call_action(self)

    monkeypatch.setattr(DynamoHandler, "call_action", atomic)
    props = _table_properties()
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=MESSAGES_TABLE, BillingMode=props["BillingMode"],
            AttributeDefinitions=props["AttributeDefinitions"], KeySchema=props["KeySchema"],
            GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"])
        dynamo._BOUND_TO = None
        yield
    dynamo._BOUND_TO = None


# ----------------------------------------------------------------------------- statuses


def test_a_late_failed_event_of_an_earlier_attempt_does_not_undo_a_successful_resend(messages_table):
    """Defect: status events are applied by status alone, never matched to the attempt (provider message id).

    WhatsApp reports attempt 1 (provider id wamid-1) failed; the operator redrives with --include-failed and
    attempt 2 (wamid-2) is sent. SNS/SQS and Meta's webhooks deliver at least once, so a second copy of the
    wamid-1 `failed` event can arrive after the resend: it turns the resent message `failed` (sent → failed is
    allowed), overwrites provider_id with wamid-1, and then wamid-2's `delivered` is refused (nothing moves on
    from failed). The officer sees a delivered message as failed, and the next `redrive --include-failed`
    sends it a third time."""
    mid = "m-redrive"
    message_log.ensure(mid, event="permit_ready", event_id="permit_ready:a1", channel="whatsapp",
                       template="silastri_izin_siap_diambil", recipient_id="user-1", recipient_role="applicant",
                       office_id="rokan-hilir", application_id="a1")
    first = message_log.claim_attempt(mid, NOW, 120)
    assert first and message_log.record_outcome(mid, first, message_log.SENT, provider_id="wamid-1")
    at = datetime.fromtimestamp(NOW, UTC)
    assert message_log.apply_status(mid, message_log.FAILED, at, "WhatsApp 131026: undeliverable", "wamid-1")
    assert message_log.reopen(mid)  # the operator's redrive --include-failed
    second = message_log.claim_attempt(mid, NOW + 600, 120)
    assert second and message_log.record_outcome(mid, second, message_log.SENT, provider_id="wamid-2")

    # the duplicate of attempt 1's failure arrives late, then attempt 2's delivery receipt
    message_log.apply_status(mid, message_log.FAILED, at, "WhatsApp 131026: undeliverable", "wamid-1")
    message_log.apply_status(mid, message_log.DELIVERED, at + timedelta(minutes=11), None, "wamid-2")

    item = message_log.get(mid)
    assert item is not None
    assert item.provider_id == "wamid-2", item.provider_id
    assert item.status == message_log.DELIVERED, [h["status"] for h in item.history]


# ----------------------------------------------------------------------------- hostile input → template parameters


def test_a_long_rejection_reason_keeps_the_whatsapp_body_within_metas_1024_characters():
    """Defect: the decision note (the API accepts 2000 characters, SOP 6 `rejected` / SOP 4 `not_recommend`)
    becomes the `reason` parameter; `clean_parameter` cuts each parameter to 1024, but the template text around it
    (silastri_permohonan_ditolak) is added on top, so the body WhatsApp must show is ~1150 characters. Meta
    limits a template body to 1024 characters as displayed (sends fail; the rejection would then be recorded
    failed, permanently, and the applicant never learns of it by WhatsApp)."""
    catalog = notifications.default_messages()
    plan = catalog.plan("standar")
    rule = next(r for r in plan.rules_for("closed_rejected") if r.to == "applicant")
    assert rule.whatsapp
    note = "Lokasi kegiatan tidak sesuai dengan tata ruang. " * 42  # 2000 characters, as the API accepts
    params = dict.fromkeys(notifications.params_of("closed_rejected"), "-") | {
        "registration_number": "REG-2026-000123", "reason": note.strip()[:2000],
        "application_path": "permohonan/3f2a9c0d5e7b4a1c"}
    rendered = notifications.render_whatsapp(catalog, rule.whatsapp, params)
    assert len(rendered.preview) <= 1024, len(rendered.preview)


# ----------------------------------------------------------------------------- loss: a step that runs again


class _Published(list):
    """messaging.publish stand-in: fails the first `fail` calls (an SNS throttle/outage), records the rest."""

    def __init__(self, fail: int) -> None:
        super().__init__()
        self.fail = fail

    def __call__(self, note: messaging.Notification) -> None:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("sns: Throttling (simulated)")
        self.append(note)


def _fake_application(**fields: Any) -> Application:
    base = dict(application_id="a1", office_id="rokan-hilir", applicant_id="user-1",
                permit_type="izin-operasional-orsos", status=ApplicationStatus.IN_PROGRESS,
                registration_number="REG-2026-000123", created_at=datetime.now(UTC))
    return Application(**(base | fields))


def test_submitted_is_still_published_when_record_submission_runs_again_after_a_failed_publish(monkeypatch):
    """Defect: `record_submission` writes the timeline entry first and publishes after it, guarded by "no
    `submitted` entry yet". If the publish fails (SNS throttled, a kill -9 or Lambda crash between the two
    writes), the step fails; when it runs again (the run continued by `silastri runs continue`, which resumes at
    this state; the local runtime after a restart) the guard sees the entry and skips the publish: the applicant
    never gets "permohonan diterima" with the registration number. `timeline.notify` promises the opposite
    ("a retried step publishes the same event")."""
    app = _fake_application()
    entries: list[TimelineEvent] = []
    monkeypatch.setattr(dynamo, "get_application", lambda application_id: app)
    monkeypatch.setattr(dynamo, "timeline", lambda application_id: list(entries))

    def record(application_id: str, step: str, action: str, actor_role: str, actor_id: str | None = None,
               note: str | None = None, **details: Any) -> TimelineEvent:
        event = TimelineEvent(application_id=application_id, event_id=f"{len(entries):08d}", seq=len(entries),
                              prev_hash="", at=datetime.now(UTC), step=step, action=action, actor_role=actor_role)
        entries.append(event)
        return event

    monkeypatch.setattr(timeline, "record", record)
    published = _Published(fail=1)
    monkeypatch.setattr(messaging, "publish", published)

    with pytest.raises(RuntimeError):
        automated.record_submission("a1")  # the publish fails: the task's opener fails
    automated.record_submission("a1")  # the same opener again (Lambda retry / continued run / restart)

    assert [n.kind for n in published] == ["submitted"]


def test_permit_ready_is_still_published_when_the_pickup_task_opener_runs_again(monkeypatch):
    """Defect: `open_human_task` publishes `task_opened` and `permit_ready` only when it did not find the task
    already open ("not resumed"). The task is stored first; if the publish (or the timeline write before it)
    fails or the process dies there, the opener runs again, finds its own task, takes it for a resumed run and
    publishes nothing: the applicant is never told the permit is ready (where/when/what to bring) and the back
    office gets no task e-mail/inbox message — the exact gap issue 9 was filed for."""
    app = _fake_application(status=ApplicationStatus.ISSUED)
    stored: dict[str, Task] = {}

    def open_task(task: Task, token: str) -> Task:
        for existing in stored.values():
            if existing.step == task.step:
                return existing
        stored[task.task_id] = task
        return task

    def update_application(application_id: str, change: Any, attempts: int = 12,
                           documents: bool = True) -> tuple[Application, Any]:
        return app, change(app)

    monkeypatch.setattr(tasks, "finish_pending_decisions", lambda application_id, step_id, token, history=None: None)
    monkeypatch.setattr(dynamo, "tasks_of_application", lambda application_id: list(stored.values()))
    monkeypatch.setattr(dynamo, "get_application", lambda application_id, documents=True: app)
    monkeypatch.setattr(dynamo, "timeline", lambda application_id: [])  # timeline.record is faked below: no entry
    monkeypatch.setattr(dynamo, "open_task", open_task)
    monkeypatch.setattr(dynamo, "update_application", update_application)
    monkeypatch.setattr(timeline, "record", lambda *a, **k: None)
    published = _Published(fail=1)
    monkeypatch.setattr(messaging, "publish", published)
    # the SLA clock is not what is tested here: a task without a clock
    monkeypatch.setattr(sla, "clock_for", _no_clock)

    pickup = steps.StepId.PICKUP.value
    with pytest.raises(RuntimeError):
        tasks.open_human_task("a1", "rokan-hilir", pickup, "Pickup", "token-1", "run-1")
    tasks.open_human_task("a1", "rokan-hilir", pickup, "Pickup", "token-2", "run-1")

    kinds = [n.kind for n in published]
    assert "permit_ready" in kinds, kinds
    assert "task_opened" in kinds, kinds


def _no_clock(*args: Any, **kwargs: Any) -> Any:
    from silastri.domain.calendar import CalendarYearError

    raise CalendarYearError("tahun 2099 belum ada")


# ----------------------------------------------------------------------------- the plan's promise


def test_the_applicant_gets_at_most_5_whatsapp_messages_on_the_happy_path_and_one_per_revision_round():
    """Cost promise, as documented (README "Pesan (notifikasi)"): at most 5 WhatsApp template messages to the
    applicant on a permit without revision (received, receipt, permit ready, handed over = 4), and exactly one more
    per revision round — the deadline must reach the applicant (an office allows `max_revision_rounds`). The
    red-team found the "≤ 5" held only on the happy path; the figure is now stated per path."""
    from silastri.domain.catalog import default_catalog

    for office in default_catalog().offices.values():
        plan = notifications.default_messages().plan(office.notification_plan)

        def whatsapp(event: str) -> int:
            return sum(1 for r in plan.rules_for(event) if r.to == "applicant" and r.whatsapp)

        happy = (whatsapp("submitted") + whatsapp("receipt_issued") + whatsapp("permit_ready")
                 + whatsapp("closed_completed"))
        assert happy <= 5, f"{office.office_id}: {happy} WhatsApp messages on the happy path"
        assert whatsapp("revision_requested") == 1


# ----------------------------------------------------------------------------- a sender that died mid-attempt (stack)


def test_a_message_whose_sender_died_mid_attempt_is_not_left_queued_in_the_dead_letter_queue(tmp_path, monkeypatch):
    """Defect found (local stack, operator view): an attempt whose sender died after claiming it keeps its lease
    (LEASE_SECONDS = 120); locally the queue's 8 receives were spent in ~20 s, each answering "being sent by
    another process", so the notification landed in the dead-letter queue with the message still `queued`.
    Now the notifier comes back when the lease has run out and marks the message `unknown` (listed, not re-sent).
    Simulated by claiming the message as a worker would (with a short lease), then publishing the notification."""
    import json
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    from silastri_local.client import ApiClient, wait_for
    from silastri_local.journey import journey_at, officer_clients
    from silastri_local.stack_process import StackProcess

    stack = StackProcess(tmp_path / "data").start()
    try:
        api = ApiClient(stack.url, timeout=20)
        journey = journey_at(api, officer_clients(api, stack.officers()), "completeness_check", "sip")
        info = json.loads((Path(stack.data_dir) / "stack.json").read_text())
        for key, value in {**info["environment"], "AWS_ENDPOINT_URL": stack.aws_url}.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        aws.client.cache_clear()  # clients made for another stack's endpoint earlier in this process
        dynamo._BOUND_TO = None
        applicant = stack.aws("cognito-idp").list_users(
            UserPoolId=info["environment"]["USER_POOL_ID"], Filter=f'email = "{journey.credentials["email"]}"',
            Limit=1)["Users"][0]["Username"]
        sub = next(a["Value"] for a in stack.aws("cognito-idp").admin_get_user(
            UserPoolId=info["environment"]["USER_POOL_ID"], Username=applicant)["UserAttributes"] if a["Name"] == "sub")
        event_id = f"receipt_issued:{journey.application_id}:redteam-{uuid.uuid4().hex[:6]}"
        note = messaging.Notification(kind="receipt_issued", application_id=journey.application_id, user_id=sub,
                                      office_id="rokan-hilir", event_id=event_id)
        mid = notifications.message_id(event_id, sub, "whatsapp")
        message_log.ensure(mid, event="receipt_issued", event_id=event_id, channel="whatsapp",
                           template="silastri_tanda_terima", recipient_id=sub, recipient_role="applicant",
                           office_id="rokan-hilir", application_id=journey.application_id,
                           note=note.model_dump(mode="json"))
        # a worker claimed the attempt and died (its lease runs out 8 s from now; a real one holds LEASE_SECONDS)
        assert message_log.claim_attempt(mid, time.time(), 8) == 1
        messaging.publish(note)
        sqs = stack.aws("sqs")
        dlq = sqs.get_queue_url(QueueName="silastri-NotificationsDeadLetterQueue")["QueueUrl"]

        def settled() -> bool:
            item = message_log.get(mid)
            return item is not None and item.status == "unknown"

        # the notifier waits for the lease instead of spending the queue's receives: the message ends `unknown`
        # (not re-sent, listed for the operator), and the notification does not land in the dead-letter queue
        wait_for(settled, timeout=90, interval=1, what="the dead attempt marked unknown")
        depth = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                    ["Attributes"]["ApproximateNumberOfMessages"])
        listed = subprocess.run([sys.executable, "-m", "silastri_local.cli", "--data-dir", str(stack.data_dir),
                                 "notifications", "list"], capture_output=True, text=True, timeout=120)
        sent = [line for line in messaging.outbox_lines(Path(stack.data_dir) / "outbox.jsonl") if mid in line]
        assert depth == 0
        assert sent == []
        assert journey.registration_number in listed.stdout, listed.stdout[-500:]
    finally:
        get_settings.cache_clear()
        aws.client.cache_clear()
        dynamo._BOUND_TO = None
        stack.stop()
