"""SLA arithmetic for one task (pure): standard time of a step for a permit type, due time, 80% reminder.

Standard times come from the SOP (``steps.STEPS``) unless the permit type overrides a step
(``PermitType.standard_times``: ``{"minutes": n}`` or ``{"working_days": n}``). Minutes are office minutes,
days are working days, both on the office's ``WorkingCalendar``. Every moment is timezone-aware and returned
in UTC. A step done again (after a revision by the applicant or a return) resumes its clock: the office
minutes already spent on earlier rounds of the same step are deducted (``consumed_minutes``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from . import steps
from .calendar import WorkingCalendar

REMINDER_SHARE = 0.8  # reminder to the role at 80% of the standard time

# the file waits on the applicant: no officer clock runs (the revision deadline or the payment due date does)
APPLICANT_WAITS = frozenset({steps.StepId.REVISION.value, steps.StepId.PAYMENT.value})


def clock_paused(step_id: str | None) -> bool:
    """True while the application waits on the applicant (revision, payment): the SLA clock stands still."""
    return step_id in APPLICANT_WAITS


@dataclass(frozen=True)
class StandardTime:
    minutes: int | None = None
    working_days: int | None = None

    @property
    def label(self) -> str:
        """`7 hari kerja` / `15 menit`."""
        if self.working_days:
            return f"{self.working_days} hari kerja"
        return f"{self.minutes or 0} menit"


@dataclass(frozen=True)
class Clock:
    """The SLA clock of one task: its budget (office minutes), due time and reminder time (UTC)."""

    standard: StandardTime
    budget_minutes: float
    consumed_minutes: float
    remind_at: datetime
    due_at: datetime


def standard_time(step_id: str, overrides: dict[str, dict[str, int]] | None = None) -> StandardTime:
    """The standard time of a step, with a permit type's override if it has one."""
    override = (overrides or {}).get(step_id)
    if override:
        return StandardTime(minutes=override.get("minutes"), working_days=override.get("working_days"))
    definition = steps.step(step_id)
    return StandardTime(minutes=definition.standard_minutes, working_days=definition.standard_working_days)


def open_clock(calendar: WorkingCalendar, start: datetime, standard: StandardTime,
               consumed_minutes: float = 0.0) -> Clock:
    """Start (or resume, with ``consumed_minutes`` already spent) the clock of a task opened at ``start``.

    Raises ``calendar.CalendarYearError`` when the due time would fall in a year without calendar data."""
    fresh_due = calendar.due(start, minutes=standard.minutes, working_days=standard.working_days)
    budget = (float(standard.minutes or 0) if not standard.working_days
              else calendar.office_minutes_between(start, fresh_due))
    due = fresh_due if consumed_minutes <= 0 else calendar.add_office_minutes(start, max(0.0, budget - consumed_minutes))
    remind = calendar.add_office_minutes(start, max(0.0, REMINDER_SHARE * budget - consumed_minutes))
    return Clock(standard=standard, budget_minutes=budget, consumed_minutes=consumed_minutes, remind_at=remind,
                 due_at=due)
