"""SOP 10 — Pengambilan izin dan pengisian SKM: the applicant collects the printed permit at the counter,
after filling the satisfaction survey (ASL `AwaitPickup`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.errors import ConflictError
from ..domain.models import Application, Task
from ..domain.steps import Outcome, Role, StepDef, StepId
from ._common import StepContext

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(step_id=StepId.PICKUP, sop_number=10, title="Pengambilan izin dan pengisian SKM",
                     title_en="Pickup and survey", role=Role.BACK_OFFICE, standard_minutes=5,
                     outcomes=[Outcome(outcome="handed_over", label="Izin diserahkan kepada pemohon",
                                       label_en="Handed over")])

DETAILS: dict[str, str] = {}


def validate(ctx: StepContext) -> dict[str, Any]:
    """The applicant filled the SKM first (ConflictError, field "survey")."""
    if not ctx.app.survey_done:
        raise ConflictError("pemohon belum mengisi Survei Kepuasan Masyarakat (SKM)", field="survey")
    return {}


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """None: handing over closes the run (`CloseCompleted`)."""
    return {}


def opened(app: Application, task: Task) -> None:
    """The permit is printed and waits at the counter: tell the applicant (once per application)."""
    from ..services import timeline

    timeline.notify("permit_ready", application_id=app.application_id,
                    registration_number=app.registration_number, user_id=app.applicant_id,
                    office_id=app.office_id, event_id=f"permit_ready:{app.application_id}",
                    params={"ready_at": task.opened_at.isoformat()})
