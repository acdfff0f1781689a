"""SOP 6 (payment stage) — Pembayaran retribusi: the applicant pays with the reference they were given (bank transfer / QRIS) and
sends the proof (ASL `AwaitPayment`). The wait has the type's deadline (`due_working_days`): unpaid, the
application lapses. The SLA clock of the office is paused meanwhile: the applicant is the one to act.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain import payment
from ..domain.clock import now_utc
from ..domain.errors import ConflictError, NotFoundError, ValidationError
from ..domain.models import Application, DocumentState, Task
from ..domain.steps import Outcome, Role, StepDef, StepId
from ._common import StepContext

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(step_id=StepId.PAYMENT, sop_number=6, title="Pembayaran retribusi oleh pemohon",
                     title_en="Payment by the applicant", role=Role.APPLICANT, standard_working_days=7,
                     outcomes=[Outcome(outcome="paid", label="Sudah dibayar — kirim bukti pembayaran",
                                       label_en="Paid — send the proof")])

DETAILS = {"upload_id": "the accepted proof of payment (PDF) uploaded since the wait opened; without it, only "
                        "when the payment provider already reports the reference paid"}


def validate(ctx: StepContext) -> dict[str, Any]:
    """A proof uploaded (and accepted) since the wait opened, or the provider reports the reference paid.

    Raises ConflictError (no reference yet), ValidationError/NotFoundError (field "upload_id")."""
    from ..adapters.payment import provider
    from ..services import payments

    record = payments.record_of(ctx.app)
    if record.reference is None:
        raise ConflictError("referensi pembayaran belum terbit")
    upload_id = ctx.details.get("upload_id")
    if upload_id is None:
        if provider().status(record.reference, now_utc()) != "paid":
            raise ValidationError("unggah bukti pembayaran (PDF) terlebih dahulu", field="upload_id")
        return {"proof_upload_id": None, "provider_confirmed": True}
    if not isinstance(upload_id, str):
        raise ValidationError("unggahan tidak valid", field="upload_id")
    doc = next((d for d in ctx.app.documents
                if d.upload_id == upload_id and d.requirement_id == payment.PROOF_REQUIREMENT), None)
    if doc is None:
        raise NotFoundError("bukti pembayaran tidak ditemukan", field="upload_id")
    if doc.state != DocumentState.ACCEPTED:
        raise ValidationError("bukti pembayaran belum diterima sistem; unggah ulang berkas PDF yang utuh",
                              field="upload_id")
    if doc.uploaded_at < ctx.task.opened_at:
        raise ValidationError("unggah bukti pembayaran yang baru", field="upload_id")
    return {"proof_upload_id": upload_id, "provider_confirmed": False}


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """The proof is in: the applicant's clock stops, keeping the time they had left."""
    from ..services import payments

    record = payments.record_of(ctx.app)
    now = now_utc()
    record.proof_upload_id = checked["proof_upload_id"]
    record.provider_confirmed = checked["provider_confirmed"]
    record.proof_submitted_at = now
    record.remaining_seconds = max(0.0, (record.due_at - now).total_seconds()) if record.due_at else 0.0
    return {"changes": {"payment": record.model_dump(mode="json")}}


def view(app: Application, task: Task) -> dict[str, Any]:
    from ..services import payments

    return {"payment": payments.officer_view(app)}
