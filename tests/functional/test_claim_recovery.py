"""The claims sweeper (services/tasks.py `recover_stale_claims`, scheduled as RecoverClaimsFunction), on real runs
of the local runtime: a decision whose API call died between the claim and the hand-over (on AWS: the function
timed out or crashed; the officer got an error, the task had left the queue) is settled without anyone deciding
again — released when its effects were not all made, delivered to the waiting run when they were."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from silastri.adapters import dynamo
from silastri.adapters.identity import Principal
from silastri.domain.models import Application, ApplicationStatus, TaskStatus
from silastri.services import tasks
from silastri_local.client import wait_for

LATER = dynamo.CLAIM_RECOVERY_AFTER + timedelta(seconds=1)


def _waiting_at_verification(stack) -> tuple[Application, str]:
    """An application whose run waits at verification (a real run, started at its recorded step); its task id."""
    app = Application(application_id=str(uuid.uuid4()), office_id="rokan-hilir", applicant_id="applicant-x",
                      permit_type="izin-operasional-orsos", status=ApplicationStatus.IN_PROGRESS,
                      registration_number=f"REG-2026-{uuid.uuid4().int % 10**6:06d}",
                      form={"organisation_name": "Yayasan Uji"}, created_at=datetime.now(UTC),
                      submitted_at=datetime.now(UTC), current_step="verification", resume_at="Verify")
    dynamo.create_application(app)
    runs = stack._resume_runs()
    assert app.application_id in runs.values()
    assert stack._await_resumed_runs({n: a for n, a in runs.items() if a == app.application_id}) == []
    task = next(t for t in dynamo.tasks_of_application(app.application_id) if t.status == TaskStatus.OPEN)
    return app, task.task_id


def _verifier() -> Principal:
    return Principal(user_id="verifier-x", roles={"verifier"}, office_id="rokan-hilir", name="Verifikator Uji")


def _actions(application_id: str) -> list[str]:
    return [e.action for e in dynamo.timeline(application_id)]


def test_a_decision_whose_call_died_before_the_hand_over_is_delivered_by_the_sweeper(local_stack, monkeypatch):
    app, task_id = _waiting_at_verification(local_stack)

    def died(*args, **kwargs):
        raise RuntimeError("the API function timed out here")

    monkeypatch.setattr(tasks, "_deliver", died)
    with pytest.raises(RuntimeError):
        tasks.decide(_verifier(), task_id, "verified", "Berkas terverifikasi", {})
    monkeypatch.undo()
    assert dynamo.get_task(task_id).status == TaskStatus.DECIDING  # claimed, effects made, never handed over
    now = datetime.now(UTC)

    assert tasks.recover_stale_claims(now) == {"delivered": 0, "released": 0, "stuck": 0}  # not stale yet
    assert tasks.recover_stale_claims(now + LATER) == {"delivered": 1, "released": 0, "stuck": 0}
    assert dynamo.get_task(task_id).status == TaskStatus.DECIDED
    # the run took it: the next step's task opens, and the decision is not looked at again
    wait_for(lambda: any(t.step == "approval" and t.status == TaskStatus.OPEN
                         for t in dynamo.tasks_of_application(app.application_id)) or None, what="approval task")
    assert dynamo.get_application(app.application_id, documents=False).verified_by == "verifier-x"
    assert tasks.recover_stale_claims(now + 2 * LATER) == {"delivered": 0, "released": 0, "stuck": 0}


def test_a_decision_whose_call_died_while_making_its_effects_is_released_and_the_task_reopens(
        local_stack, monkeypatch):
    app, task_id = _waiting_at_verification(local_stack)

    def died(*args, **kwargs):
        raise RuntimeError("the API function timed out here")

    monkeypatch.setattr(dynamo, "record_claim_effects", died)
    monkeypatch.setattr(dynamo, "release_claim", died)  # a dead process does not release its claim either
    with pytest.raises(RuntimeError):
        tasks.decide(_verifier(), task_id, "verified", "Berkas terverifikasi", {})
    monkeypatch.undo()
    assert dynamo.get_task(task_id).status == TaskStatus.DECIDING
    assert not [t for t in dynamo.queue("rokan-hilir", "verifier") if t.task_id == task_id]

    assert tasks.recover_stale_claims(datetime.now(UTC) + LATER) == {"delivered": 0, "released": 1, "stuck": 0}
    reopened = dynamo.get_task(task_id)
    assert reopened.status == TaskStatus.OPEN and reopened.outcome is None
    assert [t for t in dynamo.queue("rokan-hilir", "verifier") if t.task_id == task_id]  # back in the queue
    assert "decision_released" in _actions(app.application_id)
    # and it is decided again, normally, by whoever picks it up
    decided = tasks.decide(_verifier(), task_id, "verified", "Berkas terverifikasi", {})
    assert decided.status == TaskStatus.DECIDED
    wait_for(lambda: any(t.step == "approval" for t in dynamo.tasks_of_application(app.application_id)) or None,
             what="approval task")


def test_a_decision_whose_run_was_stopped_stays_deciding_counted_and_looked_at_again_later(local_stack, monkeypatch):
    app, task_id = _waiting_at_verification(local_stack)

    def died(*args, **kwargs):
        raise RuntimeError("the API function timed out here")

    monkeypatch.setattr(tasks, "_deliver", died)
    with pytest.raises(RuntimeError):
        tasks.decide(_verifier(), task_id, "verified", "Berkas terverifikasi", {})
    monkeypatch.undo()
    arn = os.environ["STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:")
    name = dynamo.get_application(app.application_id, documents=False).execution_name
    sfn = boto3.client("stepfunctions")
    sfn.stop_execution(executionArn=f"{arn}:{name}")
    wait_for(lambda: sfn.describe_execution(executionArn=f"{arn}:{name}")["status"] != "RUNNING" or None,
             what="the run stopped")  # moto ends it a moment after StopExecution returns; AWS at once
    now = datetime.now(UTC)

    # the stopped run refuses the token and the application is still at the step: nothing can be told, nothing is
    # voided (an operator continues the run; its opener delivers the claim)
    assert tasks.recover_stale_claims(now + LATER) == {"delivered": 0, "released": 0, "stuck": 1}
    assert dynamo.get_task(task_id).status == TaskStatus.DECIDING
    assert tasks.recover_stale_claims(now + 2 * LATER) == {"delivered": 0, "released": 0, "stuck": 0}  # deferred
    assert tasks.recover_stale_claims(now + LATER + tasks.CLAIM_RECHECK_AFTER + LATER)["stuck"] == 1


def test_a_claim_finished_normally_leaves_nothing_for_the_sweeper_and_the_sla_monitor_skips_claims(local_stack):
    app, task_id = _waiting_at_verification(local_stack)
    tasks.decide(_verifier(), task_id, "verified", "Berkas terverifikasi", {})
    assert tasks.recover_stale_claims(datetime.now(UTC) + LATER) == {"delivered": 0, "released": 0, "stuck": 0}
    assert not [t for t in dynamo.stale_claims("rokan-hilir", datetime.now(UTC) + timedelta(days=400))
                if t.task_id == task_id]
    # a deciding claim is never reminded or escalated as an open task would be
    approval = wait_for(lambda: next((t for t in dynamo.tasks_of_application(app.application_id)
                                      if t.step == "approval" and t.status == TaskStatus.OPEN), None),
                        what="approval task")
    dynamo.claim_task(approval.task_id, "c-sla", "approved", None, "approver-x", datetime.now(UTC))
    assert not [t for t in dynamo.tasks_with_alarm("rokan-hilir", datetime.now(UTC) + timedelta(days=400))
                if t.task_id == approval.task_id]
