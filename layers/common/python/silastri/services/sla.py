"""SLA clocks of officer tasks: opened with the task, reminded at 80%, escalated at breach, stopped at the
decision; and the applicant's expected completion date.

Each reminder and escalation goes out exactly once (a conditional write on the task wins before the message
is sent) and names the registration number. The monitor queries the sparse `by_due` index per office, so its
cost follows the open tasks whose alarm rings, never the closed history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..adapters import dynamo
from ..domain import sla, steps
from ..domain.calendar import CalendarYearError
from ..domain.catalog import PermitType, default_catalog
from ..domain.clock import now_utc
from ..domain.models import Application, Task, TaskStatus
from ..observability import SLA_BREACHES, count, logger
from . import timeline


def clock_for(app: Application, step_id: str, start: datetime, history: list[Task] | None = None) -> sla.Clock:
    """The SLA clock of a task of `step_id` opened at `start`, resumed with the office minutes that earlier
    rounds of the same step already spent (the clock pauses while the file is with the applicant). `history`:
    the application's tasks when the caller has just listed them (else they are read here)."""
    catalog = default_catalog()
    office = catalog.office(app.office_id)
    calendar = office.calendar()
    overrides = catalog.permit_type(app.office_id, app.permit_type).standard_times
    consumed = 0.0
    for earlier in history if history is not None else dynamo.tasks_of_application(app.application_id):
        if earlier.step == step_id and earlier.decided_at and earlier.status == TaskStatus.DECIDED:
            consumed += calendar.office_minutes_between(earlier.opened_at, earlier.decided_at)
    return sla.open_clock(calendar, start, sla.standard_time(step_id, overrides), consumed)


def standard_label(permit_type: PermitType, step_id: str) -> str:
    """The standard time of a step for this permit type as shown to people (`7 hari kerja`, `10 menit`): the
    type's own (catalog `standard_times`) or the SOP's."""
    return sla.standard_time(step_id, permit_type.standard_times).label


def actual_vs_standard(task: Task, decided_at: datetime) -> dict[str, Any]:
    """What the audit trail records at the decision: office minutes spent (all rounds) against the standard."""
    if not task.sla or not task.due_at:
        return {}
    calendar = default_catalog().office(task.office_id).calendar()
    try:
        spent = float(task.sla.get("consumed_minutes", 0)) + calendar.office_minutes_between(task.opened_at, decided_at)
    except CalendarYearError:
        return {"sla_standard": task.sla.get("standard")}
    return {"sla_standard": task.sla.get("standard"), "sla_budget_minutes": round(float(task.sla["budget_minutes"]), 1),
            "sla_actual_minutes": round(spent, 1), "sla_overdue": decided_at > task.due_at,
            "sla_due_at": task.due_at.isoformat()}


def _registration(task: Task) -> str | None:
    return dynamo.get_application(task.application_id, documents=False).registration_number


def check_clocks(now: datetime | None = None) -> dict[str, int]:
    """Ring every due SLA alarm once: the 80% reminder to the task's role, the breach escalation to the
    supervising role (per office `escalation_chain`). `now` may be given (tests, replays); default: the clock.

    Returns counts: {"reminded": n, "escalated": m}."""
    now = now or now_utc()
    counts = {"reminded": 0, "escalated": 0}
    for office_id, office in default_catalog().offices.items():
        for task in dynamo.tasks_with_alarm(office_id, now):
            definition = steps.step(task.step)
            params = {"task_id": task.task_id, "step": task.step, "due_at": task.due_at.isoformat() if task.due_at else None,
                      "standard": (task.sla or {}).get("standard", definition.standard_time_label)}
            if task.due_at and now >= task.due_at:
                if dynamo.mark_escalated(task.task_id, now):
                    registration = _registration(task)
                    supervisor = office.supervisor_of(task.role)
                    timeline.record(task.application_id, task.step, "sla_breached", "system",
                                    escalated_to=supervisor, due_at=params["due_at"], task_id=task.task_id)
                    timeline.notify("sla_overdue", application_id=task.application_id, office_id=office_id,
                                    registration_number=registration, role=task.role, params=params,
                                    event_id=f"sla_overdue:{task.task_id}")
                    if supervisor:
                        timeline.notify("sla_escalated", application_id=task.application_id, office_id=office_id,
                                        registration_number=registration, role=supervisor,
                                        params={**params, "from_role": task.role},
                                        event_id=f"sla_escalated:{task.task_id}")
                    count(SLA_BREACHES, step=task.step)
                    counts["escalated"] += 1
                    logger.info("sla escalated", application_id=task.application_id, step=task.step,
                                escalated_to=supervisor)
            elif task.reminded_at is None and dynamo.mark_reminded(task.task_id, now):
                timeline.notify("sla_reminder", application_id=task.application_id, office_id=office_id,
                                registration_number=_registration(task), role=task.role, params=params,
                                event_id=f"sla_reminder:{task.task_id}")
                counts["reminded"] += 1
    return counts


def remind_overdue(now: datetime | None = None) -> int:
    """Backward-compatible entry point: runs `check_clocks`, returns reminders plus escalations sent."""
    counts = check_clocks(now)
    return counts["reminded"] + counts["escalated"]


def expected_completion(app: Application, now: datetime | None = None) -> datetime | None:
    """When the whole application is expected to be done (UTC), recomputed from where it stands: the open
    task's due time (or now), then the standard times of the remaining officer steps on the office calendar.

    None while the file waits on the applicant (the clock is paused), once the application is closed, or when
    the calendar has no data for the years it would reach (never a guess)."""
    if app.closed_at or app.current_step in (None, steps.StepId.SUBMISSION.value) or sla.clock_paused(app.current_step):
        return None
    catalog = default_catalog()
    office = catalog.office(app.office_id)
    permit_type = catalog.permit_type(app.office_id, app.permit_type)
    calendar = office.calendar()
    plan = [steps.StepId.COMPLETENESS_CHECK, steps.StepId.TECHNICAL_REVIEW, steps.StepId.VERIFICATION,
            steps.StepId.APPROVAL, steps.StepId.NUMBERING, steps.StepId.SIGNING, steps.StepId.PRINTING]
    if not app.plan(permit_type)["technical_review"]:  # the plan stored at submission
        plan.remove(steps.StepId.TECHNICAL_REVIEW)
    if permit_type.payment.mode != "none":  # the officers' payment steps (the applicant's wait is not foreseeable)
        payment_steps = [steps.StepId.PAYMENT_CONFIRMATION]
        if permit_type.payment.mode == "assessed":
            payment_steps.insert(0, steps.StepId.PAYMENT_ASSESSMENT)
        at = plan.index(steps.StepId.NUMBERING)
        plan[at:at] = payment_steps
    ids = [s.value for s in plan]
    if app.current_step not in ids:
        return None
    now = now or now_utc()
    moment = now
    opened = dynamo.open_task_of(app.application_id)
    if opened and opened[0].due_at:
        moment = max(now, opened[0].due_at)
    try:
        for step_id in ids[ids.index(app.current_step) + 1:]:
            standard = sla.standard_time(step_id, permit_type.standard_times)
            moment = calendar.due(moment, minutes=standard.minutes, working_days=standard.working_days)
    except CalendarYearError:
        return None
    return moment
