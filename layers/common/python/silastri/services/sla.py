"""SLA clocks: an open officer task past its SOP standard time gets one reminder to its role."""

from __future__ import annotations

from datetime import timedelta

from ..adapters import dynamo
from ..domain import steps
from ..domain.clock import add_working_days, now_utc
from ..observability import SLA_BREACHES, count
from . import timeline


def remind_overdue() -> int:
    """Remind once per overdue task; returns how many reminders went out."""
    now = now_utc()
    reminded = 0
    for task in dynamo.all_open_tasks():
        definition = steps.step(task.step)
        if definition.role in (None, steps.Role.APPLICANT):
            continue
        if definition.standard_working_days:
            due = add_working_days(task.opened_at, definition.standard_working_days)
        else:
            due = task.opened_at + timedelta(minutes=definition.standard_minutes or 0)
        if now > due and dynamo.mark_reminded(task.task_id, now):
            timeline.notify("sla_overdue", application_id=task.application_id, office_id=task.office_id,
                            role=task.role, params={"task_id": task.task_id, "step": task.step})
            count(SLA_BREACHES, step=task.step)
            reminded += 1
    return reminded
