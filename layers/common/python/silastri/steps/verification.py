"""SOP 5 — Verifikasi berkas: the verifier (Penata Perizinan Ahli Muda) checks the file (ASL `Verify`).

`verified` goes to approval; `returned` goes one step back (technical review, or the completeness check
when the type has none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.steps import RETURN, Outcome, Role, StepDef, StepId
from ._common import StepContext

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(step_id=StepId.VERIFICATION, sop_number=5, title="Verifikasi berkas", title_en="Verification",
                     role=Role.VERIFIER, standard_minutes=10,
                     outcomes=[Outcome(outcome="verified", label="Terverifikasi — teruskan ke Ahli Madya",
                                       label_en="Verified"), RETURN])

DETAILS: dict[str, str] = {}


def validate(ctx: StepContext) -> dict[str, Any]:
    """Nothing beyond the outcome and its note."""
    return {}


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """Who verified, so that the same officer cannot also approve (approval's four-eyes rule)."""
    if ctx.outcome == "verified":
        return {"changes": {"verified_by": ctx.principal.user_id}}
    return {}
