"""The automated SOP steps: one function per Lambda (taking the run's payload, ids only), and the work a human
step's task opener does first, without a workflow state of its own (`record_submission`, `propose_number`,
`render_permit`: steps.*.prepare). Each is idempotent: the workflow may retry it, a resumed run may repeat it."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from ..adapters import dynamo
from ..domain import steps
from ..domain.calendar import CalendarYearError
from ..domain.catalog import default_catalog
from ..domain.clock import now_utc
from ..domain.models import Application, ApplicationStatus
from ..observability import APPLICATIONS_DECIDED, count, logger
from . import timeline

# Rendering (permits, storage), numbering and the task service (with every step module) are imported by the
# functions that use them: each automated step is its own Lambda function and needs only its own (issue 12).

MAX_RETURNS = 6  # officer-to-officer returns before the run stops for an operator


class StepEvent(BaseModel):
    """What the ASL passes to an automated step: the application, the state's name, the run's data."""

    application_id: str
    state: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)


def _mark(application_id: str, state: str | None, **fields: Any) -> Application:
    def change(app: Application) -> None:
        if state:
            app.resume_at = state
        for name, value in fields.items():
            setattr(app, name, value)

    return dynamo.update_application(application_id, change, documents=False)[0]  # marks touch no document


def record_submission(application_id: str) -> None:
    """SOP 1: the submission is on record; the applicant gets SILASTRI's notification. Done as the completeness
    check's task opens (steps.completeness_check.prepare), not as a workflow state of its own; idempotent."""
    app = dynamo.get_application(application_id)
    if not timeline.recorded(app.application_id, "submitted"):
        timeline.record(app.application_id, steps.StepId.SUBMISSION.value, "submitted", steps.Role.APPLICANT.value,
                        app.applicant_id)
        timeline.record(app.application_id, steps.StepId.SUBMISSION.value, "done", "system")
    # outside the guard: an opener run again publishes again and the event id makes it one message per recipient
    timeline.notify("submitted", application_id=app.application_id, registration_number=app.registration_number,
                    user_id=app.applicant_id, office_id=app.office_id, event_id=f"submitted:{app.application_id}")


def request_revision(event: StepEvent) -> dict[str, Any]:
    """SOP 2, incomplete: count the round, set the deadline (working days), tell the applicant."""
    app = dynamo.get_application(event.application_id, documents=False)
    office = default_catalog().office(app.office_id)
    now = now_utc()
    # closing time of the N-th working day on the national calendar (holidays, cuti bersama, office closures)
    provisional_note = None
    try:
        deadline = office.calendar().end_of_working_day(now, office.revision_deadline_working_days)
    except CalendarYearError:
        # the deadline reaches a year whose SKB cuti bersama is not published yet: the applicant cannot wait
        # for the decree, so count that year's candidate days as leave (never less time) and say so
        calendar = office.calendar(provisional=True)
        deadline = calendar.end_of_working_day(now, office.revision_deadline_working_days)
        provisional_note = (f"Tenggat sementara: SKB cuti bersama {', '.join(map(str, sorted(calendar.provisional_years)))}"
                            " belum terbit; calon hari cuti bersama dihitung sebagai hari libur.")
        logger.warning("provisional revision deadline", application_id=app.application_id,
                       years=sorted(calendar.provisional_years))
    decided_by_task = _decision(event).get("task_id")
    # counted already: for this decision (a retried Lambda), or by this very state when a restart resumes the run
    # here (`resume_at` is set below and moves on only when the revision wait opens; the resumed run's input has
    # no decision)
    again = bool(app.revision_deadline and ((decided_by_task and app.revision_counted_for == decided_by_task)
                                            or (event.state and app.resume_at == event.state)))
    if again:  # the same round and deadline; nothing counted, the applicant told once
        round_number, deadline = app.revision_round, app.revision_deadline or deadline
        app = _mark(app.application_id, event.state)
    else:
        round_number = app.revision_round + 1
        app = _mark(app.application_id, event.state, revision_round=round_number, revision_deadline=deadline,
                    revision_counted_for=decided_by_task)
    limit_reached = round_number > office.max_revision_rounds
    if limit_reached:
        _mark(app.application_id, None, rejection_reasons=[
            f"Berkas belum lengkap setelah {office.max_revision_rounds} kali perbaikan."])
    elif not (again and timeline.recorded(app.application_id, "revision_requested", round=round_number)):
        timeline.record(app.application_id, steps.StepId.REVISION.value, "revision_requested", "system",
                        None, provisional_note, round=round_number, deadline=deadline.isoformat())
        timeline.notify("revision_requested", application_id=app.application_id,
                        registration_number=app.registration_number, user_id=app.applicant_id,
                        office_id=app.office_id, event_id=f"revision_requested:{app.application_id}:{round_number}",
                        params={"deadline": deadline.isoformat(), "round": str(round_number)})
    return {"round": round_number, "limit_reached": limit_reached,
            "timeout_seconds": max(1, int((deadline - now).total_seconds()))}


def issue_receipt(event: StepEvent) -> dict[str, Any]:
    """SOP 2 output: the Tanda Terima PDF; then SOP 3: the file is forwarded (`forward_application`), one
    workflow state (ASL `IssueReceipt`)."""
    from ..adapters import storage
    from . import permits
    app = dynamo.get_application(event.application_id)
    key = storage.issued_key(app.office_id, app.application_id, "receipt")
    if not app.receipt_key:
        storage.put_document(key, permits.render_receipt(app, now_utc()))
        timeline.record(app.application_id, steps.StepId.COMPLETENESS_CHECK.value, "receipt_issued", "system")
    timeline.notify("receipt_issued", application_id=app.application_id,
                    registration_number=app.registration_number, user_id=app.applicant_id,
                    office_id=app.office_id, event_id=f"receipt_issued:{app.application_id}")
    _mark(app.application_id, event.state, receipt_key=key, revision_notes={})
    return {"receipt": True, **forward_application(app.application_id)}


def forward_application(application_id: str) -> dict[str, Any]:
    """SOP 3: the back office forwards to the technical team, or (SIP) straight to the verifier, as the stage
    plan stored at submission says (the ASL's NeedsTechnicalRecommendation routes the run)."""
    app = dynamo.get_application(application_id)
    definition = default_catalog().permit_type(app.office_id, app.permit_type)
    technical = bool(app.plan(definition)["technical_review"])  # the plan stored at submission
    target = steps.Role.TECHNICAL_TEAM if technical else steps.Role.VERIFIER
    timeline.record(app.application_id, steps.StepId.FORWARDING.value, "done", "system", forwarded_to=target.value,
                    agency=definition.technical_agency if technical else None)
    return {"forwarded_to": target.value}


def _decision(event: StepEvent) -> dict[str, Any]:
    """The human decision the run carries (`$.decision`): {"outcome", "task_id", "step"}; a decision that left the
    normal path was caught as an error whose `Cause` is that JSON. {} when there is none."""
    decision = event.input.get("decision") or {}
    if isinstance(decision, dict) and isinstance(decision.get("Cause"), str):
        try:
            decision = json.loads(decision["Cause"])
        except ValueError:
            decision = {}
    return decision if isinstance(decision, dict) else {}


def record_return(event: StepEvent) -> dict[str, Any]:
    """An officer returned the file one step back: count it once per returning decision (a step run again after a
    crash or a retry counts nothing more); too many ends the run for an operator."""
    app = dynamo.get_application(event.application_id, documents=False)
    target = event.input.get("return_to")
    decision = _decision(event)
    decided_by_task = decision.get("task_id")
    again = bool(decided_by_task) and app.return_counted_for == decided_by_task
    count = app.return_count if again else app.return_count + 1
    if not again:
        _mark(app.application_id, None, return_count=count, return_counted_for=decided_by_task)
    if not (again and timeline.recorded(app.application_id, "returned", count=count)):
        timeline.record(app.application_id, str(decision.get("step") or app.current_step),
                        "returned", "system", return_to=target, count=count)
    return {"count": count, "limit_reached": count > MAX_RETURNS}


def propose_number(application_id: str) -> str:
    """SOP 7: the next number in the office's format, shown to the back office for confirmation (as the
    numbering task opens: steps.numbering.prepare; the task page proposes it again when viewed)."""
    from . import numbering
    app = dynamo.get_application(application_id, documents=False)
    proposal = numbering.propose(app)
    _mark(app.application_id, None, proposed_number=proposal)
    timeline.record(app.application_id, steps.StepId.NUMBERING.value, "number_proposed", "system", number=proposal)
    return proposal


def render_permit(application_id: str) -> str:
    """Draft the decree (number, holder, validity, QR to the public verification page) for the head's preview,
    as the signing task opens (steps.signing.prepare); returns the permit id."""
    from ..adapters import storage
    from . import permits
    app = dynamo.get_application(application_id, documents=False)
    permit_id = app.permit_id or permits.new_permit_id()
    if not app.permit_id:
        app = _mark(app.application_id, None, permit_id=permit_id)
    key = storage.issued_key(app.office_id, app.application_id, "permit-draft")
    storage.put_document(key, permits.render_permit(app, draft=True))
    _mark(app.application_id, None, draft_permit_key=key)
    return permit_id


def prepare_rejection(event: StepEvent) -> dict[str, Any]:
    """Draft the rejection letter (signed by the head at the next step)."""
    from ..adapters import storage
    from . import permits
    app = dynamo.get_application(event.application_id, documents=False)
    key = storage.issued_key(app.office_id, app.application_id, "rejection-letter-draft")
    storage.put_document(key, permits.render_rejection(app, draft=True))
    _mark(app.application_id, event.state)
    timeline.record(app.application_id, steps.StepId.REJECTION_SIGNING.value, "rejection_drafted", "system")
    return {"draft": True}


_FINAL = {
    "completed": ApplicationStatus.COMPLETED,
    "rejected": ApplicationStatus.REJECTED,
    "withdrawn": ApplicationStatus.WITHDRAWN,
    "lapsed": ApplicationStatus.LAPSED,
}


class CloseEvent(BaseModel):
    application_id: str
    outcome: str


def close_application(event: CloseEvent) -> dict[str, Any]:
    """The run's final outcome: completed, rejected, withdrawn or lapsed. A completed or rejected application
    is counted as decided (ApplicationsDecided) once: a retried close finds it closed already."""
    from . import tasks
    status = _FINAL[event.outcome]
    already_closed = dynamo.get_application(event.application_id, documents=False).status == status
    tasks.publish_accepted(event.application_id, event.outcome)  # the decision that led here, if its call died
    app = _mark(event.application_id, None, status=status, closed_at=now_utc(), resume_at=None,
                current_step=None)
    # after the status: a claim released meanwhile (tasks._release) sees the application closed and cancels its
    # task itself, or is released before this and cancelled here
    dynamo.cancel_open_tasks(event.application_id)
    timeline.record(app.application_id, "closed", event.outcome, "system")
    timeline.notify(f"closed_{event.outcome}", application_id=app.application_id,
                    registration_number=app.registration_number, user_id=app.applicant_id,
                    office_id=app.office_id, event_id=f"closed_{event.outcome}:{app.application_id}")
    if event.outcome in ("completed", "rejected") and not already_closed:
        count(APPLICATIONS_DECIDED, permit_type=app.permit_type, outcome=event.outcome)
    return {"status": status.value}


class FailureEvent(BaseModel):
    application_id: str
    error: dict[str, Any] = Field(default_factory=dict)


def record_failure(event: FailureEvent) -> dict[str, Any]:
    """Record why a run failed (error name only; causes can carry data and are not copied). The run then ends
    FAILED and is reconciled (`runs.reconcile`): its tasks close and an operator can continue it."""
    error_name = str(event.error.get("Error", "Unknown"))[:100]

    def change(target: Application) -> None:
        if target.status != ApplicationStatus.FAILED:
            target.halted_status = target.status  # what `silastri runs continue` gives back
        target.status = ApplicationStatus.FAILED

    app = dynamo.update_application(event.application_id, change, documents=False)[0]
    timeline.record(app.application_id, app.current_step or "workflow", "failed", "system", error=error_name)
    return {"status": "failed", "error": error_name}
