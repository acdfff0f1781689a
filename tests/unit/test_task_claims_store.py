"""A task's claim lifecycle in DynamoDB (adapters/dynamo.py) against moto with template.yaml's TasksTable: the claim
returns the task as written; a decision enters the decision-history indexes (`by_decider`, `by_office_decided`)
once, when its claim is finished, with the claim's time and officer; a released claim leaves no trace there; and
the write units a decision costs (infra/silastri_local/ddb_billing.py's estimate of AWS's rule)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from silastri.adapters import dynamo
from silastri.domain.models import Task, TaskStatus
from silastri_local import ddb_billing

OPENED = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
CLAIMED = OPENED + timedelta(minutes=7, microseconds=123)


@pytest.fixture(autouse=True)
def tasks_table(template_tables: Any) -> None:
    template_tables({"TasksTable": "silastri-unit-tasks"}, TASKS_TABLE="silastri-unit-tasks")


def _open(application_id: str = "app-1") -> Task:
    task = Task(task_id=uuid.uuid4().hex, application_id=application_id, office_id="rohil", step="verification",
                role="verifier", opened_at=OPENED, execution_name="run-1", due_at=OPENED + timedelta(hours=1),
                remind_at=OPENED + timedelta(minutes=48), sla={"budget_minutes": 60})
    return dynamo.open_task(task, "token-1")


def _history() -> tuple[list[str], list[str]]:
    by_decider = [i.task_id for i in dynamo.TaskItem.by_decider.query("officer-1")]
    by_office = [i.task_id for i in dynamo.TaskItem.by_office_decided.query("rohil")]
    return by_decider, by_office


def test_the_claim_returns_the_task_as_written_and_enters_the_history_only_when_finished() -> None:
    task = _open()
    claimed, token = dynamo.claim_task(task.task_id, "c1", "verified", "ok", "officer-1", CLAIMED)
    assert token == "token-1"
    assert (claimed.status, claimed.outcome, claimed.note, claimed.claim_id) == (TaskStatus.DECIDING, "verified", "ok", "c1")
    assert claimed.decided_by == "officer-1" and claimed.decided_at == CLAIMED  # who and when, from the claim
    assert dynamo.get_task(task.task_id) == claimed
    assert _history() == ([], [])  # claimed, not finished: not in the decision history yet
    assert dynamo.finish_claim(claimed, TaskStatus.DECIDED)
    assert _history() == ([task.task_id], [task.task_id])
    decided = dynamo.get_task(task.task_id)
    assert decided.status == TaskStatus.DECIDED and decided.decided_at == CLAIMED and decided.decided_by == "officer-1"
    assert [t.decided_at for t in dynamo.decisions_by("officer-1")] == [CLAIMED]
    rows = list(dynamo.report_decided_tasks("rohil", OPENED, OPENED + timedelta(days=1)))
    assert [(r["status"], r["decided_at"]) for r in rows] == [("decided", CLAIMED)]
    assert not dynamo.finish_claim(claimed, TaskStatus.DECIDED)  # once only


def test_a_voided_claim_is_in_the_history_as_cancelled_and_a_released_one_not_at_all() -> None:
    voided, released = _open("app-1"), _open("app-2")  # one open task per application and step
    claim, _ = dynamo.claim_task(voided.task_id, "c1", "verified", None, "officer-1", CLAIMED)
    assert dynamo.finish_claim(claim, TaskStatus.CANCELLED)
    assert [t.status for t in dynamo.decisions_by("officer-1")] == [TaskStatus.CANCELLED]
    dynamo.claim_task(released.task_id, "c2", "verified", None, "officer-1", CLAIMED + timedelta(seconds=1))
    assert dynamo.release_claim(released.task_id, "c2")
    again = dynamo.get_task(released.task_id)
    assert again.status == TaskStatus.OPEN and again.decided_by is None and again.decided_at is None
    item = dynamo.TaskItem.get(released.task_id)
    assert item.claimed_by is None and item.claimed_at is None and item.queue == "rohil#verifier"
    assert _history() == ([voided.task_id], [voided.task_id])


def test_a_claim_written_before_claims_had_their_own_attributes_is_finished_the_same_way() -> None:
    task = _open()
    dynamo.TaskItem(task_id=task.task_id).update(actions=[  # decided_by/decided_at set at the claim, as before
        dynamo.TaskItem.status.set("deciding"), dynamo.TaskItem.queue.remove(), dynamo.TaskItem.sla_office.remove(),
        dynamo.TaskItem.outcome.set("verified"), dynamo.TaskItem.decided_by.set("officer-1"),
        dynamo.TaskItem.decided_at.set(CLAIMED.isoformat()), dynamo.TaskItem.claim_id.set("old")])
    claimed = dynamo.get_task(task.task_id)
    assert claimed.decided_by == "officer-1" and claimed.decided_at == CLAIMED
    assert dynamo.finish_claim(claimed, TaskStatus.DECIDED)
    assert _history() == ([task.task_id], [task.task_id])
    assert dynamo.get_task(task.task_id).decided_at == CLAIMED


def test_a_decided_task_costs_each_history_index_one_write() -> None:
    task = _open()
    with ddb_billing.billing() as bill:
        claimed, _ = dynamo.claim_task(task.task_id, "c1", "verified", None, "officer-1", CLAIMED)
        assert dynamo.commit_claim(claimed, {}, {"changes": {}})
        dynamo.finish_claim(claimed, TaskStatus.DECIDED)
    units = {name: units for name, units in bill.write_units.items() if "/" in name}
    assert units["silastri-unit-tasks/by_decider"] == 1
    assert units["silastri-unit-tasks/by_office_decided"] == 1
    assert units["silastri-unit-tasks/by_queue"] == 1  # it leaves the queue
    # its SLA alarm becomes the claims sweeper's (a key change: delete + put), removed when the claim is finished
    assert units["silastri-unit-tasks/by_due"] == 3


def _alarms(office_id: str = "rohil") -> dict[str, str]:
    """task id → alarm time of the `by_due` entries (SLA alarms and the claims sweeper's)."""
    return {i.task_id: i.alarm_at for i in dynamo.TaskItem.by_due.query(office_id)}


def test_a_claim_moves_the_tasks_alarm_to_its_recovery_and_a_release_gives_the_sla_clock_back() -> None:
    fresh, reminded, escalated, unclocked = (_open(f"app-{n}") for n in range(4))
    dynamo.mark_reminded(reminded.task_id, OPENED + timedelta(minutes=50))
    dynamo.mark_escalated(escalated.task_id, OPENED + timedelta(hours=2))
    dynamo.TaskItem(task_id=unclocked.task_id).update(actions=[  # a step with no SLA clock
        dynamo.TaskItem.due_at.remove(), dynamo.TaskItem.remind_at.remove(), dynamo.TaskItem.alarm_at.remove(),
        dynamo.TaskItem.sla_office.remove()])
    before = _alarms()
    assert escalated.task_id not in before and unclocked.task_id not in before
    recovery = (CLAIMED + dynamo.CLAIM_RECOVERY_AFTER).isoformat(timespec="microseconds")
    for n, task in enumerate((fresh, reminded, escalated, unclocked)):
        dynamo.claim_task(task.task_id, f"c{n}", "verified", None, "officer-1", CLAIMED)
    assert _alarms() == dict.fromkeys(
        (fresh.task_id, reminded.task_id, escalated.task_id, unclocked.task_id), recovery)
    assert [t.task_id for t in dynamo.stale_claims("rohil", CLAIMED + dynamo.CLAIM_RECOVERY_AFTER)] != []
    assert list(dynamo.stale_claims("rohil", CLAIMED + timedelta(minutes=4))) == []
    assert list(dynamo.tasks_with_alarm("rohil", CLAIMED + timedelta(days=1))) == []  # no SLA alarm while deciding
    for n, task in enumerate((fresh, reminded, escalated, unclocked)):
        assert dynamo.release_claim(task.task_id, f"c{n}")
    # back as they were: the reminder pending, the due time once reminded, none once escalated or without a clock
    assert _alarms() == {fresh.task_id: before[fresh.task_id], reminded.task_id: before[reminded.task_id]}


def test_a_finished_claim_leaves_the_alarm_index_and_a_deferred_one_rings_later() -> None:
    done, stuck = _open("app-1"), _open("app-2")
    claimed, _ = dynamo.claim_task(done.task_id, "c1", "verified", None, "officer-1", CLAIMED)
    dynamo.claim_task(stuck.task_id, "c2", "verified", None, "officer-1", CLAIMED)
    assert dynamo.finish_claim(claimed, TaskStatus.DECIDED)
    later = CLAIMED + timedelta(hours=1)
    assert dynamo.defer_claim_recovery(stuck.task_id, later)
    assert not dynamo.defer_claim_recovery(done.task_id, later)  # not deciding: nothing to look at again
    assert _alarms() == {stuck.task_id: later.isoformat(timespec="microseconds")}
    assert list(dynamo.stale_claims("rohil", later - timedelta(seconds=1))) == []
    assert [t.task_id for t in dynamo.stale_claims("rohil", later)] == [stuck.task_id]
