"""The payment stage (issue 10): between approval (SOP 6) and numbering (SOP 7), for permit types whose stage
plan has a payment. The ASL holds the order: assessment (fixed by the type: `record_fixed_assessment`, or
entered by the technical team: step `payment_assessment`) → `issue_payment_reference` (payment-provider port)
→ the applicant pays and sends the proof (step `payment`, a wait with the type's deadline: unpaid, the
application lapses) → the back office confirms or rejects the proof (step `payment_confirmation`).

The human steps' rules and effects are their step modules (silastri/steps/payment_assessment.py, payment.py,
payment_confirmation.py); this module holds the system steps, the applicant's action and the views."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..adapters import dynamo, storage
from ..adapters.identity import Principal
from ..adapters.payment import local_provider, provider
from ..domain import payment, steps
from ..domain.calendar import CalendarYearError
from ..domain.catalog import PaymentStage, default_catalog
from ..domain.clock import format_datetime_wib, now_utc
from ..domain.errors import ConflictError, NotFoundError
from ..domain.models import Application, ApplicationStatus
from ..domain.payment import Assessment, PaymentRecord
from ..observability import logger
from . import timeline
from .applications import owned

if TYPE_CHECKING:
    from .automated import StepEvent


class PaymentStageError(Exception):
    """The run reached a payment state the application's type or record does not allow (a configuration or
    routing error: the run records the failure and waits for an operator)."""


def stage_of(app: Application) -> PaymentStage:
    """The payment stage of the application's permit type."""
    return default_catalog().permit_type(app.office_id, app.permit_type).payment


def record_of(app: Application) -> PaymentRecord:
    """The application's payment record (empty before the assessment)."""
    return PaymentRecord.model_validate(app.payment or {})


def _save(application_id: str, state: str | None, record: PaymentRecord) -> Application:
    def change(target: Application) -> None:
        if state:
            target.resume_at = state
        target.payment = record.model_dump(mode="json")

    return dynamo.update_application(application_id, change)[0]


def _deadline(app: Application, now: datetime, working_days: int) -> datetime:
    """Closing time of the N-th working day (office calendar); a year without cuti-bersama data counts its
    candidate days as leave (never less time), as the revision deadline does."""
    office = default_catalog().office(app.office_id)
    try:
        return office.calendar().end_of_working_day(now, working_days)
    except CalendarYearError:
        logger.warning("provisional payment deadline", application_id=app.application_id)
        return office.calendar(provisional=True).end_of_working_day(now, working_days)


# ----------------------------------------------------------------------------- automated steps (Lambda)


def record_fixed_assessment(event: StepEvent) -> dict[str, Any]:
    """The type's fixed amount is the assessment (no officer involved). Idempotent."""
    app = dynamo.get_application(event.application_id)
    stage = stage_of(app)
    record = record_of(app)
    if record.assessment is None:
        if stage.mode != "fixed" or not stage.amount:
            raise PaymentStageError(f"{app.permit_type} has no fixed payment")
        record.assessment = Assessment(mode="fixed", amount=stage.amount, basis=stage.legal_basis or stage.name,
                                       name=stage.name, assessed_by="system", assessed_at=now_utc())
        timeline.record(app.application_id, steps.StepId.PAYMENT_ASSESSMENT.value, "payment_assessed", "system",
                        amount=stage.amount, basis=record.assessment.basis)
    _save(app.application_id, event.state, record)
    return {"amount": record.assessment.amount}


def issue_payment_reference(event: StepEvent) -> dict[str, Any]:
    """Issue the payment reference through the provider (again after a rejected proof, with the new deadline),
    tell the applicant, and return how long the run waits: `{"timeout_seconds": n}`. Re-entered (a resumed or
    continued run), it keeps the reference and returns the time left."""
    app = dynamo.get_application(event.application_id)
    stage = stage_of(app)
    record = record_of(app)
    if record.assessment is None:
        raise PaymentStageError("no assessment before the payment reference")
    now = now_utc()
    issued = record.reference is None
    if record.reference is None:
        due = record.due_at or _deadline(app, now, stage.due_working_days)
        # one bill per round: after a rejected proof the new reference is a new bill (rejections counts rounds)
        record.reference = provider().create_reference(f"{app.application_id}-{record.rejections}",
                                                       record.assessment.amount,
                                                       record.assessment.name, due, method=stage.methods[0])
        record.due_at = due
    assert record.due_at
    _save(app.application_id, event.state, record)
    if issued:
        timeline.record(app.application_id, steps.StepId.PAYMENT.value, "payment_reference_issued", "system",
                        reference_number=record.reference.reference_number, method=record.reference.method,
                        amount=record.assessment.amount, due_at=record.due_at.isoformat())
    timeline.notify("payment_due", application_id=app.application_id, registration_number=app.registration_number,
                    user_id=app.applicant_id, office_id=app.office_id,
                    event_id=f"payment_due:{app.application_id}:{record.rejections}",
                    params={"amount": str(record.assessment.amount), "deadline": record.due_at.isoformat(),
                            "name": record.assessment.name,
                            "reference_number": record.reference.reference_number,
                            "method": record.reference.method})
    return {"timeout_seconds": payment.timeout_seconds(record.due_at, now)}


# ----------------------------------------------------------------------------- the applicant and the views


def submit_payment(principal: Principal, application_id: str, upload_id: str | None) -> Application:
    """The applicant has paid: decides their open `payment` task as "paid" with the proof (`upload_id` of an
    accepted upload of PROOF_REQUIREMENT), or without one when the provider reports the reference paid.

    Raises ConflictError when the application does not wait for a payment, ValidationError for a bad proof."""
    from . import tasks  # late import: tasks imports this module

    app = owned(principal, application_id)
    open_task = dynamo.open_task_of(app.application_id)
    if app.status != ApplicationStatus.IN_PROGRESS or open_task is None \
            or open_task[0].step != steps.StepId.PAYMENT.value:
        raise ConflictError("permohonan ini tidak sedang menunggu pembayaran")
    record = record_of(app)
    if record.due_at and now_utc() > record.due_at:
        raise ConflictError("batas waktu pembayaran sudah lewat")
    tasks.decide(principal, open_task[0].task_id, "paid", None, {"upload_id": upload_id} if upload_id else {})
    return dynamo.get_application(app.application_id)


def _state(app: Application, record: PaymentRecord) -> str:
    if record.confirmed_at:
        return "confirmed"
    if app.current_step == steps.StepId.PAYMENT_CONFIRMATION.value or record.proof_submitted_at:
        return "checking"
    if record.reference:
        return "awaiting_payment"
    return "assessing" if app.current_step == steps.StepId.PAYMENT_ASSESSMENT.value else "pending"


def applicant_view(app: Application) -> dict[str, Any] | None:
    """What the applicant sees of the payment stage (None for a type without one): amount and basis, the
    reference with its method and instructions, the deadline (UTC ISO and WIB), and where it stands."""
    stage = stage_of(app)
    if stage.mode == "none":
        return None
    record = record_of(app)
    assessment, reference = record.assessment, record.reference
    return {
        "mode": stage.mode, "name": stage.name, "legal_basis": stage.legal_basis,
        "state": _state(app, record),
        "amount": assessment.amount if assessment else None,
        "amount_label": payment.format_rupiah(assessment.amount) if assessment else None,
        "basis": assessment.basis if assessment else None,
        "reference_number": reference.reference_number if reference else None,
        "method": reference.method if reference else None,
        "method_name": payment.METHOD_NAMES.get(reference.method, reference.method) if reference else None,
        "instructions": reference.instructions if reference else None,
        "due_at": record.due_at.isoformat() if record.due_at else None,
        "due_wib": format_datetime_wib(record.due_at) if record.due_at else None,
        "proof_requirement": payment.PROOF_REQUIREMENT,
        "proof_submitted": bool(record.proof_upload_id or record.provider_confirmed),
        "rejections": record.rejections, "last_rejection_note": record.last_rejection_note,
        "can_pay": app.current_step == steps.StepId.PAYMENT.value and app.status == ApplicationStatus.IN_PROGRESS,
    }


def officer_view(app: Application) -> dict[str, Any] | None:
    """The applicant's view plus what the back office checks: the proof (a short-lived link) and whether the
    provider reports the reference paid."""
    view = applicant_view(app)
    if view is None:
        return None
    record = record_of(app)
    proof = next((d for d in app.documents if d.upload_id == record.proof_upload_id), None) \
        if record.proof_upload_id else None
    view["proof"] = ({"filename": proof.filename, "pages": proof.pages, "uploaded_at": proof.uploaded_at.isoformat(),
                      "url": storage.upload_url(proof.key, proof.filename)} if proof else None)
    view["provider_status"] = provider().status(record.reference, now_utc()) if record.reference else None
    view["provider_confirmed"] = record.provider_confirmed
    return view


def simulate_paid(reference_number: str) -> None:
    """Local runtime only: the bank reports `reference_number` paid (LocalPaymentProvider). Raises
    NotFoundError when another provider is configured or the number is not a reference."""
    local = local_provider()
    if local is None:
        raise NotFoundError("simulasi pembayaran hanya ada di stack lokal")
    try:
        local.mark_paid(reference_number.strip().upper())
    except ValueError:
        raise NotFoundError("nomor referensi tidak dikenal", field="reference_number") from None
