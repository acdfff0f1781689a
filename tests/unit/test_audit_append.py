"""Appending to an application's hash-chained audit trail (adapters/dynamo.py `append_chained`, through
services/timeline.py `record`) against an in-process DynamoDB (moto) whose Events and Counters tables are made
from template.yaml: concurrent appenders never skip or duplicate a sequence number, and a head left behind by an
appender that died after writing its entry is brought forward by the next one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from silastri.adapters import dynamo
from silastri.domain import audit
from silastri.domain.clock import now_utc
from silastri.domain.models import TimelineEvent
from silastri.services import timeline


@pytest.fixture(autouse=True)
def audit_tables(template_tables: Any) -> None:
    template_tables({"EventsTable": "silastri-unit-events", "CountersTable": "silastri-unit-counters"},
                    EVENTS_TABLE="silastri-unit-events", COUNTERS_TABLE="silastri-unit-counters")


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
