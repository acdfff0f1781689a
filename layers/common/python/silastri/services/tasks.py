"""Human tasks: opened by the workflow (task token kept server-side), decided through the API exactly once."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from ..adapters import dynamo, identity, storage, workflow
from ..adapters.identity import Principal
from ..domain import steps
from ..domain.catalog import default_catalog
from ..domain.clock import now_utc
from ..domain.errors import ConflictError, DomainError, ForbiddenError, NotFoundError, ValidationError
from ..domain.models import Application, ApplicationStatus, Task, TaskStatus
from ..observability import logger
from . import numbering, permits, timeline


def open_human_task(application_id: str, office_id: str, step_id: str, state: str, token: str,
                    execution_name: str) -> Task:
    """Store the token, put the task in its role's queue, tell the people who must act.

    A resumed run (same application and step still open) hands the new token to the existing task."""
    definition = steps.step(step_id)
    assert definition.role is not None, f"{step_id} is not a human step"
    candidate = Task(task_id=uuid.uuid4().hex, application_id=application_id, office_id=office_id, step=step_id,
                     role=definition.role.value, opened_at=now_utc(), execution_name=execution_name)
    stored = dynamo.open_task(candidate, token)
    resumed = stored.task_id != candidate.task_id

    def change(app: Application) -> None:
        app.current_step = step_id
        app.resume_at = state
        if step_id == steps.StepId.REVISION.value:
            app.status = ApplicationStatus.AWAITING_REVISION
        elif app.status == ApplicationStatus.AWAITING_REVISION:
            app.status = ApplicationStatus.IN_PROGRESS

    app, _ = dynamo.update_application(application_id, change)
    if not resumed:
        timeline.record(application_id, step_id, "task_opened", "system", task_id=stored.task_id)
        if definition.role != steps.Role.APPLICANT:
            timeline.notify("task_opened", application_id=application_id,
                            registration_number=app.registration_number, office_id=office_id,
                            role=definition.role.value, params={"task_id": stored.task_id, "step": step_id})
    logger.info("task opened", application_id=application_id, step=step_id, resumed=resumed)
    return stored


def _authorise(principal: Principal, task: Task, app: Application) -> None:
    if task.role == steps.Role.APPLICANT.value:
        if app.applicant_id != principal.user_id:
            raise NotFoundError("tugas tidak ditemukan", field="task_id")
        return
    if principal.office_id != task.office_id:
        raise ForbiddenError("tugas ini milik kantor lain", field="office_id")
    if task.role not in principal.roles:
        raise ForbiddenError(f"tugas ini untuk peran {steps.ROLE_NAMES.get(task.role, task.role)}", field="role")


def _before(task: Task, app: Application, principal: Principal, outcome: str, note: str | None,
            details: dict[str, Any], credentials: permits.SigningCredentials | None = None) -> dict[str, Any]:
    """Step-specific checks and effects that must hold before the decision counts (all idempotent).

    Returns the application changes to apply once the decision is recorded."""
    step_id = steps.StepId(task.step)
    changes: dict[str, Any] = {}
    if step_id == steps.StepId.APPROVAL and app.verified_by == principal.user_id:
        raise ForbiddenError("petugas yang memverifikasi tidak boleh juga menyetujui permohonan yang sama", field="role")
    if step_id == steps.StepId.COMPLETENESS_CHECK:
        notes = details.get("document_notes") or {}
        if not isinstance(notes, dict):
            raise ValidationError("catatan dokumen tidak valid", field="document_notes")
        definition = default_catalog().permit_type(app.office_id, app.permit_type)
        for requirement_id, text in notes.items():
            definition.requirement(requirement_id)
            if not isinstance(text, str) or not text.strip():
                raise ValidationError("catatan dokumen wajib diisi", field=f"document_notes.{requirement_id}")
        changes["revision_notes"] = {k: v.strip() for k, v in notes.items()} if outcome == "incomplete" else {}
    elif step_id == steps.StepId.TECHNICAL_REVIEW:
        findings = details.get("findings") or ([note] if note else [])
        if not isinstance(findings, list) or not all(isinstance(f, str) and f.strip() for f in findings):
            raise ValidationError("temuan harus berupa daftar teks", field="findings")
        visited_on = _date(details.get("visited_on"), "visited_on")
        changes["technical_recommendation_key"] = permits.render_technical_recommendation(
            app, principal, [f.strip() for f in findings] or ["Pemeriksaan berkas sesuai persyaratan."], visited_on,
            recommended=outcome == "recommend")
        if outcome == "not_recommend":
            changes["rejection_reasons"] = [note.strip() if note else ""]
    elif step_id == steps.StepId.APPROVAL and outcome == "rejected":
        changes["rejection_reasons"] = [note.strip() if note else ""]
    elif step_id == steps.StepId.VERIFICATION and outcome == "verified":
        changes["verified_by"] = principal.user_id
    elif step_id == steps.StepId.NUMBERING:
        number = details.get("number")
        if not isinstance(number, str) or not number:
            raise ValidationError("konfirmasi nomor izin yang diusulkan", field="number")
        numbering.assign(app.application_id, number)
    elif step_id == steps.StepId.SIGNING and outcome == "signed":
        permits.sign_permit(app.application_id, principal, credentials)
    elif step_id == steps.StepId.REJECTION_SIGNING:
        permits.sign_rejection(app.application_id, principal, credentials)
    elif step_id == steps.StepId.PRINTING:
        copies = details.get("copies", 1)
        if not isinstance(copies, int) or not 1 <= copies <= 10:
            raise ValidationError("jumlah cetak 1 sampai 10", field="copies")
        changes["print_count"] = app.print_count + copies
    elif step_id == steps.StepId.PICKUP and not app.survey_done:
        raise ConflictError("pemohon belum mengisi Survei Kepuasan Masyarakat (SKM)", field="survey")
    return changes


def decide(principal: Principal, task_id: str, outcome: str, note: str | None, details: dict[str, Any]) -> Task:
    """Record a decision exactly once and resume the waiting run.

    Raises Forbidden/Validation errors (nothing changes) or ConflictError when already decided."""
    if note is not None and (not isinstance(note, str) or len(note) > 2000):
        raise ValidationError("catatan maksimal 2000 karakter", field="note")
    if not isinstance(details, dict):
        raise ValidationError("rincian keputusan tidak valid", field="details")
    # signing secrets (BSrE passphrase/TOTP) are taken out first: never stored with the decision or logged
    details = dict(details)
    credentials = None
    if "passphrase" in details or "totp" in details:
        credentials = permits.SigningCredentials(details.pop("signer_nik", None), details.pop("passphrase", None),
                                                 details.pop("totp", None))
    task = dynamo.get_task(task_id)
    app = dynamo.get_application(task.application_id)
    _authorise(principal, task, app)
    steps.check_decision(task.step, principal.roles, outcome, note)
    if task.status != TaskStatus.OPEN:
        raise ConflictError("tugas ini sudah diputuskan")
    changes = _before(task, app, principal, outcome, note, details, credentials)
    token = dynamo.claim_decision(task_id, outcome, note, principal.user_id, now_utc(), details)
    if changes:
        def change(target: Application) -> None:
            for name, value in changes.items():
                setattr(target, name, value)

        dynamo.update_application(app.application_id, change)
    extra: dict[str, Any] = {"copies": details.get("copies", 1)} if task.step == "printing" else {}
    if principal.acting:
        extra["acting"] = "Plt."  # an acting head decides in their own name, marked as Plt.
    timeline.record(app.application_id, task.step, "decided", task.role, principal.user_id, note, outcome=outcome,
                    task_id=task_id, actor_name=("Plt. " if principal.acting else "") + (principal.name or ""), **extra)
    workflow.resume(token, {"outcome": outcome, "task_id": task_id})
    logger.info("task decided", application_id=app.application_id, step=task.step, outcome=outcome)
    return dynamo.get_task(task_id)


def _date(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError("gunakan format tanggal YYYY-MM-DD", field=field) from None


def sign_batch(principal: Principal, task_ids: list[str]) -> list[dict[str, Any]]:
    """The head signs several waiting permits in one action; each is decided (or refused) on its own."""
    if "head" not in principal.roles:
        raise ForbiddenError("hanya Kepala Dinas yang menandatangani", field="role")
    if not isinstance(task_ids, list) or not task_ids or len(task_ids) > 50 or not all(isinstance(t, str) for t in task_ids):
        raise ValidationError("pilih 1 sampai 50 izin", field="task_ids")
    results = []
    for task_id in dict.fromkeys(task_ids):
        try:
            decide(principal, task_id, "signed", None, {})
            results.append({"task_id": task_id, "signed": True})
        except DomainError as exc:
            results.append({"task_id": task_id, "signed": False, "error": exc.message, "status": exc.status})
    return results


def counter_view(principal: Principal, registration_number: str) -> dict[str, Any]:
    """At the counter (SOP 10): who is collecting (masked), whether the SKM is filled, the open pickup task."""
    if "back_office" not in principal.roles:
        raise ForbiddenError("khusus Back Office", field="role")
    app = dynamo.application_by_registration(registration_number.strip().upper())
    if app.office_id != principal.office_id:
        raise ForbiddenError("permohonan ini milik kantor lain", field="office_id")
    contact = identity.contact_of(app.applicant_id)
    phone = contact.get("phone_number", "")
    open_task = dynamo.open_task_of(app.application_id)
    return {
        "registration_number": app.registration_number, "permit_number": app.permit_number,
        "status": app.status.value, "holder": app.holder_name(),
        "applicant_name": contact.get("name"), "nik_masked": contact.get("custom:nik_masked"),
        "phone_masked": phone[:5] + "*" * max(0, len(phone) - 9) + phone[-4:] if phone else None,
        "survey_done": app.survey_done, "print_count": app.print_count,
        "pickup_task_id": open_task[0].task_id if open_task and open_task[0].step == steps.StepId.PICKUP.value else None,
    }


def withdraw_task(principal: Principal, task: Task, reason: str | None) -> None:
    """The applicant withdraws: the open task resolves as `withdrawn` and the run closes the application."""
    token = dynamo.claim_decision(task.task_id, steps.WITHDRAWN, reason, principal.user_id, now_utc())
    timeline.record(task.application_id, task.step, "withdrawn", steps.Role.APPLICANT.value, principal.user_id, reason)
    workflow.resume(token, {"outcome": steps.WITHDRAWN, "task_id": task.task_id})


def queue_view(principal: Principal) -> list[dict[str, Any]]:
    """Open tasks of the officer's office for each of their roles, oldest first."""
    if not principal.office_id:
        raise ForbiddenError("khusus petugas", field="role")
    now = now_utc()
    rows = []
    for role in sorted(principal.roles & {r.value for r in steps.OFFICER_ROLES}):
        for task in dynamo.queue(principal.office_id, role):
            app = dynamo.get_application(task.application_id)
            definition = steps.step(task.step)
            rows.append({
                "task_id": task.task_id, "application_id": task.application_id,
                "registration_number": app.registration_number, "permit_type": app.permit_type,
                "holder": app.holder_name(), "step": task.step, "sop_number": definition.sop_number,
                "title": definition.title, "role": task.role, "opened_at": task.opened_at.isoformat(),
                "waiting_seconds": int((now - task.opened_at).total_seconds()),
                "standard_time": definition.standard_time_label,
            })
    rows.sort(key=lambda r: str(r["opened_at"]))
    return rows


def task_view(principal: Principal, task_id: str) -> dict[str, Any]:
    """The task and its application for the deciding officer (never the token)."""
    task = dynamo.get_task(task_id)
    app = dynamo.get_application(task.application_id)
    _authorise(principal, task, app)
    definition = steps.step(task.step)
    documents = []
    for requirement_id, doc in app.current_documents().items():
        documents.append({"requirement_id": requirement_id, "filename": doc.filename, "version": doc.version,
                          "pages": doc.pages, "url": storage.upload_url(doc.key, doc.filename)})
    extra: dict[str, Any] = {}
    if task.step == steps.StepId.NUMBERING.value:
        extra["proposed_number"] = numbering.propose(app)
    return {
        "task": task.model_dump(mode="json"),
        "title": definition.title,
        "sop_number": definition.sop_number,
        "outcomes": [o.model_dump() for o in definition.outcomes],
        "application": {
            "application_id": app.application_id, "registration_number": app.registration_number,
            "permit_type": app.permit_type, "status": app.status.value, "form": app.form,
            "permit_number": app.permit_number, "revision_notes": app.revision_notes,
            "survey_done": app.survey_done,
        },
        "documents": documents,
        "timeline": [e.model_dump(mode="json") for e in dynamo.timeline(app.application_id)],
        **extra,
    }
