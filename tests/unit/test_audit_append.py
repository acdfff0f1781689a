"""Appending to an application's hash-chained audit trail (adapters/dynamo.py `append_chained`, through
services/timeline.py `record`) against an in-process DynamoDB (moto) whose Events and Counters tables are made
from template.yaml: concurrent appenders never skip or duplicate a sequence number, and a head left behind by an
appender that died after writing its entry is brought forward by the next one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler
from silastri.adapters import dynamo
from silastri.domain import audit
from silastri.domain.clock import now_utc
from silastri.domain.models import TimelineEvent
from silastri.services import timeline
from silastri_local import template as tpl

REGION = "ap-southeast-3"
TABLES = {"EventsTable": "silastri-unit-events", "CountersTable": "silastri-unit-counters"}


@pytest.fixture(autouse=True)
def audit_tables(monkeypatch: pytest.MonkeyPatch, unit_env: Any) -> Any:
    lock, call_action = threading.Lock(), DynamoHandler.call_action

    def atomic(self: Any) -> Any:  # DynamoDB applies each request atomically (see test_message_log.py)
        with lock:
            return call_action(self)

    monkeypatch.setattr(DynamoHandler, "call_action", atomic)
    for key, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    unit_env(EVENTS_TABLE=TABLES["EventsTable"], COUNTERS_TABLE=TABLES["CountersTable"])
    resources = tpl.load_template()["Resources"]
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        for resource, name in TABLES.items():
            props = resources[resource]["Properties"]
            client.create_table(TableName=name, BillingMode=props["BillingMode"],
                                AttributeDefinitions=props["AttributeDefinitions"], KeySchema=props["KeySchema"],
                                **({"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]}
                                   if props.get("GlobalSecondaryIndexes") else {}))
        dynamo._BOUND_TO = None
        yield
    dynamo._BOUND_TO = None


def test_concurrent_appenders_make_one_gap_free_chain_that_verifies() -> None:
    def append(index: int) -> int:
        return timeline.record("app-1", "submission", f"action-{index}", "system").seq

    with ThreadPoolExecutor(max_workers=8) as pool:
        seqs = list(pool.map(append, range(60)))
    assert sorted(seqs) == list(range(1, 61))
    assert dynamo.audit_head("app-1")[0] == 60
    assert timeline.verify_audit("app-1") == []
    assert sorted(e.action for e in dynamo.timeline("app-1")) == sorted(f"action-{i}" for i in range(60))


def test_a_head_left_behind_by_a_dead_appender_is_brought_forward() -> None:
    timeline.record("app-2", "submission", "first", "system")
    seq, head = dynamo.audit_head("app-2")
    # an appender wrote entry 2 and died before moving the head
    orphan = TimelineEvent(application_id="app-2", event_id=f"{seq + 1:08d}", seq=seq + 1, prev_hash=head or audit.GENESIS,
                           at=now_utc(), step="submission", action="orphan", actor_role="system")
    orphan.hash = audit.entry_hash(head or audit.GENESIS, orphan.model_dump(mode="json"))
    dynamo.EventItem(application_id="app-2", event_id=orphan.event_id, body=orphan.model_dump(mode="json")).save()
    assert dynamo.audit_head("app-2")[0] == 1

    third = timeline.record("app-2", "submission", "third", "system")
    assert third.seq == 3 and third.prev_hash == orphan.hash  # after the orphan, not over it
    assert dynamo.audit_head("app-2") == (3, third.hash)
    assert timeline.verify_audit("app-2") == []
