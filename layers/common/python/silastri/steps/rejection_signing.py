"""SOP 8 (rejection) — Penandatanganan surat penolakan: the head signs the rejection letter (ASL
`PrepareRejection`, `SignRejection`), after a negative recommendation, a rejection at approval, or too many
revision rounds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.steps import Outcome, Role, StepDef, StepId
from ._common import SIGNING_DETAILS, StepContext, resign_confirmation, signed

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(step_id=StepId.REJECTION_SIGNING, sop_number=8, title="Penandatanganan surat penolakan",
                     title_en="Signing the rejection letter", role=Role.HEAD, standard_minutes=15,
                     outcomes=[Outcome(outcome="signed", label="Tandatangani surat penolakan (TTE)",
                                       label_en="Sign the rejection letter")])

DETAILS = SIGNING_DETAILS


def validate(ctx: StepContext) -> dict[str, Any]:
    """After an attempt whose outcome is unknown, only an explicit re-sign goes ahead."""
    return resign_confirmation(ctx)


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """The rejection letter signed (keyed by the claim); the applicant downloads it once the run closed."""
    from ..services import permits

    key = signed(ctx, checked, credentials,
                 lambda: permits.sign_rejection(ctx.app.application_id, ctx.principal, claim_id, credentials))
    return {"changes": {"rejection_key": key}, "signed": True}
