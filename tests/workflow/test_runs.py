"""Runs that end are reconciled: a stopped or failed run closes its tasks, the application says so, and an
operator lists it (`silastri runs list --stuck`) and continues it (`silastri runs continue`) to the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from silastri.domain.numbering import first_run_name
from silastri_local.client import wait_for
from silastri_local.journey import SKM_ELEMENTS, Journey, journey_at
from silastri_local.template import ROOT


def _cli(stack, *args: str) -> str:
    """`silastri --data-dir … ARGS` against the running stack (as an operator would type it)."""
    done = subprocess.run([sys.executable, "-m", "silastri_local.cli", "--data-dir", str(stack.data_dir), *args],
                          cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _execution_arn(stack, name: str) -> str:
    sfn = stack.aws("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    return machine.replace(":stateMachine:", ":execution:") + ":" + name


def _open_task(stack, journey: Journey, step: str) -> dict:
    """The open task's stored row (with its token), read from the emulator's tasks table."""
    env = json.loads((stack.data_dir / "stack.json").read_text())["environment"]
    items = stack.aws("dynamodb").scan(TableName=env["TASKS_TABLE"])["Items"]
    return next(i for i in items if i["application_id"]["S"] == journey.application_id and i["step"]["S"] == step
                and i["status"]["S"] == "open")


def _reconciled(journey: Journey, role: str, task_id: str, status: str) -> dict:
    # the reconciliation sets the status, closes the tasks, then writes the timeline: wait for all of it
    view = journey.wait_status(lambda s: s["status"] == status and any(e["action"] == "run_ended" for e in s["timeline"]),
                               f"application {status}", timeout=60)
    officer = journey.officers[role]
    wait_for(lambda: officer.get(f"/api/tasks/{task_id}")["task"]["status"] == "cancelled", what="task closed")
    assert all(r["task_id"] != task_id for r in officer.get("/api/tasks")["tasks"])
    return view


def _finish_from_verification(journey: Journey) -> None:
    journey.decide("verifier", "verification", "verified")
    journey.decide("approver", "approval", "approved")
    row = journey.task("back_office", "numbering")
    number = journey.officers["back_office"].get(f"/api/tasks/{row['task_id']}")["proposed_number"]
    journey.officers["back_office"].post(f"/api/tasks/{row['task_id']}/decision",
                                         {"outcome": "confirmed", "details": {"number": number}})
    journey.decide("head", "signing", "signed")
    journey.decide("back_office", "printing", "printed", details={"copies": 1})
    assert journey.applicant
    journey.applicant.post(f"/api/applications/{journey.application_id}/survey",
                           {"scores": dict.fromkeys(SKM_ELEMENTS, 4)})
    journey.decide("back_office", "pickup", "handed_over")
    journey.wait_status(lambda s: s["status"] == "completed", "completion")


def test_a_stopped_run_is_reconciled_listed_and_continued_to_the_end(stack, api, staff):
    # GIVEN an application waiting at verification
    journey = journey_at(api, staff, "verification", permit_type="sip")
    task = journey.task("verifier", "verification")
    # WHEN an operator (or AWS) stops its run
    run = first_run_name("rokan-hilir", journey.registration_number)
    stack.aws("stepfunctions").stop_execution(executionArn=_execution_arn(stack, run), error="Operator.Stopped",
                                              cause="test")
    # THEN its task closes and the application says, in Bahasa Indonesia, that it waits for an operator
    view = _reconciled(journey, "verifier", task["task_id"], "stopped")
    assert "operator akan melanjutkan" in view["run_halted"]
    assert any(e["action"] == "run_ended" for e in view["timeline"])
    # AND `runs list --stuck` lists it at the step it had reached
    listed = _cli(stack, "runs", "list", "--stuck")
    line = next(x for x in listed.splitlines() if x.startswith(journey.registration_number + "\t"))
    assert "stopped" in line and "lanjut_di=Verify" in line
    # WHEN the operator continues it, a new run opens the step's task again and the journey finishes
    out = _cli(stack, "runs", "continue", journey.registration_number)
    assert f"{journey.registration_number}-r" in out
    reopened = journey.task("verifier", "verification")
    assert reopened["task_id"] != task["task_id"]
    assert journey.status()["status"] == "in_progress" and not journey.status()["run_halted"]
    assert journey.registration_number not in _cli(stack, "runs", "list", "--stuck")
    _finish_from_verification(journey)


def test_a_failed_run_is_reconciled_and_continued(stack, api, staff):
    # GIVEN an application waiting at verification, WHEN its waiting task fails (an error the ASL catches)
    journey = journey_at(api, staff, "verification", permit_type="sip")
    task = journey.task("verifier", "verification")
    row = _open_task(stack, journey, "verification")
    stack.aws("stepfunctions").send_task_failure(taskToken=row["task_token"]["S"], error="Test.Failure")
    arn = _execution_arn(stack, first_run_name("rokan-hilir", journey.registration_number))
    wait_for(lambda: stack.aws("stepfunctions").describe_execution(executionArn=arn)["status"] == "FAILED",
             what="run failed")
    # THEN the task closes and the application shows it failed, with the explanation
    view = _reconciled(journey, "verifier", task["task_id"], "failed")
    wait_for(lambda: any(e["action"] == "run_ended" for e in journey.status()["timeline"]), what="reconciled")
    assert "gangguan sistem" in view["run_halted"]
    assert journey.registration_number in _cli(stack, "runs", "list", "--stuck")
    # AND the operator continues it to the end
    _cli(stack, "runs", "continue", journey.registration_number)
    journey.task("verifier", "verification")
    _finish_from_verification(journey)


def test_continuing_a_running_application_is_refused(stack, api, staff):
    journey = journey_at(api, staff, "completeness_check", permit_type="sip")
    journey.task("back_office", "completeness_check")
    done = subprocess.run([sys.executable, "-m", "silastri_local.cli", "--data-dir", str(stack.data_dir), "runs",
                           "continue", journey.registration_number], cwd=ROOT, env=dict(os.environ),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1 and "tidak sedang terhenti" in done.stderr


def test_an_application_stopped_at_the_returns_limit_is_continued_with_a_fresh_task(stack, api, staff):
    """The decision that reached the returns limit was acted on already: the continued run opens the step
    anew (it is not handed that old decision again), and the operator's continuation resets the count."""
    journey = journey_at(api, staff, "approval", permit_type="sip")
    for round_number in range(7):  # MAX_RETURNS = 6: the 7th return stops the run for an operator
        journey.decide("approver", "approval", "returned", f"Periksa lagi ({round_number + 1})")
        if round_number < 6:
            journey.decide("verifier", "verification", "verified")
    journey.wait_status(lambda s: s["status"] == "failed", "stopped at the returns limit", timeout=60)
    _cli(stack, "runs", "continue", journey.registration_number)
    task = journey.task("approver", "approval", timeout=60)
    assert staff["approver"].get(f"/api/tasks/{task['task_id']}")["task"]["status"] == "open"
    journey.decide("approver", "approval", "returned", "Sekali lagi")  # counted afresh: no stop
    journey.decide("verifier", "verification", "verified")
    journey.decide("approver", "approval", "approved")
    journey.task("back_office", "numbering")


def test_continue_with_an_empty_number_is_a_clear_error(stack):
    done = subprocess.run([sys.executable, "-m", "silastri_local.cli", "--data-dir", str(stack.data_dir), "runs",
                           "continue", ""], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr and "tidak ditemukan" in done.stderr
