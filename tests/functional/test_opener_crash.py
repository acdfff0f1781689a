"""Steps run again after a crash, on the local runtime (a restart resumes each run at the step it recorded,
`resume_at`). A task opener (services/tasks.py `open_human_task`) records the step before the task is stored, so a
task is never stored for a step the application does not say it is at (which made the resumed run ask the step
before it again: found by kill -9 right after an acknowledged decision, under load). The counting steps
(services/automated.py `request_revision`, `record_return`) count once per decision however often they run."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from silastri.adapters import dynamo
from silastri.adapters.identity import Principal
from silastri.domain.errors import ConflictError
from silastri.domain.models import Application, ApplicationStatus, TaskStatus
from silastri.services import automated, tasks


@pytest.fixture
def stack(local_stack):
    return local_stack


def _application() -> Application:
    app = Application(application_id=str(uuid.uuid4()), office_id="rokan-hilir", applicant_id="applicant-x",
                      permit_type="sip", status=ApplicationStatus.IN_PROGRESS,
                      registration_number=f"REG-2026-{uuid.uuid4().int % 10**6:06d}",
                      form={"practitioner_name": "dr. Uji"}, created_at=datetime.now(UTC),
                      submitted_at=datetime.now(UTC), current_step="verification", resume_at="Verification")
    dynamo.create_application(app)
    return app


def test_an_opener_that_dies_before_storing_its_task_has_recorded_the_step_and_the_resumed_run_opens_it(
        stack, monkeypatch):
    app = _application()

    def killed(task, token):
        raise RuntimeError("killed before the task was stored")

    monkeypatch.setattr(dynamo, "open_task", killed)
    with pytest.raises(RuntimeError):
        tasks.open_human_task(app.application_id, app.office_id, "approval", "Approval", "tok-dead", "run-1")
    monkeypatch.undo()
    recorded = dynamo.get_application(app.application_id, documents=False)
    assert (recorded.current_step, recorded.resume_at, recorded.execution_name) == ("approval", "Approval", "run-1")
    assert dynamo.tasks_of_application(app.application_id) == []  # nothing stored for a step not recorded

    # the restarted stack resumes the run at `resume_at`: the step's task opens once
    opened = tasks.open_human_task(app.application_id, app.office_id, "approval", "Approval", "tok-new", "run-2")
    again = tasks.open_human_task(app.application_id, app.office_id, "approval", "Approval", "tok-newer", "run-2")
    assert again.task_id == opened.task_id and opened.status == TaskStatus.OPEN
    assert [(t.step, t.status) for t in dynamo.tasks_of_application(app.application_id)] == [
        ("approval", TaskStatus.OPEN)]
    assert dynamo.open_task_of(app.application_id)[1] == "tok-newer"  # the newest run's token


def test_an_opener_that_dies_before_recording_the_step_stores_no_task(stack, monkeypatch):
    app = _application()
    real = dynamo.update_application

    def killed(application_id, change, *args, **kwargs):
        raise RuntimeError("killed before the step was recorded")

    monkeypatch.setattr(dynamo, "update_application", killed)
    with pytest.raises(RuntimeError):
        tasks.open_human_task(app.application_id, app.office_id, "approval", "Approval", "tok-dead", "run-1")
    monkeypatch.setattr(dynamo, "update_application", real)
    assert dynamo.get_application(app.application_id, documents=False).resume_at == "Verification"
    assert dynamo.tasks_of_application(app.application_id) == []  # the restart resumes at verification


def _caught(outcome: str, task_id: str, step: str) -> dict:
    """`$.decision` as the run carries a decision that left the normal path (caught error, JSON cause)."""
    return {"Error": "Keputusan", "Cause": json.dumps({"outcome": outcome, "task_id": task_id, "step": step})}


def test_a_revision_request_run_again_for_the_same_decision_counts_one_round(stack):
    """F1 of the red team: RequestRevision run again after a crash (the restart resumes at it) counted the round
    twice; on the last allowed round the file was rejected."""
    app = _application()
    first = automated.StepEvent(application_id=app.application_id, state="RequestRevision",
                                input={"decision": _caught("incomplete", "task-a", "completeness_check")})
    one = automated.request_revision(first)
    again = automated.request_revision(first)  # the same decision, run again
    stored = dynamo.get_application(app.application_id, documents=False)
    assert one["round"] == again["round"] == stored.revision_round == 1
    assert again["timeout_seconds"] <= one["timeout_seconds"]  # the same deadline, not a new one
    assert [e.details["round"] for e in dynamo.timeline(app.application_id) if e.action == "revision_requested"] == [1]
    # the revision wait opens, the applicant resubmits, the completeness check opens again (resume_at moves on)
    dynamo.update_application(app.application_id, lambda target: setattr(target, "resume_at", "CheckCompleteness"))
    second = automated.request_revision(automated.StepEvent(
        application_id=app.application_id, state="RequestRevision",
        input={"decision": _caught("incomplete", "task-b", "completeness_check")}))
    assert second["round"] == 2 == dynamo.get_application(app.application_id, documents=False).revision_round


def test_a_return_recorded_again_for_the_same_decision_counts_once(stack):
    """F2 of the red team: a return redelivered after a crash was counted twice (the limit came too early)."""
    app = _application()
    event = automated.StepEvent(application_id=app.application_id, state="RecordReturn",
                                input={"return_to": "verification", "decision": _caught("returned", "task-a", "approval")})
    assert automated.record_return(event)["count"] == 1
    assert automated.record_return(event)["count"] == 1
    assert [e.details["count"] for e in dynamo.timeline(app.application_id) if e.action == "returned"] == [1]
    other = automated.StepEvent(application_id=app.application_id, state="RecordReturn",
                                input={"return_to": "verification", "decision": _caught("returned", "task-b", "approval")})
    assert automated.record_return(other)["count"] == 2


VERIFIER = Principal(user_id="verifier-x", roles={"verifier"}, office_id="rokan-hilir", name="Verifikator")


def _waiting_at_verification(monkeypatch) -> tuple[Application, list]:
    """An application whose run waits at verification under a token the test plays (no real run)."""
    app = _application()
    resumed: list = []
    monkeypatch.setattr(tasks, "_resume", lambda token, task: resumed.append((token, task.task_id)))
    tasks.open_human_task(app.application_id, app.office_id, "verification", "Verify", "tok-dead", "run-1")
    return app, resumed


def test_a_decision_on_a_dead_runs_token_that_a_resumed_run_took_over_takes_effect_without_an_error(stack, monkeypatch):
    """F3 of the red team: a decision posted with the token of a run that died was refused (409, its changes undone)
    although the resumed run's opener had delivered it meanwhile."""
    app, resumed = _waiting_at_verification(monkeypatch)

    def dead_token(token, task):
        if token == "tok-dead":  # meanwhile the resumed run re-enters the step and its opener finds the claim
            assert tasks.finish_pending_decisions(app.application_id, "verification", "tok-live") is not None
            raise ConflictError("the workflow is no longer waiting for this task")
        resumed.append((token, task.task_id))

    monkeypatch.setattr(tasks, "_resume", dead_token)
    task = dynamo.open_task_of(app.application_id)[0]
    decided, _ = tasks.decide_settled(VERIFIER, task.task_id, "verified", None, {})
    assert decided.status == TaskStatus.DECIDED and resumed == [("tok-live", task.task_id)]
    assert dynamo.get_application(app.application_id, documents=False).verified_by == "verifier-x"  # not undone
    assert not any(e.action == "decision_void" for e in dynamo.timeline(app.application_id))


def test_a_decision_the_run_no_longer_waits_for_is_void_and_its_changes_undone(stack, monkeypatch):
    app, _ = _waiting_at_verification(monkeypatch)

    def ended(token, task):
        raise ConflictError("the workflow is no longer waiting for this task")

    monkeypatch.setattr(tasks, "_resume", ended)
    task = dynamo.open_task_of(app.application_id)[0]
    with pytest.raises(ConflictError):
        tasks.decide(VERIFIER, task.task_id, "verified", None, {})
    assert dynamo.get_task(task.task_id).status == TaskStatus.CANCELLED
    assert dynamo.get_application(app.application_id, documents=False).verified_by is None
    # an opener that comes later finds nothing to deliver: the void claim is not taken over
    assert tasks.finish_pending_decisions(app.application_id, "verification", "tok-later") is None


def test_a_revision_request_resumed_after_a_restart_counts_no_new_round(stack):
    """F1 of the red team, as reproduced: the restart resumes the run at RequestRevision (its `resume_at`) with the
    application's data only, no decision; the round it had counted before the crash is not counted again."""
    app = _application()
    automated.request_revision(automated.StepEvent(
        application_id=app.application_id, state="RequestRevision",
        input={"decision": _caught("incomplete", "task-a", "completeness_check")}))
    resumed = automated.request_revision(automated.StepEvent(application_id=app.application_id,
                                                             state="RequestRevision", input={}))
    assert resumed["round"] == 1 == dynamo.get_application(app.application_id, documents=False).revision_round


def test_an_opener_that_dies_after_storing_its_task_leaves_the_task_opened_entry_to_the_resumed_run(stack, monkeypatch):
    """F5 of the red team: the resumed run's opener found the task stored and skipped the entry, so the step's start
    and SLA facts were missing from the audit trail."""
    from silastri.services import timeline

    app = _application()
    real = timeline.record

    def killed(application_id, step, action, *args, **kwargs):
        if action == "task_opened":
            raise RuntimeError("killed before the entry was written")
        return real(application_id, step, action, *args, **kwargs)

    monkeypatch.setattr(timeline, "record", killed)
    with pytest.raises(RuntimeError):
        tasks.open_human_task(app.application_id, app.office_id, "approval", "Approval", "tok-dead", "run-1")
    monkeypatch.setattr(timeline, "record", real)
    for token in ("tok-new", "tok-newer"):  # the resumed run, then that run's opener retried
        tasks.open_human_task(app.application_id, app.office_id, "approval", "Approval", token, "run-2")
    opened = [e for e in dynamo.timeline(app.application_id) if e.action == "task_opened"]
    assert [(e.step, e.details["task_id"]) for e in opened] == [
        ("approval", dynamo.open_task_of(app.application_id)[0].task_id)]
    assert "sla_due_at" in opened[0].details


def test_a_decision_whose_hand_over_failed_is_pending_and_handed_over_when_decided_again(stack, monkeypatch):
    """F4 of the red team: a throttled SendTaskSuccess (past the SDK's retries) gave the officer a 500 and left the
    task deciding for good, in no queue."""
    from datetime import timedelta

    from silastri.domain import clock
    from silastri.domain.errors import PendingError

    app, resumed = _waiting_at_verification(monkeypatch)
    task = dynamo.open_task_of(app.application_id)[0]

    def throttled(token, task):
        raise RuntimeError("ThrottlingException")

    monkeypatch.setattr(tasks, "_resume", throttled)
    with pytest.raises(PendingError) as pending:
        tasks.decide(VERIFIER, task.task_id, "verified", None, {})
    assert pending.value.status == 503 and dynamo.get_task(task.task_id).status == TaskStatus.DECIDING
    monkeypatch.setattr(tasks, "_resume", lambda token, task: resumed.append((token, task.task_id)))
    with pytest.raises(ConflictError):  # at once: the first request may still be on its way, nothing is sent
        tasks.decide(VERIFIER, task.task_id, "returned", "salah", {})
    assert resumed == [] and dynamo.get_task(task.task_id).status == TaskStatus.DECIDING
    clock.set_offset(tasks.HAND_OVER_AFTER + timedelta(seconds=5))
    try:
        with pytest.raises(ConflictError, match="sudah diteruskan"):  # later: the first decision is handed over
            tasks.decide(VERIFIER, task.task_id, "returned", "salah", {})
    finally:
        clock.set_offset(timedelta(0))
    decided = dynamo.get_task(task.task_id)
    assert decided.status == TaskStatus.DECIDED and decided.outcome == "verified"
    assert resumed == [("tok-dead", task.task_id)]
    assert dynamo.get_application(app.application_id, documents=False).verified_by == "verifier-x"


def test_a_claim_taken_over_is_not_voided_and_nothing_is_undone(stack, monkeypatch):
    """Voiding and undoing are one transaction conditional on the claim (red team round 2, F3: a crash between the
    void and the undo left a void decision's `verified_by` for good)."""
    app, _ = _waiting_at_verification(monkeypatch)
    task = dynamo.open_task_of(app.application_id)[0]
    claimed, _ = dynamo.claim_task(task.task_id, "c1", "verified", None, "verifier-x", datetime.now(UTC))
    dynamo.update_application(app.application_id, lambda target: setattr(target, "verified_by", "verifier-x"))
    assert dynamo.take_over_claim(claimed, "c2") is not None  # a resumed run's opener delivers it
    assert not dynamo.void_claim(claimed, {"verified_by": None})
    assert dynamo.get_application(app.application_id, documents=False).verified_by == "verifier-x"
    assert dynamo.get_task(task.task_id).status == TaskStatus.DECIDING
    taken = dynamo.get_task(task.task_id)
    assert dynamo.void_claim(taken, {"verified_by": None})  # its own claim: voided and undone together
    assert dynamo.get_application(app.application_id, documents=False).verified_by is None
    assert dynamo.get_task(task.task_id).status == TaskStatus.CANCELLED
