"""SOP 9 — Pencetakan dokumen izin: the back office prints the signed permit (ASL `PrintPermit`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain import validation
from ..domain.steps import Outcome, Role, StepDef, StepId
from ._common import StepContext

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(step_id=StepId.PRINTING, sop_number=9, title="Pencetakan dokumen izin", title_en="Printing",
                     role=Role.BACK_OFFICE, standard_minutes=15,
                     outcomes=[Outcome(outcome="printed", label="Sudah dicetak", label_en="Printed")])

DETAILS = {"copies": "1–10 — copies printed (default 1)"}

#: checked values written into the decision's audit entry
AUDIT = ("copies",)


def validate(ctx: StepContext) -> dict[str, Any]:
    """1 to 10 copies (ValidationError, field "copies")."""
    return {"copies": validation.copies(ctx.details.get("copies", 1))}


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """Count the copies printed (all rounds)."""
    return {"changes": {"print_count": ctx.app.print_count + checked["copies"]}}
