"""SOP 7 — Penomoran izin: the back office confirms the permit number proposed as the task opens (ASL
`ConfirmNumber`); the next free number is assigned on confirmation. Numbers are gap-free per office, format and year; a number confirmed here stays with the
application and becomes public only once a permit with it is signed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain import validation
from ..domain.errors import ValidationError
from ..domain.models import Application, Task
from ..domain.steps import Outcome, Role, StepDef, StepId
from ._common import StepContext

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(step_id=StepId.NUMBERING, sop_number=7, title="Penomoran izin", title_en="Permit numbering",
                     role=Role.BACK_OFFICE, standard_minutes=10,
                     outcomes=[Outcome(outcome="confirmed", label="Konfirmasi nomor izin",
                                       label_en="Confirm the permit number")])

DETAILS = {"number": "the proposed number as shown on the task (required)"}


def validate(ctx: StepContext) -> dict[str, Any]:
    """The number shown to the officer is required (ValidationError, field "number")."""
    number = ctx.details.get("number")
    if not isinstance(number, str) or not number.strip():
        raise ValidationError("konfirmasi nomor izin yang diusulkan", field="number")
    return {"number": validation.clean_text(number, "number", 100, label="nomor izin")}


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """Assign the next free number (services.numbering.assign: another file confirmed at the same moment may
    have taken the one shown; this file then gets the next). The decision's audit entry says which number was
    assigned (`number`) and, when it differs, which one the officer was shown (`proposed_number`)."""
    from ..services import numbering

    assigned = numbering.assign(ctx.app.application_id)
    shown = checked["number"]
    return {"audit": {"number": assigned, **({"proposed_number": shown} if shown != assigned else {})}}


def view(app: Application, task: Task) -> dict[str, Any]:
    """The task page shows the next number in the office's format."""
    from ..services import numbering

    return {"proposed_number": numbering.propose(app)}


def prepare(app: Application) -> None:
    """The next number is proposed (and noted in the timeline) as the task opens."""
    from ..services import automated

    automated.propose_number(app.application_id)
