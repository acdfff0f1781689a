"""Where moto is weaker than AWS, the local runtime closes the gap — shown here, one test per gap."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import jwt
import moto
import pytest
from silastri.adapters import dynamo, identity
from silastri.domain.clock import to_wib
from silastri.domain.models import Application, ApplicationStatus, Task
from silastri.domain.numbering import counter_id
from silastri.services import numbering
from silastri_local.runtime import parse_rate


def _submitted_application(permit_type: str = "sip") -> Application:
    app = Application(application_id=str(uuid.uuid4()), office_id="rokan-hilir", applicant_id="applicant-x",
                      permit_type=permit_type, status=ApplicationStatus.IN_PROGRESS,
                      registration_number=f"REG-T-{uuid.uuid4().hex[:6]}",
                      form={"practitioner_name": "dr. Uji"}, created_at=datetime.now(UTC),
                      submitted_at=datetime.now(UTC))
    dynamo.create_application(app)
    return app


def test_200_concurrent_number_assignments_are_unique_and_gap_free(local_stack):
    apps = [_submitted_application() for _ in range(200)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(numbering.assign, [a.application_id for a in apps]))
    sequences = sorted(int(n.split("/")[2]) for n in numbers)
    assert sequences == list(range(sequences[0], sequences[0] + 200))
    stored = {dynamo.get_application(a.application_id).permit_number for a in apps}
    assert stored == set(numbers)
    assert [numbering.assign(a.application_id) for a in apps[:3]] == numbers[:3]  # a number once taken stays


def test_a_number_taken_before_a_crash_is_neither_lost_nor_duplicated(local_stack):
    crashed, next_one, after = _submitted_application(), _submitted_application(), _submitted_application()
    counter = counter_id("rokan-hilir", "sip", to_wib(datetime.now(UTC)).year)
    state = dynamo.read_number_counter(counter)
    # the crashed request moved the counter (its batch: itself) but was killed before writing its number
    last = list(state.holders[len(state.holders) - state.recent:])
    assert dynamo.advance_numbers(counter, state.value, [*last, crashed.application_id], 1)
    assert dynamo.get_application(crashed.application_id).permit_number is None
    got = numbering.assign(next_one.application_id)
    assert int(got.split("/")[2]) == state.value + 2
    assert int(numbering.assign(after.application_id).split("/")[2]) == state.value + 3
    # the taker that retired the crashed one's batch from the counter wrote its number first
    recovered = dynamo.get_application(crashed.application_id).permit_number
    assert recovered is not None and int(recovered.split("/")[2]) == state.value + 1
    assert numbering.assign(crashed.application_id) == recovered  # idempotent


def test_failed_notifications_are_retried_then_dead_lettered(local_stack):
    sqs = boto3.client("sqs")
    refs = local_stack.resources.refs
    queue, dlq = refs["NotificationsQueue"], refs["NotificationsDeadLetterQueue"]
    arn = local_stack.resources.attrs[("NotificationsQueue", "Arn")]
    sqs.send_message(QueueUrl=queue, MessageBody="not a notification")
    receives = local_stack.template["Resources"]["NotificationsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    for _ in range(receives + 1):  # SQS moves it on the receive after maxReceiveCount
        local_stack.poll_queue_once("NotifierFunction", queue, arn, 10, failed_visibility=0)
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in dead] == ["not a notification"]
    assert not sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=0).get("Messages")


def test_good_notifications_reach_the_local_outbox(local_stack):
    from silastri.adapters import messaging

    sqs = boto3.client("sqs")
    refs = local_stack.resources.refs
    note = messaging.Notification(kind="task_opened", office_id="rokan-hilir", role="head",
                                  registration_number="REG-2026-999999",
                                  params={"task_id": "t-1", "step": "signing"})
    sqs.send_message(QueueUrl=refs["NotificationsQueue"], MessageBody=note.model_dump_json())
    local_stack.poll_queue_once("NotifierFunction", refs["NotificationsQueue"],
                                local_stack.resources.attrs[("NotificationsQueue", "Arn")], 10)
    sent = [m for m in messaging.LocalOutbox(messaging.outbox_path()).messages() if "REG-2026-999999" in m.text]
    # officers: e-mail (and the in-app inbox, not an outbox message); WhatsApp only where the office's plan says
    assert {m.channel for m in sent} == {"email"}
    assert all(m.link and "/petugas/tugas/t-1?l=" in m.link for m in sent)


def test_schedules_follow_the_templates_rate_and_remind_once(local_stack):
    spec = local_stack.specs["SlaMonitorFunction"]
    assert parse_rate(spec.events["Every15Minutes"]["Properties"]["Schedule"]) == 900
    with pytest.raises(ValueError):
        parse_rate("cron(0 1 * * ? *)")
    app = _submitted_application()
    dynamo.open_task(Task(task_id=uuid.uuid4().hex, application_id=app.application_id, office_id="rokan-hilir",
                          step="verification", role="verifier", opened_at=datetime.now(UTC) - timedelta(hours=2),
                          execution_name="x", due_at=datetime.now(UTC) - timedelta(hours=1),
                          remind_at=datetime.now(UTC) - timedelta(hours=1, minutes=30),
                          sla={"standard": "10 menit", "budget_minutes": 10, "consumed_minutes": 0}), "secret-token")
    assert local_stack.invoke("SlaMonitorFunction", {})["escalated"] >= 1
    assert local_stack.invoke("SlaMonitorFunction", {}) == {"reminded": 0, "escalated": 0}


def _moto_signed(claims: dict) -> str:
    private = Path(moto.__file__).parent / "cognitoidp/resources/jwks-private.json.gz"
    key = json.loads(gzip.decompress(private.read_bytes()))
    return jwt.encode(claims, jwt.PyJWK(key).key, algorithm="RS256", headers={"kid": key["kid"]})


def test_tokens_are_verified_by_the_app_not_trusted(local_stack):
    import os

    now = int(time.time())
    base = {"sub": "u-1", "aud": os.environ["USER_POOL_CLIENT_ID"], "iss": os.environ["COGNITO_ISSUER"],
            "token_use": "id", "iat": now, "exp": now + 600, "cognito:groups": ["head"]}
    assert identity.verify_token(_moto_signed(base)).roles == {"head"}
    for bad in ({**base, "exp": now - 3600, "iat": now - 7200}, {**base, "aud": "other-client"},
                {**base, "iss": "https://cognito-idp.ap-southeast-3.amazonaws.com/other"},
                {**base, "token_use": "access"}):
        with pytest.raises(identity.AuthError):
            identity.verify_token(_moto_signed(bad))
    from cryptography.hazmat.primitives.asymmetric import rsa

    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(base, stranger, algorithm="RS256",
                        headers={"kid": jwt.get_unverified_header(_moto_signed(base))["kid"]})
    with pytest.raises(identity.AuthError):
        identity.verify_token(forged)
