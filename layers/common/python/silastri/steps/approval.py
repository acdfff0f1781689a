"""SOP 6 — Persetujuan izin: the approver (Penata Perizinan Ahli Madya) approves, returns the file to the
verifier, or rejects (ASL `Approve`, `ApprovalDecision`; a rejection leads to a signed rejection letter).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.errors import ForbiddenError
from ..domain.steps import RETURN, Outcome, Role, StepDef, StepId
from ._common import StepContext

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(step_id=StepId.APPROVAL, sop_number=6, title="Persetujuan izin", title_en="Approval",
                     role=Role.APPROVER, standard_minutes=10,
                     outcomes=[Outcome(outcome="approved", label="Setujui", label_en="Approve"), RETURN,
                               Outcome(outcome="rejected", label="Tolak permohonan", label_en="Reject",
                                       note_required=True)])

DETAILS: dict[str, str] = {}


def validate(ctx: StepContext) -> dict[str, Any]:
    """Four eyes: the officer who verified the file may not also approve it (ForbiddenError, field "role")."""
    if ctx.app.verified_by == ctx.principal.user_id:
        raise ForbiddenError("petugas yang memverifikasi tidak boleh juga menyetujui permohonan yang sama", field="role")
    return {}


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """A rejection's note is the reason the rejection letter gives."""
    if ctx.outcome == "rejected":
        return {"changes": {"rejection_reasons": [ctx.note_text]}}
    return {}
