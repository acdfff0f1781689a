"""The records of the licensing process, as plain pydantic models (no storage concerns)."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .catalog import FormField, PermitType
from .errors import ValidationError
from .validation import clean_text


class ApplicationStatus(StrEnum):
    DRAFT = "draft"
    IN_PROGRESS = "in_progress"
    AWAITING_REVISION = "awaiting_revision"
    ISSUED = "issued"            # signed; waiting for print/pickup
    COMPLETED = "completed"      # handed over
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    LAPSED = "lapsed"
    FAILED = "failed"
    STOPPED = "stopped"          # the run was ended from outside (stopped, timed out): an operator continues it


OPEN_STATUSES = {ApplicationStatus.IN_PROGRESS, ApplicationStatus.AWAITING_REVISION, ApplicationStatus.ISSUED}


class DocumentState(StrEnum):
    QUARANTINED = "quarantined"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class DocumentVersion(BaseModel):
    """One uploaded file for a requirement; accepted versions are kept as history."""

    upload_id: str
    requirement_id: str
    version: int
    state: DocumentState
    key: str
    filename: str
    size_bytes: int | None = None
    sha256: str | None = None
    pages: int | None = None
    reason_code: str | None = None
    reason: str | None = None
    uploaded_at: datetime


class Application(BaseModel):
    application_id: str
    office_id: str
    applicant_id: str
    applicant_name: str | None = None  # the applicant account's name when the draft was made (the receipt's)
    permit_type: str
    status: ApplicationStatus = ApplicationStatus.DRAFT
    registration_number: str | None = None
    form: dict[str, str] = Field(default_factory=dict)
    documents: list[DocumentVersion] = Field(default_factory=list)
    current_step: str | None = None
    resume_at: str | None = None
    execution_name: str | None = None
    revision_round: int = 0
    return_count: int = 0
    # the decision (task id) the last revision round / return was counted for: a step run again for the same
    # decision (a retried Lambda, a run resumed after a crash) counts it once
    revision_counted_for: str | None = None
    return_counted_for: str | None = None
    revision_deadline: datetime | None = None
    revision_notes: dict[str, str] = Field(default_factory=dict)
    proposed_number: str | None = None
    permit_number: str | None = None
    permit_id: str | None = None
    receipt_key: str | None = None
    draft_permit_key: str | None = None
    permit_key: str | None = None
    rejection_key: str | None = None
    technical_recommendation_key: str | None = None
    # the Rekomendasi Teknis's own letter number (the sector agency's gap-free sequence: kept once taken, like the
    # permit number) and its date (ISO, WIB): the decree's Memperhatikan cites both
    technical_recommendation_number: str | None = None
    rejection_letter_number: str | None = None  # the Surat Penolakan's own number, taken when it is signed
    technical_recommendation_date: str | None = None
    print_count: int = 0
    rejection_reasons: list[str] = Field(default_factory=list)
    submit_key: str | None = None
    survey_done: bool = False
    verified_by: str | None = None
    created_at: datetime
    submitted_at: datetime | None = None
    closed_at: datetime | None = None
    run_ended: str | None = None          # FAILED / TIMED_OUT / ABORTED: how the last run ended (reconciled)
    run_ended_at: datetime | None = None
    halted_status: ApplicationStatus | None = None  # the open status the application had when its run ended
    # a BSrE signature attempt whose outcome is unknown (issue 13): signing again needs an explicit confirmation
    signing_unknown_at: datetime | None = None
    # the run's routing facts (PermitType.stage_plan), computed once at submission from the type and the form:
    # {"technical_review": bool, "field_visit": bool, "payment": "none" | "fixed" | "assessed"}
    stage_plan: dict[str, Any] | None = None
    # the payment stage (domain.payment.PaymentRecord as JSON), None for types without a payment
    payment: dict[str, Any] | None = None

    def current_documents(self) -> dict[str, DocumentVersion]:
        """The latest accepted version per requirement."""
        latest: dict[str, DocumentVersion] = {}
        for doc in self.documents:
            if doc.state == DocumentState.ACCEPTED:
                held = latest.get(doc.requirement_id)
                if held is None or doc.version > held.version:
                    latest[doc.requirement_id] = doc
        return latest

    def missing_requirements(self, permit_type: PermitType) -> list[str]:
        """Requirements this application must still upload: optional ones and those whose `required_when`
        the form does not meet are left out."""
        have = self.current_documents()
        return [r.requirement_id for r in permit_type.needed_requirements(self.form) if r.requirement_id not in have]

    def plan(self, permit_type: PermitType) -> dict[str, Any]:
        """The stored stage plan, or (a draft, or an application submitted before plans were stored) the one the
        type gives for the form now."""
        return self.stage_plan if self.stage_plan is not None else permit_type.stage_plan(self.form)

    def holder_name(self, permit_type: PermitType | None = None) -> str:
        """The permit holder's name: the answer to the type's holder field (catalog `holder_name: true`); the
        type is looked up when not given. For a type the office no longer offers: the historical holder fields."""
        if permit_type is None:
            from .catalog import default_catalog
            from .errors import NotFoundError

            try:
                permit_type = default_catalog().permit_type(self.office_id, self.permit_type)
            except NotFoundError:  # a type the office no longer offers
                return self.form.get("organisation_name") or self.form.get("practitioner_name") or "-"
        return permit_type.holder(self.form)


class TaskStatus(StrEnum):
    """open → deciding (one officer's claim; effects being made) → decided (the run accepted it),
    or → cancelled (the run no longer waits: nothing of the claim is published)."""

    OPEN = "open"
    DECIDING = "deciding"
    DECIDED = "decided"
    CANCELLED = "cancelled"


class Task(BaseModel):
    """A human step waiting on an officer (or the applicant). The task token never leaves the backend."""

    task_id: str
    application_id: str
    office_id: str
    step: str
    role: str
    status: TaskStatus = TaskStatus.OPEN
    opened_at: datetime
    execution_name: str
    outcome: str | None = None
    note: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    claim_id: str | None = None
    # SLA clock (UTC); None for the applicant's tasks, which run on the revision deadline instead
    due_at: datetime | None = None
    remind_at: datetime | None = None
    reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    sla: dict[str, Any] | None = None


class TimelineEvent(BaseModel):
    """One audit-trail entry (who, role, when, what, note), hash-chained per application."""

    application_id: str
    event_id: str
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""
    at: datetime
    step: str
    action: str
    actor_role: str
    actor_id: str | None = None
    note: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class PermitRecord(BaseModel):
    """The public registry entry behind a permit's QR code."""

    model_config = ConfigDict(defer_build=True)

    permit_id: str
    permit_number: str
    office_id: str
    permit_type: str
    application_id: str
    holder_name: str
    issued_at: datetime
    valid_until: datetime | None
    signer_name: str
    signer_title: str
    sha256: str | None = None
    document_key: str | None = None
    revoked: bool = False
    revoked_reason: str | None = None


_FIELD_OK = re.compile(r"^[^<>{}]*$")  # control and bidi characters: see validation.clean_text


def validate_form(permit_type: PermitType, form: dict[str, Any]) -> dict[str, str]:
    """Check an application form against its permit type; return the cleaned form (every value a string).

    Text and textarea: cleaned text up to `max_length` (textarea keeps line breaks); enum: one of `options`;
    number: a whole number within `minimum`..`maximum`; date: `YYYY-MM-DD`. Raises ValidationError naming the
    first offending field (`form.<field>`)."""
    if not isinstance(form, dict):
        raise ValidationError("formulir tidak valid", field="form")
    known = {f.field for f in permit_type.form_fields}
    for name in form:
        if not isinstance(name, str) or name not in known:
            raise ValidationError(f"kolom '{name}' tidak dikenal", field=f"form.{name}")
    cleaned: dict[str, str] = {}
    for spec in permit_type.form_fields:
        value = form.get(spec.field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.required:
                raise ValidationError(f"'{spec.label}' wajib diisi", field=f"form.{spec.field}")
            continue
        cleaned[spec.field] = form_value(spec, value)
    return cleaned


def form_value(spec: FormField, value: Any) -> str:
    """One answer checked against its field's type (see `validate_form`). Raises ValidationError."""
    field, label = f"form.{spec.field}", f"'{spec.label}'"
    if spec.type == "number" and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    text = clean_text(value, field, spec.max_length, label=label, multiline=spec.type == "textarea")
    if spec.type == "enum":
        if text not in (spec.options or []):
            raise ValidationError(f"{label} harus salah satu dari: {', '.join(spec.options or [])}", field=field)
        return text
    if spec.type == "number":
        if not re.fullmatch(r"-?[0-9]{1,12}", text):
            raise ValidationError(f"{label} harus bilangan bulat", field=field)
        number = int(text)
        if (spec.minimum is not None and number < spec.minimum) or (spec.maximum is not None and number > spec.maximum):
            raise ValidationError(f"{label} harus antara {spec.minimum if spec.minimum is not None else '…'} dan "
                                  f"{spec.maximum if spec.maximum is not None else '…'}", field=field)
        return str(number)
    if spec.type == "date":
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValidationError(f"{label}: gunakan format tanggal YYYY-MM-DD", field=field)
        try:
            date.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"{label}: tanggal tidak ada di kalender", field=field) from None
        return text
    if not _FIELD_OK.match(text):
        raise ValidationError(f"{label} mengandung karakter yang tidak diizinkan", field=field)
    return text
