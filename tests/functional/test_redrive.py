"""Failure and redrive on the local stack (`silastri up` in a subprocess), driven through the API and the CLI:
a WhatsApp outage sends the `submitted` notification to the dead-letter queue, `silastri notifications redrive`
delivers it once; a permanent failure is recorded and not retried, `redrive --include-failed` delivers it once."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from silastri_local.client import ApiClient, wait_for
from silastri_local.journey import Journey, officer_clients
from silastri_local.runtime import STACK_FILE
from silastri_local.stack_process import StackProcess
from silastri_local.template import ROOT

TEMPLATE = "silastri_permohonan_diterima"  # the applicant's WhatsApp on `submitted` (plan "standar")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    process = StackProcess(tmp_path_factory.mktemp("redrive-stack")).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def api(stack) -> ApiClient:
    client = ApiClient(stack.url)
    officer = next(iter(stack.officers().values()))
    client.outbox_reader = client.login(officer["email"], officer["password"])
    return client


@pytest.fixture(scope="module")
def staff(stack, api):
    return officer_clients(api, stack.officers())


@pytest.fixture(scope="module")
def env(stack) -> dict[str, str]:
    """The running stack's function environment (queue URLs, table names)."""
    return json.loads((stack.data_dir / STACK_FILE).read_text())["environment"]


def cli(stack: StackProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "silastri_local.cli", "--data-dir", str(stack.data_dir),
                           "notifications", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def queue_depth(stack: StackProcess, url: str) -> int:
    attributes = stack.aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def whatsapp_item(stack: StackProcess, env: dict[str, str], application_id: str) -> dict[str, Any] | None:
    """The message-log item of the applicant's `submitted` WhatsApp message (read straight from DynamoDB)."""
    items = stack.aws("dynamodb").scan(
        TableName=env["MESSAGES_TABLE"], ConsistentRead=True,
        FilterExpression="#a = :a AND #c = :c AND #e = :e",
        ExpressionAttributeNames={"#a": "application_id", "#c": "channel", "#e": "event"},
        ExpressionAttributeValues={":a": {"S": application_id}, ":c": {"S": "whatsapp"}, ":e": {"S": "submitted"}},
    )["Items"]
    assert len(items) <= 1
    if not items:
        return None
    item = items[0]
    return {"status": item["status"]["S"], "attempts": int(item["attempts"]["N"]),
            "reason": item.get("reason", {}).get("S")}


def sent_to_applicant(api: ApiClient, journey: Journey) -> int:
    return sum(1 for m in api.outbox() if m["to"] == journey.credentials["phone"] and m["channel"] == "whatsapp"
               and (m.get("template") or {}).get("name") == TEMPLATE)


def registered(api: ApiClient, staff: dict[str, ApiClient]) -> Journey:
    journey = Journey(api, staff, "izin-operasional-orsos")
    journey.register()  # the activation code goes out before the channel fails
    return journey


def test_an_outage_ends_in_the_dead_letter_queue_and_redrive_delivers_exactly_once(stack, api, staff, env):
    journey = registered(api, staff)
    assert cli(stack, "fault", "whatsapp", "--always").stdout.startswith("whatsapp: gagal sementara")
    journey.apply()
    journey.submit()
    dlq = env["NOTIFICATIONS_DEAD_LETTER_QUEUE_URL"]
    # eight receives with the local backoff (about 17 s), then SQS moves the notification to the DLQ
    wait_for(lambda: queue_depth(stack, dlq) >= 1, timeout=120, interval=0.5, what="notification in the DLQ")
    failed_tries = whatsapp_item(stack, env, journey.application_id)
    assert failed_tries["status"] == "retrying" and failed_tries["attempts"] >= 2
    assert sent_to_applicant(api, journey) == 0
    held = stack.aws("sqs").receive_message(QueueUrl=dlq, VisibilityTimeout=0, MessageAttributeNames=["All"])
    body = held["Messages"][0]["Body"]  # kept to play a redrive that died before deleting it
    assert json.loads(body)["application_id"] == journey.application_id

    assert cli(stack, "fault", "whatsapp", "--clear").returncode == 0
    result = cli(stack, "redrive", "--event", "submitted")
    assert result.returncode == 0, result.stderr
    assert "1 notifikasi dipindahkan" in result.stdout
    wait_for(lambda: (whatsapp_item(stack, env, journey.application_id) or {}).get("status") == "delivered",
             timeout=30, interval=0.2, what="delivered status")
    assert sent_to_applicant(api, journey) == 1
    assert queue_depth(stack, dlq) == 0

    # a redrive that sent the message back but died before deleting it from the DLQ: the copy moves again
    stack.aws("sqs").send_message(QueueUrl=dlq, MessageBody=body,
                                  MessageAttributes={"kind": {"DataType": "String", "StringValue": "submitted"}})
    again = cli(stack, "redrive")
    assert "1 notifikasi dipindahkan" in again.stdout, again.stdout + again.stderr
    wait_for(lambda: queue_depth(stack, env["NOTIFICATIONS_QUEUE_URL"]) == 0, timeout=30, interval=0.2,
             what="the notifications queue drained")
    assert sent_to_applicant(api, journey) == 1
    item = whatsapp_item(stack, env, journey.application_id)
    assert item["status"] == "delivered" and item["attempts"] == failed_tries["attempts"] + 1


def test_a_permanent_failure_is_recorded_not_retried_and_include_failed_delivers_once(stack, api, staff, env):
    journey = registered(api, staff)
    assert "permanen" in cli(stack, "fault", "whatsapp", "--permanent").stdout
    journey.apply()
    journey.submit()
    item = wait_for(lambda: (lambda i: i if i and i["status"] == "failed" else None)(
        whatsapp_item(stack, env, journey.application_id)), timeout=30, interval=0.2, what="failed status")
    assert item["reason"] and "tidak valid" in item["reason"]
    wait_for(lambda: queue_depth(stack, env["NOTIFICATIONS_QUEUE_URL"]) == 0, timeout=30, interval=0.2,
             what="the notifications queue drained")
    assert whatsapp_item(stack, env, journey.application_id)["attempts"] == 1  # not retried
    assert queue_depth(stack, env["NOTIFICATIONS_DEAD_LETTER_QUEUE_URL"]) == 0
    assert sent_to_applicant(api, journey) == 0
    listed = cli(stack, "list", "--status", "failed", "--event", "submitted")
    assert journey.registration_number in listed.stdout and "gagal" in listed.stdout
    assert journey.credentials["phone"] not in listed.stdout and journey.credentials["email"] not in listed.stdout

    assert cli(stack, "fault", "whatsapp", "--clear").returncode == 0
    result = cli(stack, "redrive", "--event", "submitted", "--include-failed")
    assert result.returncode == 0, result.stderr
    assert "1 pesan gagal/tidak pasti dibuka kembali, 1 peristiwa diterbitkan ulang" in result.stdout
    wait_for(lambda: (whatsapp_item(stack, env, journey.application_id) or {}).get("status") == "delivered",
             timeout=30, interval=0.2, what="delivered status")
    assert sent_to_applicant(api, journey) == 1
    assert whatsapp_item(stack, env, journey.application_id)["attempts"] == 2

    again = cli(stack, "redrive", "--event", "submitted", "--include-failed")
    assert "0 pesan gagal/tidak pasti dibuka kembali" in again.stdout
    assert sent_to_applicant(api, journey) == 1


def test_an_unknown_event_is_refused_with_the_choices(stack):
    result = cli(stack, "redrive", "--event", "izin_terbang")
    assert result.returncode == 2
    assert "peristiwa tidak dikenal: izin_terbang" in result.stderr and "permit_ready" in result.stderr


def test_the_redrive_function_refuses_a_payload_it_does_not_understand():
    import importlib.util

    spec = importlib.util.spec_from_file_location("notifications_redrive_app",
                                                  ROOT / "functions" / "notifications_redrive" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.parse({"event": "permit_ready", "include_failed": True}).include_failed is True
    assert module.parse(None).event is None
    with pytest.raises(ValueError, match="unknown event 'izin_terbang'"):
        module.parse({"event": "izin_terbang"})
    with pytest.raises(ValueError, match="include_faild"):
        module.parse({"include_faild": True})
    with pytest.raises(ValueError, match="limit"):
        module.parse({"limit": 0})
