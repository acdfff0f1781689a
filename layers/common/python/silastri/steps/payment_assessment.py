"""SOP 6 (payment stage) — Penetapan retribusi: the technical team assesses the retribution of a permit type whose payment is
"assessed" (ASL `AssessPayment`, between approval and the payment reference): the amount in whole Rupiah and
the basis of the calculation (e.g. the Perda's tariff times the area). A fixed amount needs no task: the run
records it (`RecordFixedAssessment`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain import payment
from ..domain.clock import now_utc
from ..domain.errors import ConflictError
from ..domain.models import Application, Task
from ..domain.steps import Outcome, Role, StepDef, StepId
from ._common import StepContext

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(step_id=StepId.PAYMENT_ASSESSMENT, sop_number=6, title="Penetapan retribusi",
                     title_en="Fee assessment", role=Role.TECHNICAL_TEAM, standard_minutes=30,
                     outcomes=[Outcome(outcome="assessed", label="Tetapkan besaran dan dasar perhitungan",
                                       label_en="Assess amount and basis")])

DETAILS = {"amount": "the retribution in whole Rupiah, > 0 (required)",
           "basis": "how it was calculated, e.g. the Perda tariff and the area (required)"}


def validate(ctx: StepContext) -> dict[str, Any]:
    """Amount and basis are given (ValidationError, fields "amount"/"basis"); ConflictError when the type's
    payment is not assessed by the technical team."""
    from ..services import payments

    if payments.stage_of(ctx.app).mode != "assessed":
        raise ConflictError("jenis izin ini tidak memakai retribusi yang ditetapkan tim teknis")
    amount, basis = payment.parse_assessment(ctx.details.get("amount"), ctx.details.get("basis"))
    return {"amount": amount, "basis": basis}


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """The assessment is kept on the application (the reference is issued by the run's next state)."""
    from ..services import payments

    record = payments.record_of(ctx.app)
    record.assessment = payment.Assessment(mode="assessed", amount=checked["amount"], basis=checked["basis"],
                                           name=payments.stage_of(ctx.app).name,
                                           assessed_by=ctx.principal.user_id, assessed_at=now_utc())
    return {"changes": {"payment": record.model_dump(mode="json")}}


def view(app: Application, task: Task) -> dict[str, Any]:
    """The officer's task page shows the payment stage so far."""
    from ..services import payments

    return {"payment": payments.officer_view(app)}
