"""Handlers emit the service's counters as CloudWatch EMF (captured from stdout, as the Powertools docs test them)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.metrics.provider import cold_start
from silastri import observability
from silastri.adapters import messaging
from silastri.domain.models import Application, ApplicationStatus, Task
from silastri.settings import get_settings
from silastri_local import template as tpl
from silastri_local.moto_server import LambdaContext

ROOT = Path(__file__).resolve().parents[2]
# pytest resets warning filters per test; in Lambda observability's filter keeps this quiet
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")
@pytest.fixture(autouse=True)
def environment(monkeypatch, unit_env):
    unit_env()
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    observability.metrics.clear_metrics()
    yield
    observability.metrics.clear_metrics()
    get_settings.cache_clear()


def handler_of(function: str) -> Any:
    """A function's handler, imported from its CodeUri as Lambda does."""
    spec = importlib.util.spec_from_file_location(f"silastri_metrics_test_{function}", ROOT / "functions" / function
                                                  / "app.py")
    assert spec and spec.loader
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def context(name: str) -> LambdaContext:
    return LambdaContext(function_name=name, function_version="$LATEST", memory_limit_in_mb=512,
                         invoked_function_arn=f"arn:aws:lambda:ap-southeast-3:123456789012:function:{name}",
                         timeout_seconds=30)


def emitted(capsys) -> list[dict[str, Any]]:
    """The EMF documents printed since the last call."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]


def counted(documents: list[dict[str, Any]], name: str) -> list[dict[str, str]]:
    """The breakdown dimensions of every document counting `name` (checking it also carries the total)."""
    found = []
    for document in documents:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        if name not in {m["Name"] for m in directive["Metrics"]}:
            continue
        assert directive["Namespace"] == "SILASTRI"
        assert directive["Dimensions"][0] == ["service"] and document["service"] == "silastri"  # the alarms' total
        assert document[name] == [1.0]
        found.append({key: document[key] for key in directive["Dimensions"][-1]})
    return found


def test_a_counter_goes_out_at_once_with_its_total_and_its_breakdown(capsys):
    observability.count(observability.SLA_BREACHES, step="approval")
    (document,) = emitted(capsys)
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"], ["service", "step"]]
    assert counted([document], "SlaBreaches") == [{"service": "silastri", "step": "approval"}]


def test_the_sla_monitor_counts_each_breach_under_its_step(monkeypatch, capsys):
    from silastri.services import sla

    opened = datetime.now(UTC) - timedelta(days=60)
    overdue = [Task(task_id=f"t{n}", application_id=f"a{n}", office_id="rokan-hilir", step=step, role="back_office",
                    opened_at=opened, execution_name=f"run-{n}", due_at=opened + timedelta(days=1))
               for n, step in enumerate(["completeness_check", "approval", "approval"])]
    # the monitor asks the index for tasks whose alarm is due (per office), never scans every task
    monkeypatch.setattr(sla.dynamo, "tasks_with_alarm",
                        lambda office_id, now: overdue if office_id == "rokan-hilir" else [])
    monkeypatch.setattr(sla.dynamo, "mark_escalated", lambda task_id, now: True)
    monkeypatch.setattr(sla, "_registration", lambda task: "REG-2026-000001")
    monkeypatch.setattr(sla.timeline, "record", lambda *args, **kwargs: None)
    monkeypatch.setattr(sla.timeline, "notify", lambda *args, **kwargs: None)
    monkeypatch.setattr(cold_start, "is_cold_start", True)

    assert handler_of("sla_monitor")({}, context("SlaMonitorFunction")) == {"reminded": 0, "escalated": 3}

    documents = emitted(capsys)
    steps = sorted(d["step"] for d in counted(documents, "SlaBreaches"))
    assert steps == ["approval", "approval", "completeness_check"]
    cold = [d for d in documents if "ColdStart" in d]  # flushed by @metrics.log_metrics
    assert len(cold) == 1 and cold[0]["function_name"] == "SlaMonitorFunction"


def test_a_failed_delivery_is_counted_per_channel_and_the_record_is_retried(monkeypatch, capsys, unit_env):
    from silastri.adapters import dynamo, identity

    sent: list[str] = []

    class Outbox:
        def send(self, message: messaging.OutgoingMessage) -> str:
            sent.append(message.channel)
            return "m-1"

    class MailboxDown(Outbox):
        def send(self, message: messaging.OutgoingMessage) -> str:
            if message.to.startswith("penuh"):
                raise ConnectionError("SES unavailable")
            return super().send(message)

    monkeypatch.setattr(messaging, "channels", lambda: {"whatsapp": Outbox(), "email": MailboxDown()})
    monkeypatch.setattr(identity, "contact_of", lambda user_id: {
        "sub": user_id, "phone_number": "+6281100000001", "email": f"{user_id}@contoh.id", "email_verified": "true"})
    monkeypatch.setattr(dynamo, "get_application",
                        lambda application_id, documents=True: _application(ApplicationStatus.IN_PROGRESS))
    records = []
    for number, user in enumerate(["penuh", "pemohon"]):
        note = messaging.Notification(kind="submitted", application_id="a1", registration_number="REG-1",
                                      office_id="rokan-hilir", user_id=user)
        records.append({"messageId": f"m{number}", "receiptHandle": "r", "body": note.model_dump_json(),
                        "attributes": {}, "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:ap-southeast-3:123456789012:q", "awsRegion": "ap-southeast-3"})

    with messages_table(monkeypatch, unit_env):  # the message log guards each send (in-process DynamoDB)
        response = handler_of("notifier")({"Records": records}, context("NotifierFunction"))

    assert response == {"batchItemFailures": [{"itemIdentifier": "m0"}]}
    assert sent == ["whatsapp", "whatsapp", "email"]
    assert counted(emitted(capsys), "NotificationsFailed") == [
        {"service": "silastri", "channel": "email", "kind": "submitted", "permanent": "no"}]


@contextmanager
def messages_table(monkeypatch, unit_env) -> Iterator[None]:
    """moto with template.yaml's MessagesTable, the models bound to it."""
    from moto import mock_aws
    from silastri.adapters import dynamo

    for key, value in {"AWS_DEFAULT_REGION": "ap-southeast-3", "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    unit_env(MESSAGES_TABLE="messages")
    props = tpl.load_template()["Resources"]["MessagesTable"]["Properties"]
    with mock_aws():
        boto3.client("dynamodb", region_name="ap-southeast-3").create_table(
            TableName="messages", BillingMode=props["BillingMode"], AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"], GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"])
        dynamo._BOUND_TO = None  # bind the models (new connections) inside this mock
        try:
            yield
        finally:
            dynamo._BOUND_TO = None  # and afresh for whoever uses them next


def _application(status: ApplicationStatus) -> Application:
    return Application(application_id="a1", office_id="rokan-hilir", applicant_id="u1",
                       permit_type="izin-operasional-orsos", status=status, registration_number="REG-1",
                       created_at=datetime.now(UTC))


@pytest.mark.parametrize(("outcome", "decided"), [("completed", True), ("rejected", True), ("withdrawn", False),
                                                  ("lapsed", False)])
def test_a_closed_application_is_counted_as_decided_per_permit_type_once(monkeypatch, capsys, outcome, decided):
    from silastri.services import automated, tasks

    stored = {"app": _application(ApplicationStatus.IN_PROGRESS)}

    def mark(application_id: str, state: str | None, **fields: Any) -> Application:
        stored["app"] = stored["app"].model_copy(update=fields)
        return stored["app"]

    monkeypatch.setattr(automated.dynamo, "get_application", lambda application_id, documents=True: stored["app"])
    monkeypatch.setattr(automated.dynamo, "cancel_open_tasks", lambda application_id: None)
    monkeypatch.setattr(tasks, "publish_accepted", lambda application_id, outcome=None: None)  # imported where it is used
    monkeypatch.setattr(automated, "_mark", mark)
    monkeypatch.setattr(automated.timeline, "record", lambda *args, **kwargs: None)
    monkeypatch.setattr(automated.timeline, "notify", lambda *args, **kwargs: None)
    handler = handler_of("close_application")

    handler({"application_id": "a1", "outcome": outcome}, context("CloseApplicationFunction"))
    handler({"application_id": "a1", "outcome": outcome}, context("CloseApplicationFunction"))  # a Retry

    expected = [{"service": "silastri", "permit_type": "izin-operasional-orsos", "outcome": outcome}]
    assert counted(emitted(capsys), "ApplicationsDecided") == (expected if decided else [])


def test_a_decision_the_run_no_longer_waits_for_is_counted_as_refused(monkeypatch, capsys):
    from silastri.services import tasks

    monkeypatch.setattr(tasks.dynamo, "void_claim", lambda task, previous, entry=None: True)
    monkeypatch.setattr(tasks.timeline, "record", lambda *args, **kwargs: None)
    task = Task(task_id="t1", application_id="a1", office_id="rokan-hilir", step="approval", role="approver",
                opened_at=datetime.now(UTC), execution_name="run", claim_id="c1", outcome="approved")

    tasks._refused(task, {})

    assert counted(emitted(capsys), "DecisionsRefused") == [{"service": "silastri", "step": "approval"}]


def test_the_api_flushes_the_shared_metrics_after_every_request(capsys):
    observability.metrics.add_metric(name="PagesServed", unit="Count", value=1)
    observability.flush_request_metrics()
    observability.flush_request_metrics()  # nothing left: no second document, no warning

    (document,) = emitted(capsys)
    assert document["PagesServed"] == [1.0]
    api_source = (ROOT / "functions/api/app.py").read_text()
    assert '@app.middleware("http")' in api_source and "flush_request_metrics()" in api_source


def test_every_lambda_handler_flushes_its_metrics():
    template = tpl.load_template()
    for spec in tpl.functions(template):
        source = spec.module_path.read_text()
        if spec.logical_id == "ApiFunction":
            continue  # a Chalice app: flushed per request (above)
        assert "@metrics.log_metrics" in source, spec.logical_id
