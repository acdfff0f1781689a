"""SOP 8 — Penandatanganan elektronik (TTE): the head signs the decree, or returns it to numbering
(ASL `SignPermit`; the draft decree the head reviews is rendered as the task opens).

The signed permit is published (registry, download) only after the run accepted the decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.steps import RETURN, Outcome, Role, StepDef, StepId
from ._common import SIGNING_DETAILS, StepContext, resign_confirmation, signed

if TYPE_CHECKING:
    from ..domain.models import Application
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(step_id=StepId.SIGNING, sop_number=8, title="Penandatanganan elektronik (TTE)",
                     title_en="Electronic signature", role=Role.HEAD, standard_minutes=15,
                     outcomes=[Outcome(outcome="signed", label="Tandatangani (TTE)", label_en="Sign"), RETURN])

DETAILS = SIGNING_DETAILS


def validate(ctx: StepContext) -> dict[str, Any]:
    """After an attempt whose outcome is unknown, only an explicit re-sign goes ahead."""
    return resign_confirmation(ctx)


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """Signed: the permit PDF signed (keyed by the claim) and its registry record, published later."""
    if ctx.outcome != "signed":
        return {}
    from ..services import permits

    record = signed(ctx, checked, credentials,
                    lambda: permits.sign_permit(ctx.app.application_id, ctx.principal, claim_id, credentials))
    return {"permit": record.model_dump(mode="json"), "signed": True}


def prepare(app: Application) -> None:
    """The decree is drafted with its number and QR code for the head's preview (again after a return)."""
    from ..services import automated

    automated.render_permit(app.application_id)
