"""The claims sweeper (services/tasks.py `recover_stale_claims`, scheduled as RecoverClaimsFunction), on real runs
of the local runtime: a decision whose API call died between the claim and the hand-over (on AWS: the function
timed out or crashed; the officer got an error, the task had left the queue) is settled without anyone deciding
again — released when its effects were not all made, delivered to the waiting run when they were."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from silastri.adapters import dynamo
from silastri.adapters.identity import Principal
from silastri.domain.errors import ConflictError
from silastri.domain.models import Application, ApplicationStatus, TaskStatus
from silastri.services import tasks
from silastri_local.client import wait_for

LATER = dynamo.CLAIM_RECOVERY_AFTER + timedelta(seconds=1)


def _waiting_at_verification(stack, step: str = "verification", state: str = "Verify",
                              **fields: Any) -> tuple[Application, str]:
    """An application whose run waits at `step` (a real run, started at its recorded `state`); its task id."""
    app = Application(application_id=str(uuid.uuid4()), office_id="rokan-hilir", applicant_id="applicant-x",
                      permit_type="izin-operasional-orsos", status=ApplicationStatus.IN_PROGRESS,
                      registration_number=f"REG-2026-{uuid.uuid4().int % 10**6:06d}",
                      form={"organisation_name": "Yayasan Uji"}, created_at=datetime.now(UTC),
                      submitted_at=datetime.now(UTC), current_step=step, resume_at=state, **fields)
    dynamo.create_application(app)
    runs = stack._resume_runs()
    assert app.application_id in runs.values()
    assert stack._await_resumed_runs({n: a for n, a in runs.items() if a == app.application_id}) == []
    task = next(t for t in dynamo.tasks_of_application(app.application_id) if t.status == TaskStatus.OPEN)
    return app, task.task_id


def _dying_at(monkeypatch, places: list[tuple[Any, str]], action: Any) -> None:
    """Run `action` as a process that dies at each of `places` (module, function name) would: RuntimeError there
    (and the call raising it), then everything put back."""
    def died(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the API function died here")

    for module, name in places:
        monkeypatch.setattr(module, name, died)
    with pytest.raises(RuntimeError):
        action()
    monkeypatch.undo()


def _next_step_opens(app: Application, step: str = "approval") -> None:
    wait_for(lambda: any(t.step == step and t.status == TaskStatus.OPEN
                         for t in dynamo.tasks_of_application(app.application_id)) or None, what=f"{step} task")


def _verifier() -> Principal:
    return Principal(user_id="verifier-x", roles={"verifier"}, office_id="rokan-hilir", name="Verifikator Uji")


def _actions(application_id: str) -> list[str]:
    return [e.action for e in dynamo.timeline(application_id)]


def test_a_decision_whose_call_died_before_the_hand_over_is_delivered_by_the_sweeper(local_stack, monkeypatch):
    app, task_id = _waiting_at_verification(local_stack)

    _dying_at(monkeypatch, [(tasks, "_deliver")],
              lambda: tasks.decide(_verifier(), task_id, "verified", "Berkas terverifikasi", {}))
    assert dynamo.get_task(task_id).status == TaskStatus.DECIDING  # claimed, effects made, never handed over
    now = datetime.now(UTC)

    assert tasks.recover_stale_claims(now) == {"delivered": 0, "released": 0, "stuck": 0}  # not stale yet
    assert tasks.recover_stale_claims(now + LATER) == {"delivered": 1, "released": 0, "stuck": 0}
    assert dynamo.get_task(task_id).status == TaskStatus.DECIDED
    # the run took it: the next step's task opens, and the decision is not looked at again
    _next_step_opens(app)
    assert dynamo.get_application(app.application_id, documents=False).verified_by == "verifier-x"
    assert tasks.recover_stale_claims(now + 2 * LATER) == {"delivered": 0, "released": 0, "stuck": 0}


def test_a_decision_whose_call_died_while_making_its_effects_is_released_and_the_task_reopens(
        local_stack, monkeypatch):
    app, task_id = _waiting_at_verification(local_stack)

    # a dead process does not release its claim either
    _dying_at(monkeypatch, [(dynamo, "commit_claim"), (dynamo, "release_claim")],
              lambda: tasks.decide(_verifier(), task_id, "verified", "Berkas terverifikasi", {}))
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
    _next_step_opens(app)


def test_a_decision_whose_run_was_stopped_stays_deciding_counted_and_looked_at_again_later(local_stack, monkeypatch):
    app, task_id = _waiting_at_verification(local_stack)

    _dying_at(monkeypatch, [(tasks, "_deliver")],
              lambda: tasks.decide(_verifier(), task_id, "verified", "Berkas terverifikasi", {}))
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
    assert dynamo.release_claim(approval.task_id, "c-sla")  # nothing left for the sweeps of the tests after this one


# Red team round 3 (claims sweeper): the attacks that found bugs, kept.

def test_a_slow_claimer_released_by_the_sweeper_writes_nothing_over_the_decision_made_since(local_stack):
    """F3: a claimer still alive after the sweeper released its claim (its effects took minutes) must not write its
    changes, or undo them, over the decision another verifier made on the reopened task."""
    app, task_id = _waiting_at_verification(local_stack)
    in_effects, go_on = threading.Event(), threading.Event()
    real_effects = tasks._effects

    def slow(step, ctx, *args, **kwargs):
        if ctx.principal.user_id == "verifier-slow":
            in_effects.set()
            go_on.wait(30)
        return real_effects(step, ctx, *args, **kwargs)

    result: dict[str, Any] = {}

    def claimer() -> None:
        try:
            tasks.decide(Principal(user_id="verifier-slow", roles={"verifier"}, office_id="rokan-hilir"), task_id,
                         "verified", "ok", {})
        except Exception as exc:  # noqa: BLE001 - what it got is the point
            result["error"] = exc

    tasks._effects = slow
    try:
        slow_one = threading.Thread(target=claimer)
        slow_one.start()
        assert in_effects.wait(30)
        assert tasks.recover_stale_claims(datetime.now(UTC) + LATER)["released"] == 1
        tasks.decide(_verifier(), task_id, "verified", "Berkas terverifikasi", {})  # verifier-x, on the reopened task
        go_on.set()
        slow_one.join(30)
    finally:
        tasks._effects = real_effects
        go_on.set()
    assert "tidak berlaku" in str(result["error"])  # told its decision did not count
    assert dynamo.get_application(app.application_id, documents=False).verified_by == "verifier-x"
    assert [(e.step, e.action) for e in dynamo.timeline(app.application_id)].count(("verification", "decided")) == 1, \
        [(e.step, e.action, e.actor_id) for e in dynamo.timeline(app.application_id)]


def test_a_claim_that_became_complete_just_before_the_sweeper_released_it_is_delivered_not_released(
        local_stack, monkeypatch):
    """F2: the release is conditional on the claim's changes not being committed."""
    app, task_id = _waiting_at_verification(local_stack)
    in_effects, go_on, committed = threading.Event(), threading.Event(), threading.Event()
    real_effects, real_commit, real_release = tasks._effects, dynamo.commit_claim, dynamo.release_claim

    def slow(*args, **kwargs):
        in_effects.set()
        go_on.wait(30)
        return real_effects(*args, **kwargs)

    def commit(*args, **kwargs):
        try:
            return real_commit(*args, **kwargs)
        finally:
            committed.set()

    def release_after_the_commit(*args, **kwargs):  # the sweeper read the claim as unfinished a moment earlier
        go_on.set()
        committed.wait(30)
        return real_release(*args, **kwargs)

    monkeypatch.setattr(tasks, "_effects", slow)
    monkeypatch.setattr(dynamo, "commit_claim", commit)
    claimer = threading.Thread(target=tasks.decide, args=(_verifier(), task_id, "verified", "ok", {}))
    claimer.start()
    assert in_effects.wait(30)
    monkeypatch.setattr(dynamo, "release_claim", release_after_the_commit)
    assert tasks.recover_stale_claims(datetime.now(UTC) + LATER)["released"] == 0
    monkeypatch.setattr(dynamo, "release_claim", real_release)
    claimer.join(30)
    assert dynamo.get_task(task_id).status == TaskStatus.DECIDED
    assert "decision_released" not in _actions(app.application_id)
    _next_step_opens(app)


def test_a_withdrawal_whose_call_died_after_the_run_took_it_is_not_reopened(local_stack, monkeypatch):
    """F4: a withdrawal's claim is complete at once; the run's closing step publishes it, the sweeper leaves it."""
    from silastri.services import applications

    app, task_id = _waiting_at_verification(local_stack)

    applicant = Principal(user_id="applicant-x", roles={"applicant"})
    _dying_at(monkeypatch, [(tasks, "_publish")],
              lambda: applications.withdraw(applicant, app.application_id, "tidak jadi"))
    wait_for(lambda: dynamo.get_application(app.application_id, documents=False).closed_at or None, what="closed")
    assert tasks.recover_stale_claims(datetime.now(UTC) + LATER) == {"delivered": 0, "released": 0, "stuck": 0}
    assert dynamo.get_task(task_id).status == TaskStatus.DECIDED
    assert dynamo.get_application(app.application_id, documents=False).status == ApplicationStatus.WITHDRAWN
    assert not [t for t in dynamo.queue("rokan-hilir", "verifier") if t.task_id == task_id]


def test_a_resubmission_the_run_never_got_before_its_deadline_is_voided_when_the_application_lapses(
        local_stack, monkeypatch):
    """F7: a lapse comes from a deadline, never from a decision: a claim still deciding then was not taken."""
    app, task_id = _waiting_at_verification(local_stack, "revision", "AwaitRevision", revision_round=1,
                                            revision_deadline=datetime.now(UTC) + timedelta(seconds=5))

    applicant = Principal(user_id="applicant-x", roles={"applicant"})
    _dying_at(monkeypatch, [(tasks, "_deliver")],
              lambda: tasks.decide(applicant, task_id, "resubmitted", None, {}))
    wait_for(lambda: dynamo.get_application(app.application_id, documents=False).closed_at or None,
             what="lapsed", timeout=60)
    assert dynamo.get_application(app.application_id, documents=False).status == ApplicationStatus.LAPSED
    voided = dynamo.get_task(task_id)
    assert voided.status == TaskStatus.CANCELLED and "decision_void" in _actions(app.application_id)
    assert tasks.recover_stale_claims(datetime.now(UTC) + LATER) == {"delivered": 0, "released": 0, "stuck": 0}


# Red team round 4 (the claim's commit), the attacks that found bugs, kept.

def test_a_decision_whose_caller_died_right_after_its_commit_is_published_with_its_audit_entry(
        local_stack, monkeypatch):
    """R4-F1, R5-T1/T2: the decision's audit entry is written in its commit transaction, so a decision in effect
    always has exactly one (however many settlers publish it)."""
    app, task_id = _waiting_at_verification(local_stack)
    real_commit = dynamo.commit_claim

    def lost(*args, **kwargs):
        real_commit(*args, **kwargs)
        raise ConnectionResetError("the answer of the committed transaction was lost")

    monkeypatch.setattr(dynamo, "commit_claim", lost)
    with pytest.raises(ConnectionResetError):
        tasks.decide(_verifier(), task_id, "verified", "Berkas sah", {})
    monkeypatch.undo()
    assert _actions(app.application_id).count("decided") == 1  # with the commit
    assert tasks.recover_stale_claims(datetime.now(UTC) + LATER)["delivered"] == 1
    _next_step_opens(app)
    decided = [e for e in dynamo.timeline(app.application_id) if e.action == "decided"]
    assert [(e.actor_id, e.note, e.details["outcome"], e.details["task_id"]) for e in decided] == [
        ("verifier-x", "Berkas sah", "verified", task_id)]


def _lapsing(stack) -> tuple[Application, str]:
    """An application waiting for the applicant's revision, whose deadline passes in 4 s (the run then lapses)."""
    app, task_id = _waiting_at_verification(stack, "revision", "AwaitRevision", revision_round=1,
                                            revision_deadline=datetime.now(UTC) + timedelta(seconds=4))
    return app, task_id


def _after_the_lapse(app: Application) -> None:
    wait_for(lambda: dynamo.get_application(app.application_id, documents=False).closed_at or None,
             what="lapsed", timeout=60)


def test_a_withdrawal_the_lapse_voided_is_refused_and_the_application_stays_lapsed(local_stack, monkeypatch):
    """R4-F2: a hand-over refused after the run voided the claim (a deadline closed it) is a conflict, not a
    delivery by someone else."""
    from silastri.services import applications

    app, _task_id = _lapsing(local_stack)
    real = tasks._hand_over

    def after_the_deadline(token, task):
        _after_the_lapse(app)
        return real(token, task)

    monkeypatch.setattr(tasks, "_hand_over", after_the_deadline)
    with pytest.raises(ConflictError, match="tidak berlaku"):
        applications.withdraw(Principal(user_id="applicant-x", roles={"applicant"}), app.application_id, "tidak jadi")
    assert dynamo.get_application(app.application_id, documents=False).status == ApplicationStatus.LAPSED


def test_a_claim_released_after_its_application_lapsed_does_not_reopen_the_task(local_stack, monkeypatch):
    """R4-F4: a task released on an application closed meanwhile is cancelled, not left open."""
    app, task_id = _lapsing(local_stack)

    def fails_after_the_deadline(*args, **kwargs):
        _after_the_lapse(app)
        raise RuntimeError("storage error while making the effects")

    monkeypatch.setattr(tasks, "_effects", fails_after_the_deadline)
    with pytest.raises(RuntimeError):
        tasks.decide(Principal(user_id="applicant-x", roles={"applicant"}), task_id, "resubmitted", None, {})
    assert dynamo.get_task(task_id).status == TaskStatus.CANCELLED
    assert dynamo.open_task_of(app.application_id) is None


def test_a_hand_over_whose_answer_was_lost_is_published_not_voided(local_stack, monkeypatch):
    """Red team round 5 F2: SendTaskSuccess reached the run, its answer was lost and the SDK's retry was refused
    (the token is spent): the run took the decision, so it is published, never voided."""
    from silastri.adapters import workflow

    app, task_id = _waiting_at_verification(local_stack)
    real = workflow.resume

    def answer_lost(token, output, error=None):
        real(token, output, error=error)
        raise ConflictError("the workflow is no longer waiting for this task")  # what the retry is told

    monkeypatch.setattr(workflow, "resume", answer_lost)
    assert tasks.decide(_verifier(), task_id, "verified", "Berkas sah", {}).status == TaskStatus.DECIDED
    _next_step_opens(app)
    assert dynamo.get_application(app.application_id, documents=False).verified_by == "verifier-x"
    assert "decision_void" not in _actions(app.application_id)
