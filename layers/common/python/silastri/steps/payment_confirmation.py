"""SOP 6 (payment stage) — Konfirmasi pembayaran: the back office confirms the payment (the proof matches the reference and the
amount, or the provider reported it paid), or rejects the proof with a note: the applicant gets back the time
they had left and a new reference (ASL `ConfirmPayment`; confirmed → numbering, SOP 7).
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

DEFINITION = StepDef(step_id=StepId.PAYMENT_CONFIRMATION, sop_number=6, title="Konfirmasi pembayaran",
                     title_en="Payment confirmation", role=Role.BACK_OFFICE, standard_minutes=15,
                     outcomes=[Outcome(outcome="confirmed", label="Pembayaran terkonfirmasi",
                                       label_en="Payment confirmed"),
                               Outcome(outcome="proof_rejected", label="Bukti pembayaran ditolak — kembali ke pemohon",
                                       label_en="Proof rejected", note_required=True)])

DETAILS: dict[str, str] = {}


def validate(ctx: StepContext) -> dict[str, Any]:
    """ConflictError when there is no proof (nor a provider confirmation) to decide on."""
    from ..services import payments

    record = payments.record_of(ctx.app)
    if not (record.proof_upload_id or record.provider_confirmed):
        raise ConflictError("belum ada bukti pembayaran untuk dikonfirmasi")
    return {}


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """Confirmed: the stage is done. Proof rejected: the applicant gets back the time they had left, and the
    reference is issued again with the new deadline (the run re-enters IssuePaymentReference)."""
    from ..services import payments

    record = payments.record_of(ctx.app)
    now = now_utc()
    if ctx.outcome == "confirmed":
        record.confirmed_at, record.confirmed_by = now, ctx.principal.user_id
    else:
        record.due_at = payment.due_after_rejection(record, now)
        record.rejections += 1
        record.last_rejection_note = ctx.note_text or None
        record.reference = None
        record.proof_upload_id, record.provider_confirmed = None, False
        record.proof_submitted_at, record.remaining_seconds = None, None
    return {"changes": {"payment": record.model_dump(mode="json")}}


def view(app: Application, task: Task) -> dict[str, Any]:
    from ..services import payments

    return {"payment": payments.officer_view(app)}
