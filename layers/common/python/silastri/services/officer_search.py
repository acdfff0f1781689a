"""Officers find an application of their own office by registration number (full or partial) and see the
decisions they made before. Queries only: the `by_registration` index, the year's registration counter, the
tasks of an application (`by_application`) and the sparse `by_decider` index; nothing is scanned."""

from __future__ import annotations

import re
from typing import Any

from ..adapters import dynamo
from ..adapters.identity import Principal
from ..domain import steps
from ..domain.catalog import default_catalog
from ..domain.clock import format_datetime_wib, now_utc, to_wib
from ..domain.errors import ForbiddenError, ValidationError
from ..domain.models import Application, TaskStatus
from ..domain.numbering import registration_counter_id

YEARS_BACK = 4  # a number without its year is looked for in this year and the four before
MAX_SEQUENCE_DIGITS = 6
HISTORY_LIMIT = 100
_OFFICER_ROLES = frozenset(r.value for r in steps.OFFICER_ROLES)
_SEPARATORS = re.compile(r"[\s\-/.#]+")


def _officer(principal: Principal) -> str:
    if not principal.office_id or not principal.roles & _OFFICER_ROLES:
        raise ForbiddenError("khusus petugas DPMPTSP", field="role")
    return principal.office_id


def parse_number(text: str, prefix: str) -> tuple[int | None, int]:
    """A typed registration number as (year or None, sequence): `REG-2026-000001`, `2026-1`, `000001`, `1`.

    Case, spaces and separators (`-`, `/`, `.`) are free; a prefix must be the office's own.
    Raises ValidationError (field `nomor`) for anything else."""
    tokens = [t for t in _SEPARATORS.split((text or "").strip().upper()) if t]
    if tokens and not tokens[0].isdigit():
        if tokens[0] != prefix.upper():
            raise ValidationError(f"nomor registrasi kantor ini berawalan {prefix}-, misalnya {prefix}-2026-000123",
                                  field="nomor")
        tokens = tokens[1:]
    if not tokens or len(tokens) > 2 or not all(t.isascii() and t.isdigit() for t in tokens):
        raise ValidationError(f"ketik nomor registrasi, misalnya {prefix}-2026-000123, 000123 atau 123", field="nomor")
    year = None
    if len(tokens) == 2:
        if len(tokens[0]) != 4:
            raise ValidationError("tahun pada nomor registrasi terdiri dari 4 angka", field="nomor")
        year = int(tokens[0])
    if len(tokens[-1]) > MAX_SEQUENCE_DIGITS or int(tokens[-1]) == 0:
        raise ValidationError(f"nomor urut registrasi terdiri dari 1 sampai {MAX_SEQUENCE_DIGITS} angka, bukan 0",
                              field="nomor")
    return year, int(tokens[-1])


def candidates(office_id: str, text: str) -> list[str]:
    """The full registration numbers a typed (possibly partial) number can mean in this office, newest year
    first: with its year, that one; without, each recent year whose registration counter has reached it."""
    office = default_catalog().office(office_id)
    year, seq = parse_number(text, office.registration_prefix)
    if year is not None:
        years = [year]
    else:
        this_year = to_wib(now_utc()).year
        years = [y for y in range(this_year, this_year - YEARS_BACK - 1, -1)
                 if dynamo.read_counter(registration_counter_id(office_id, y))[0] >= seq]
    return [f"{office.registration_prefix}-{y}-{seq:06d}" for y in years]


def find_applications(principal: Principal, text: str) -> list[Application]:
    """The applications of the officer's office that a typed registration number names (newest first).

    Never another office's (registration numbers repeat across offices). The sector agency's technical team
    (not a DPMPTSP officer) finds only the files sent to it for a rekomendasi teknis (SOP 4): those with a
    technical-review task. Raises ValidationError (field `nomor`) for text that is not a registration number,
    ForbiddenError for a non-officer."""
    office_id = _officer(principal)
    found: list[Application] = []
    for number in candidates(office_id, text):
        found.extend(app for app in dynamo.applications_by_registration(number) if app.office_id == office_id)
    if agency_only(principal):
        found = [app for app in found if sent_to_agency(app.application_id)]
    return found


def sent_to_agency(application_id: str) -> bool:
    """Whether the file was sent to the sector agency's technical team (it has a technical-review task)."""
    return any(t.role == steps.Role.TECHNICAL_TEAM.value for t in dynamo.tasks_of_application(application_id))


def may_see(principal: Principal, app: Application) -> bool:
    """Whether an officer may see this application (its files, its messages): an officer of its office; the
    sector agency's technical team only once the file was sent to it for a rekomendasi teknis (SOP 4)."""
    if principal.office_id != app.office_id or not principal.roles & _OFFICER_ROLES:
        return False
    return not agency_only(principal) or sent_to_agency(app.application_id)


def agency_only(principal: Principal) -> bool:
    """Whether the officer is only the sector agency's technical team (no DPMPTSP role): such an officer sees
    only the files sent to it for a technical recommendation."""
    return principal.roles & _OFFICER_ROLES == {steps.Role.TECHNICAL_TEAM.value}


def handed_over(application_id: str) -> bool:
    """Whether the permit was handed over at the counter (SOP 10 decided), even while the run is still closing
    the application (its status says `completed` only once the closing step has run)."""
    return any(t.step == steps.StepId.PICKUP.value and t.outcome == "handed_over"
               and t.status in (TaskStatus.DECIDING, TaskStatus.DECIDED)
               for t in dynamo.tasks_of_application(application_id))


def _task_row(task: Any, roles: set[str]) -> dict[str, Any]:
    definition = steps.step(task.step)
    return {"task_id": task.task_id, "step": task.step, "title": definition.title, "role": task.role,
            "status": task.status.value, "outcome": task.outcome,
            "decided_at": task.decided_at.isoformat() if task.decided_at else None,
            "opened_at": task.opened_at.isoformat(), "may_open": task.role in roles}


def search(principal: Principal, text: str) -> list[dict[str, Any]]:
    """Search results: each application with where it is now and the tasks of the officer's roles (which the
    officer may open: `may_open`), earliest first."""
    roles = set(principal.roles)
    rows = []
    for app in find_applications(principal, text):
        tasks = sorted(dynamo.tasks_of_application(app.application_id), key=lambda t: t.opened_at)
        current = next((t for t in reversed(tasks) if t.status == TaskStatus.OPEN), None)
        rows.append({
            "application_id": app.application_id, "registration_number": app.registration_number,
            "permit_type": app.permit_type, "holder": app.holder_name(), "status": app.status.value,
            "current_step": app.current_step, "permit_number": app.permit_number,
            "submitted_at": app.submitted_at.isoformat() if app.submitted_at else None,
            "current_task": _task_row(current, roles) if current else None,
            "tasks": [_task_row(t, roles) for t in tasks if t.role in roles],
        })
    return rows


def decision_history(principal: Principal, limit: int = HISTORY_LIMIT) -> list[dict[str, Any]]:
    """What this officer decided before, newest first: step, outcome, date (UTC ISO and WIB), registration
    number, and whether the decision stands (`decided`) or was voided (`cancelled`: the run no longer waited). A
    decision is listed once finished (`dynamo.decisions_by`); `deciding` appears only for claims stored before
    that. Only this office's."""
    office_id = _officer(principal)
    decisions = [t for t in dynamo.decisions_by(principal.user_id, limit) if t.office_id == office_id]
    apps = dynamo.applications_by_id([t.application_id for t in decisions])
    rows = []
    for task in decisions:
        app = apps.get(task.application_id)
        if app is None or app.office_id != office_id:
            continue
        rows.append({**_task_row(task, set(principal.roles)),
                     "decided_wib": format_datetime_wib(task.decided_at) if task.decided_at else "",
                     "application_id": app.application_id, "registration_number": app.registration_number,
                     "permit_type": app.permit_type, "holder": app.holder_name(), "status": app.status.value})
    return rows
