"""What a restarted local stack resumes (infra/silastri_local/runtime.py `_resume_runs`), on its own stack: a
withdrawal whose run had not closed the application yet when the stack died is resumed and closed (red team F6:
it stayed withdrawn without `closed_at`, closing message or audit entry, and out of the office report)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from silastri.adapters import dynamo
from silastri.domain import steps
from silastri.domain.models import Application, ApplicationStatus, TaskStatus
from silastri.services import tasks


def test_a_withdrawal_the_run_had_not_closed_is_closed_by_the_resumed_run(local_stack) -> None:
    app = Application(application_id=str(uuid.uuid4()), office_id="rokan-hilir", applicant_id="applicant-x",
                      permit_type="sip", status=ApplicationStatus.IN_PROGRESS,
                      registration_number=f"REG-2026-{uuid.uuid4().int % 10**6:06d}",
                      form={"practitioner_name": "dr. Uji"}, created_at=datetime.now(UTC),
                      submitted_at=datetime.now(UTC))
    dynamo.create_application(app)
    task = tasks.open_human_task(app.application_id, app.office_id, "completeness_check", "CheckCompleteness",
                                 "tok-of-a-run-that-died", "run-old")
    # the applicant withdrew: the claim was finished and the API marked the application withdrawn; the stack died
    # before the run closed it
    claimed, _ = dynamo.claim_task(task.task_id, "c1", steps.WITHDRAWN, None, "applicant-x", datetime.now(UTC))
    assert dynamo.finish_claim(claimed, TaskStatus.DECIDED)
    dynamo.update_application(app.application_id, lambda target: setattr(target, "status", ApplicationStatus.WITHDRAWN))

    runs = local_stack._resume_runs()
    assert app.application_id in runs.values()
    assert local_stack._await_resumed_runs(runs) == []  # the resumed run ended: it closed the application
    closed = dynamo.get_application(app.application_id, documents=False)
    assert closed.status == ApplicationStatus.WITHDRAWN and closed.closed_at is not None
    assert local_stack._resume_runs() == {}  # closed now: not resumed again
