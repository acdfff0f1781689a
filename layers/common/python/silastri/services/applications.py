"""The applicant's side of the process: draft, upload, submit, revise, withdraw, survey, status."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

from ..adapters import dynamo, storage, workflow
from ..adapters.identity import Principal
from ..domain import steps
from ..domain.catalog import default_catalog
from ..domain.clock import format_date_id, now_utc, to_wib
from ..domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from ..domain.ikm import SurveyAnswers
from ..domain.models import (
    OPEN_STATUSES,
    Application,
    ApplicationStatus,
    DocumentState,
    DocumentVersion,
    validate_form,
)
from ..domain.numbering import first_run_name, format_registration_number, registration_counter_id
from ..domain.payment import PROOF_REQUIREMENT
from ..observability import APPLICATIONS_SUBMITTED, count
from ..settings import get_settings
from . import sla, timeline

_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def owned(principal: Principal, application_id: str, documents: bool = True) -> Application:
    """The application if `principal` is its applicant; 404 otherwise (no hint that it exists). Without
    `documents` its documents list is not read (empty)."""
    app = dynamo.get_application(application_id, documents=documents)
    if app.applicant_id != principal.user_id:
        raise NotFoundError("permohonan tidak ditemukan", field="application_id")
    return app


def create_draft(principal: Principal, permit_type: str, form: dict[str, Any], office_id: str | None = None) -> Application:
    if steps.Role.APPLICANT.value not in principal.roles:
        raise ForbiddenError("hanya pemohon yang dapat membuat permohonan", field="role")
    office = office_id or get_settings().default_office_id
    definition = default_catalog().permit_type(office, permit_type)
    cleaned = validate_form(definition, form)
    app = Application(application_id=str(uuid.uuid4()), office_id=office, applicant_id=principal.user_id,
                      applicant_name=principal.name, permit_type=permit_type, form=cleaned, created_at=now_utc())
    dynamo.create_application(app)
    return app


def update_draft(principal: Principal, application_id: str, form: dict[str, Any]) -> Application:
    app = owned(principal, application_id)
    cleaned = validate_form(default_catalog().permit_type(app.office_id, app.permit_type), form)

    def change(target: Application) -> None:
        if target.status != ApplicationStatus.DRAFT:
            raise ConflictError("hanya draf yang dapat diubah")
        target.form = cleaned

    return dynamo.update_application(app.application_id, change)[0]


def _uploadable(app: Application, requirement_id: str | None = None) -> None:
    if requirement_id == PROOF_REQUIREMENT:  # the payment proof (issue 10): only while the run waits for it
        if app.status != ApplicationStatus.IN_PROGRESS or app.current_step != steps.StepId.PAYMENT.value:
            raise ConflictError("bukti pembayaran diunggah saat permohonan menunggu pembayaran")
        return
    if app.status not in (ApplicationStatus.DRAFT, ApplicationStatus.AWAITING_REVISION):
        raise ConflictError("dokumen hanya dapat diubah pada draf atau saat perbaikan berkas")


def request_upload(principal: Principal, application_id: str, requirement_id: str, filename: str,
                   size_bytes: int) -> dict[str, Any]:
    """Reserve an upload slot in quarantine and return a presigned POST limited to a PDF of the allowed size."""
    app = owned(principal, application_id, documents=False)  # the slot is its own item (save_document)
    _uploadable(app, requirement_id)
    if requirement_id != PROOF_REQUIREMENT:
        default_catalog().permit_type(app.office_id, app.permit_type).requirement(requirement_id)
    settings = get_settings()
    if not isinstance(filename, str) or not filename.lower().endswith(".pdf") or len(filename) > 200:
        raise ValidationError("hanya berkas PDF (.pdf) yang diterima", field="filename")
    if not isinstance(size_bytes, int) or size_bytes <= 0:
        raise ValidationError("ukuran berkas tidak valid", field="size_bytes")
    if size_bytes > settings.upload_max_bytes:
        raise ValidationError(f"ukuran berkas melebihi {settings.upload_max_bytes // (1024 * 1024)} MB",
                              field="size_bytes")
    upload_id = uuid.uuid4().hex
    key = storage.quarantine_key(app.office_id, app.application_id, upload_id)
    safe_name = re.sub(r"[^A-Za-z0-9._ -]", "_", filename)

    slot = DocumentVersion(upload_id=upload_id, requirement_id=requirement_id, version=0,
                           state=DocumentState.QUARANTINED, key=key, filename=safe_name, uploaded_at=now_utc())
    post = storage.presigned_upload(key, settings.upload_max_bytes)
    # one conditional put of the slot, the state checked again on a fresh read just before it (save_document): a
    # slot that lands just after a state change is inert (quarantined; complete_upload checks the state again,
    # submission and resubmission count only accepted documents)
    dynamo.save_document(app.application_id, slot, lambda target: _uploadable(target, requirement_id), new=True)
    return {"upload_id": upload_id, "url": post["url"], "fields": post["fields"],
            "max_bytes": settings.upload_max_bytes}


def complete_upload(principal: Principal, application_id: str, upload_id: str) -> DocumentVersion:
    """Validate the quarantined file; promote it if it is a sound PDF, otherwise reject and delete it."""
    from ..adapters.pdf_check import PdfLimits  # heavy: only here
    from ..adapters.pdf_worker import check_upload

    app = owned(principal, application_id)
    doc = next((d for d in app.documents if d.upload_id == upload_id), None)
    if doc is None:
        raise NotFoundError("unggahan tidak ditemukan", field="upload_id")
    _uploadable(app, doc.requirement_id)
    if doc.state != DocumentState.QUARANTINED:
        return doc
    limit = get_settings().upload_max_bytes
    data = storage.read_upload(doc.key, limit)
    if data is None:
        raise ValidationError("berkas belum terunggah", field="upload_id")
    verdict = check_upload(data, PdfLimits(max_bytes=limit))
    version = max((d.version for d in app.documents if d.requirement_id == doc.requirement_id), default=0) + 1
    final_key = storage.document_key(app.office_id, app.application_id, doc.requirement_id, version)
    if verdict.accepted:
        storage.put_upload(final_key, data)
    storage.delete_upload(doc.key)

    entry = doc.model_copy(update={"size_bytes": verdict.size_bytes, "sha256": verdict.sha256, "pages": verdict.pages})
    if verdict.accepted:
        entry.state, entry.key, entry.version = DocumentState.ACCEPTED, final_key, version
    else:
        entry.state, entry.reason_code, entry.reason = DocumentState.REJECTED, verdict.reason_code, verdict.message_id
    # the accepted document (the slot must exist) in one transaction with a check of the application's version,
    # the state checked again on a fresh read after the PDF check: a submission or resubmission made meanwhile,
    # even at the same moment, refuses it (409) — an accepted document never lands on a file under review
    dynamo.save_document(app.application_id, entry, lambda target: _uploadable(target, doc.requirement_id),
                         new=False, guarded=True)
    return entry


APPLICANT_FILES = {"receipt": "receipt_key", "permit": "permit_key", "rejection-letter": "rejection_key"}
OFFICER_FILES = {**APPLICANT_FILES, "permit-draft": "draft_permit_key",
                 "technical-recommendation": "technical_recommendation_key"}


FILE_NAMES = {"receipt": "tanda-terima", "permit": "surat-izin", "rejection-letter": "surat-penolakan",
              "permit-draft": "draf-surat-izin", "technical-recommendation": "rekomendasi-teknis"}


def document_link(principal: Principal, application_id: str, kind: str) -> dict[str, str]:
    """A short-lived download link for an issued document: the applicant's own, or one the officer may see
    (`officer_search.may_see`; officers also see drafts and the technical recommendation)."""
    from . import officer_search

    app = dynamo.get_application(application_id)
    if app.applicant_id == principal.user_id:
        allowed = APPLICANT_FILES
    elif officer_search.may_see(principal, app):  # the technical team: only files sent to it
        allowed = OFFICER_FILES
    else:
        raise NotFoundError("permohonan tidak ditemukan", field="application_id")
    if kind not in allowed:
        raise NotFoundError(f"dokumen '{kind}' tidak dikenal", field="kind")
    key = getattr(app, allowed[kind])
    if not key:
        raise NotFoundError("dokumen ini belum tersedia", field="kind")
    name = f"{FILE_NAMES[kind]}-{app.registration_number}.pdf"
    return {"url": storage.download_url(key, name), "filename": name}


def workflow_input(app: Application) -> dict[str, Any]:
    """What a run carries: ids and routing facts only — never personal data.

    `plan` is the application's stage plan (stored at submission; PermitType.stage_plan); runs started before
    plans existed read `needs_technical_recommendation`, kept beside it with the same value."""
    plan = app.plan(default_catalog().permit_type(app.office_id, app.permit_type))
    return {
        "application_id": app.application_id,
        "office_id": app.office_id,
        "permit_type": app.permit_type,
        "registration_number": app.registration_number,
        "plan": plan,
        "needs_technical_recommendation": bool(plan["technical_review"]),
    }


def submit(principal: Principal, application_id: str, idempotency_key: str | None) -> Application:
    """Submit once: the same Idempotency-Key returns the same result; the run is named after the
    registration number, so a retried start cannot start a second run."""
    if not idempotency_key or not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise ValidationError("header Idempotency-Key (8–128 karakter) wajib ada", field="Idempotency-Key")
    app = owned(principal, application_id)
    if app.status == ApplicationStatus.DRAFT:
        definition = default_catalog().permit_type(app.office_id, app.permit_type)
        missing = app.missing_requirements(definition)
        if missing:
            raise ValidationError(f"dokumen belum lengkap: {', '.join(missing)}", field="documents")
        office = default_catalog().office(app.office_id)
        when = now_utc()
        seq = dynamo.increment_counter(registration_counter_id(app.office_id, when.year))
        registration = format_registration_number(office, seq, when)
        submitted_here = [False]  # this call made the transition (counted once, never for a retry)

        def change(target: Application) -> None:
            submitted_here[0] = target.status == ApplicationStatus.DRAFT
            if target.status != ApplicationStatus.DRAFT:
                return  # a concurrent submit won; checked below
            target.status = ApplicationStatus.IN_PROGRESS
            target.registration_number = registration
            target.execution_name = first_run_name(target.office_id, registration)
            target.submitted_at = when
            target.submit_key = idempotency_key
            target.current_step = steps.StepId.SUBMISSION.value
            target.stage_plan = definition.stage_plan(target.form)  # once: the run and every view follow it

        app = dynamo.update_application(app.application_id, change)[0]
        if submitted_here[0]:
            count(APPLICATIONS_SUBMITTED, permit_type=app.permit_type)
    if app.submit_key != idempotency_key:
        raise ConflictError("permohonan ini sudah dikirim")
    if app.status == ApplicationStatus.IN_PROGRESS and app.current_step == steps.StepId.SUBMISSION.value:
        assert app.registration_number and app.execution_name
        workflow.start_run(app.execution_name, workflow_input(app))
    return app


def resubmit(principal: Principal, application_id: str) -> Application:
    """After a revision request: every document the back office asked for has a newer accepted version."""
    from . import tasks  # late import: tasks imports this module

    app = owned(principal, application_id)
    if app.status != ApplicationStatus.AWAITING_REVISION:
        raise ConflictError("permohonan ini tidak sedang menunggu perbaikan berkas")
    if app.revision_deadline and now_utc() > app.revision_deadline:
        raise ConflictError("batas waktu perbaikan berkas sudah lewat")
    open_task = dynamo.open_task_of(app.application_id)
    if open_task is None or open_task[0].step != steps.StepId.REVISION.value:
        raise ConflictError("permohonan ini tidak sedang menunggu perbaikan berkas")
    requested_at = open_task[0].opened_at
    current = app.current_documents()
    stale = [r for r in app.revision_notes if r in current and current[r].uploaded_at < requested_at]
    missing = [r for r in app.revision_notes if r not in current]
    if stale or missing:
        raise ValidationError(f"ganti dokumen berikut terlebih dahulu: {', '.join(stale + missing)}", field="documents")
    tasks.decide(principal, open_task[0].task_id, "resubmitted", None, {})

    def back_in_progress(target: Application) -> None:
        if target.status == ApplicationStatus.AWAITING_REVISION:
            target.status = ApplicationStatus.IN_PROGRESS

    return dynamo.update_application(app.application_id, back_in_progress)[0]


def withdraw(principal: Principal, application_id: str, reason: str | None) -> Application:
    """Withdraw an application that is not yet decided; the waiting run ends as withdrawn."""
    from . import tasks

    app = owned(principal, application_id)
    if app.status == ApplicationStatus.DRAFT:
        def change(target: Application) -> None:
            target.status = ApplicationStatus.WITHDRAWN
            target.closed_at = now_utc()

        return dynamo.update_application(app.application_id, change)[0]
    if app.status not in (ApplicationStatus.IN_PROGRESS, ApplicationStatus.AWAITING_REVISION) or app.permit_number:
        raise ConflictError("permohonan ini tidak dapat ditarik lagi")
    open_task = dynamo.open_task_of(app.application_id)
    if open_task is None:
        raise ConflictError("permohonan sedang berpindah tahap; coba lagi sebentar lagi")
    tasks.withdraw_task(principal, open_task[0], reason)

    def withdrawn(target: Application) -> None:  # the run closes it too; the applicant sees it at once
        target.status = ApplicationStatus.WITHDRAWN

    return dynamo.update_application(app.application_id, withdrawn)[0]


def fill_survey(principal: Principal, application_id: str, answers: dict[str, Any]) -> None:
    """The SKM survey: one per application, once the permit is issued."""
    app = owned(principal, application_id, documents=False)
    if app.status not in (ApplicationStatus.ISSUED, ApplicationStatus.COMPLETED):
        raise ConflictError("survei dibuka setelah izin siap diambil")
    try:
        survey = SurveyAnswers.model_validate(answers)
    except Exception as exc:
        raise ValidationError(str(exc).splitlines()[-1] if str(exc) else "invalid survey", field="scores") from exc

    def change(target: Application) -> None:
        if target.survey_done:
            raise ConflictError("survei untuk permohonan ini sudah diisi")
        target.survey_done = True

    dynamo.update_application(app.application_id, change, documents=False)
    dynamo.put_survey(app.office_id, app.application_id, survey)
    timeline.record(app.application_id, steps.StepId.PICKUP.value, "survey_filled", steps.Role.APPLICANT.value,
                    principal.user_id)


# the payment stage's steps and the payment modes that have them (issue 10)
_PAYMENT_STEPS = {steps.StepId.PAYMENT_ASSESSMENT.value: ("assessed",), steps.StepId.PAYMENT.value: ("fixed", "assessed"),
                  steps.StepId.PAYMENT_CONFIRMATION.value: ("fixed", "assessed")}


def status_view(app: Application) -> dict[str, Any]:
    """Status with a per-step timeline (SOP standard time beside the actual time)."""
    from . import payments  # late import: payments imports this module

    events = dynamo.timeline(app.application_id)
    definition = default_catalog().permit_type(app.office_id, app.permit_type)
    plan = app.plan(definition)
    per_step: list[dict[str, Any]] = []
    for step_def in steps.STEPS.values():
        if step_def.step_id == steps.StepId.TECHNICAL_REVIEW and not plan["technical_review"]:
            continue
        if step_def.step_id.value in _PAYMENT_STEPS and plan.get("payment", "none") not in _PAYMENT_STEPS[step_def.step_id.value]:
            continue
        mine = [e for e in events if e.step == step_def.step_id.value]
        started = next((e.at for e in mine if e.action in ("task_opened", "started", "submitted")), None)
        finished = next((e.at for e in reversed(mine) if e.action in ("decided", "done")), None)
        state = "done" if finished else ("current" if app.current_step == step_def.step_id.value else "pending")
        if not mine and state == "pending" and step_def.step_id in (
                steps.StepId.REVISION, steps.StepId.REJECTION_SIGNING):
            continue
        per_step.append({
            "step": step_def.step_id.value, "sop_number": step_def.sop_number, "title": step_def.title,
            "title_en": step_def.title_en, "role": step_def.role.value if step_def.role else "system",
            "standard_time": sla.standard_label(definition, step_def.step_id.value), "state": state,
            "started_at": started.isoformat() if started else None,
            "finished_at": finished.isoformat() if finished else None,
            "actual_seconds": (finished - started).total_seconds() if started and finished else None,
        })
    expected = sla.expected_completion(app)  # recomputed on every view, from the step reached
    return {
        "application_id": app.application_id,
        "registration_number": app.registration_number,
        "permit_type": app.permit_type,
        "holder_name": app.holder_name(definition),
        "stage_plan": plan,
        "status": app.status.value,
        "current_step": app.current_step,
        "permit_number": app.permit_number,
        "permit_id": app.permit_id if app.permit_key else None,
        "revision_deadline": app.revision_deadline.isoformat() if app.revision_deadline else None,
        "expected_completion": expected.isoformat() if expected else None,
        "expected_completion_date": format_date_id(to_wib(expected).date()) if expected else None,
        "revision_notes": app.revision_notes,
        "documents": [d.model_dump(mode="json", exclude={"key"}) for d in app.documents],
        "steps": per_step,
        "timeline": [e.model_dump(mode="json", exclude={"actor_id"}) for e in events],
        "downloads": {k: bool(v) for k, v in (("receipt", app.receipt_key), ("permit", app.permit_key),
                                                ("rejection_letter", app.rejection_key))},
        "survey_done": app.survey_done,
        "payment": payments.applicant_view(app),
        "open": app.status in OPEN_STATUSES,
        "run_halted": run_halted_note(app),
    }


RUN_HALTED_NOTES = {
    "failed": ("Proses permohonan ini terhenti karena gangguan sistem pada tahap yang sedang berjalan. Tugas yang "
               "terbuka ditutup; operator akan melanjutkan permohonan dari tahap tersebut. Data dan dokumen Anda aman."),
    "stopped": ("Proses permohonan ini dihentikan sementara (alur kerja berhenti atau melewati batas waktu). Tugas "
                "yang terbuka ditutup; operator akan melanjutkan permohonan dari tahap terakhir yang dicapai. "
                "Data dan dokumen Anda aman."),
}


def run_halted_note(app: Application) -> str | None:
    """Why the application is not moving (its run ended and waits for an operator), in Bahasa Indonesia."""
    return RUN_HALTED_NOTES.get(app.status.value)


# ----------------------------------------------------------------------------- the applicant's list

LIST_PAGE_SIZE = 20
_CURSOR = re.compile(r"^([0-9T:.+-]{10,40})~([A-Za-z0-9_-]{1,64})$")


def list_view(app: Application) -> dict[str, Any]:
    """What the applicant's list shows of one application (no timeline: the status page has it), from the item
    alone (no further read)."""
    step = None
    if app.status in OPEN_STATUSES and app.current_step:
        try:
            step = steps.STEPS[steps.StepId(app.current_step)]
        except (ValueError, KeyError):
            step = None
    return {
        "application_id": app.application_id,
        "registration_number": app.registration_number,
        "office_id": app.office_id,
        "permit_type": app.permit_type,
        "permit_type_name": default_catalog().permit_type_name(app.office_id, app.permit_type),
        "holder_name": app.holder_name(),
        "status": app.status.value,
        "current_step": step.step_id.value if step else None,
        "current_step_sop_number": step.sop_number if step else None,
        "current_step_title": step.title if step else None,
        "permit_number": app.permit_number,
        "created_at": app.created_at.isoformat(),
        "submitted_at": app.submitted_at.isoformat() if app.submitted_at else None,
        "open": app.status in OPEN_STATUSES,
    }


def list_page(principal: Principal, limit: int = LIST_PAGE_SIZE, after: str | None = None) -> dict[str, Any]:
    """One page of the caller's applications, newest first: {"applications": [list_view…], "next": cursor or None}.

    Two reads per page whatever the number stored (a Query of the applicant's index, one BatchGetItem), where the
    list once read every application and then each one's timeline (issue 12). `after`: the previous page's `next`;
    ValidationError (field `after`) when it is not one; `limit` 1..100."""
    if not 1 <= limit <= 100:
        raise ValidationError("limit harus 1 sampai 100", field="limit")
    start = None
    if after:
        try:
            match = _CURSOR.match(base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode("ascii"))
        except (ValueError, UnicodeError):
            match = None
        if match is None:
            raise ValidationError("penanda halaman tidak dikenal", field="after")
        start = (match.group(1), match.group(2))
    found, following = dynamo.applications_page(principal.user_id, limit, start)
    cursor = None
    if following:  # opaque and URL-safe (the time has a "+")
        cursor = base64.urlsafe_b64encode(f"{following[0]}~{following[1]}".encode()).decode().rstrip("=")
    return {"applications": [list_view(app) for app in found], "next": cursor}
