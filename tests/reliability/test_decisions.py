"""Claim first, then effects, then resume, then publish: conflicting decisions at the same instant on every
step with effects, and a decision after the run stopped. The published state must always equal the recorded
decision."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from pypdf import PdfReader
from silastri_local.client import ApiClient, ApiError, fetch, wait_for
from silastri_local.journey import FINDINGS, Journey
from silastri_local.journey import journey_at as to_step


def race(calls: list[Callable[[], Any]]) -> list[int]:
    """Run the calls at the same instant (a barrier); returns each one's HTTP status."""
    barrier = threading.Barrier(len(calls))
    statuses: list[int] = [0] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            calls[i]()
            statuses[i] = 200
        except ApiError as exc:
            statuses[i] = exc.status

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def post_decision(client: ApiClient, task_id: str, outcome: str, note: str | None = None,
                  details: dict[str, Any] | None = None) -> Callable[[], Any]:
    return lambda: client.post(f"/api/tasks/{task_id}/decision",
                               {"outcome": outcome, "note": note, "details": details or {}})


def recorded(staff, role: str, task_id: str) -> dict[str, Any]:
    """The task as recorded once its claim is finished (decided or cancelled)."""
    return wait_for(lambda: (lambda t: t if t["status"] in ("decided", "cancelled") else None)(
        staff[role].get(f"/api/tasks/{task_id}")["task"]), timeout=30, what="decision finished")


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages)


# ---------------------------------------------------------------- what is published, per step


def published_signing(api, staff, journey: Journey) -> str:
    """'signed' if the permit is public (registry, verification, download, status), else 'not-published'."""
    status = journey.status()
    public = False
    if status.get("permit_id"):
        try:
            public = bool(api.get(f"/api/verify/{status['permit_id']}")["valid"])
        except ApiError as exc:
            assert exc.status == 404
    downloadable = bool(status["downloads"]["permit"])
    issued = status["status"] == "issued"
    assert public == downloadable == issued, (public, downloadable, issued)
    return "signed" if public else "not-published"


def published_technical_review(api, staff, journey: Journey) -> str:
    link = staff["verifier"].get(f"/api/applications/{journey.application_id}/files/technical-recommendation")
    text = pdf_text(fetch(link["url"]))
    return "not_recommend" if "TIDAK MEREKOMENDASIKAN" in text else "recommend"


def published_completeness(api, staff, journey: Journey) -> str:
    status = journey.status()
    if status["status"] == "awaiting_revision":
        assert not status["downloads"]["receipt"]
        return "incomplete"
    return "complete" if status["downloads"]["receipt"] else "pending"


def published_approval(api, staff, journey: Journey) -> str:
    step = journey.status()["current_step"]
    return {"rejection_signing": "rejected", "numbering": "approved"}.get(step, f"at {step}")


def published_printing(api, staff, journey: Journey) -> str:
    assert journey.registration_number
    counted = staff["back_office"].get(f"/api/counter/{journey.registration_number}")["print_count"]
    return f"{counted} copies"


def recorded_copies(journey: Journey, task_id: str) -> str:
    entry = next(e for e in journey.status()["timeline"]
                 if (e.get("details") or {}).get("task_id") == task_id and e["action"] == "decided")
    return f"{entry['details']['copies']} copies"


def published_verification(api, staff, journey: Journey) -> str:
    step = journey.status()["current_step"]
    return {"approval": "verified", "technical_review": "returned"}.get(step, f"at {step}")


CASES = [
    ("verification", ("verifier", "verified", None, None), ("verifier", "returned", "Rekomendasi belum jelas", None),
     published_verification),
    ("completeness_check", ("back_office", "complete", None, None),
     ("back_office", "incomplete", "Berkas kurang", {"document_notes": {"surat-permohonan": "Tanda tangan belum ada"}}),
     published_completeness),
    ("approval", ("approver", "approved", None, None), ("approver", "rejected", "Tidak memenuhi syarat", None),
     published_approval),
    ("printing", ("back_office", "printed", None, {"copies": 1}), ("back_office", "printed", None, {"copies": 3}),
     published_printing),
    # step, role A, outcome A (+details), role B, outcome B, what the published state says
    ("technical_review", ("technical_team", "recommend", None, FINDINGS),
     ("technical_team", "not_recommend", "Lokasi tidak sesuai", FINDINGS), published_technical_review),
    ("signing", ("head", "signed", None, None), ("head_acting", "returned", "Periksa kembali", None),
     published_signing),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_conflicting_decisions_publish_exactly_the_recorded_one(stack, api, staff, row, case):
    step, first, second, published = case
    rounds, mismatches, statuses_seen = 3, 0, []
    for _ in range(rounds):
        journey = to_step(api, staff, step)
        task = journey.task(first[0] if first[0] != "head_acting" else "head", step)
        statuses = race([post_decision(staff[first[0]], task["task_id"], *first[1:]),
                         post_decision(staff[second[0]], task["task_id"], *second[1:])])
        statuses_seen.append(sorted(statuses))
        decided = recorded(staff, "head" if step == "signing" else first[0], task["task_id"])
        # let the run move on, then read what is public
        wait_for(lambda j=journey, t=task: all(r["task_id"] != t["task_id"] for r in staff[
            "head" if step == "signing" else first[0]].get("/api/tasks")["tasks"]), what="task left the queue")
        shown = wait_for(lambda j=journey: published(api, staff, j) if _settled(j, step) else None,
                         timeout=30, what="published state")
        if step == "printing":
            expected = recorded_copies(journey, task["task_id"])
        else:
            expected = "signed" if decided["outcome"] == "signed" else (
                "not-published" if step == "signing" else decided["outcome"])
        if shown != expected:
            mismatches += 1
    one_winner = all(s == [200, 409] for s in statuses_seen)
    row("conflicting-decisions", figure=f"{step}: {rounds} races, {mismatches} published ≠ recorded, "
        f"winners {statuses_seen}", met=mismatches == 0 and one_winner)
    assert one_winner, statuses_seen
    assert mismatches == 0


def _settled(journey: Journey, step: str) -> bool:
    """The run has gone past the raced step (the next task is open or the file is closed)."""
    status = journey.status()
    if step == "printing":
        return status.get("current_step") == "pickup"
    return status.get("current_step") not in (step, None) or status["status"] in ("rejected", "completed")


def test_a_decision_after_the_run_stopped_publishes_nothing(stack, api, staff, row):
    journey = to_step(api, staff, "signing")
    task = journey.task("head", "signing")
    sfn = stack.aws("stepfunctions")
    arn = next(e["executionArn"] for machine in sfn.list_state_machines()["stateMachines"]
               for e in sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")[
                   "executions"] if e["name"].endswith(journey.registration_number or "?"))
    sfn.stop_execution(executionArn=arn, error="Operator.Stopped", cause="test")
    wait_for(lambda: sfn.describe_execution(executionArn=arn)["status"] != "RUNNING", what="run stopped")
    with pytest.raises(ApiError) as refused:
        staff["head"].post(f"/api/tasks/{task['task_id']}/decision", {"outcome": "signed"})
    closed = staff["head"].get(f"/api/tasks/{task['task_id']}")["task"]
    status = journey.status()
    public_404 = False
    try:
        api.get(f"/api/verify/{status['permit_id']}") if status.get("permit_id") else None
        public_404 = not status.get("permit_id")
    except ApiError as exc:
        public_404 = exc.status == 404
    in_queue = any(r["task_id"] == task["task_id"] for r in staff["head"].get("/api/tasks")["tasks"])
    ok = (refused.value.status == 409 and closed["status"] == "cancelled" and public_404
          and status["status"] != "issued" and not status["downloads"]["permit"] and not in_queue)
    row("decision-after-run-stopped", figure=f"HTTP {refused.value.status}, task {closed['status']}, "
        f"application {status['status']}, permit public: {not public_404}, still queued: {in_queue}", met=ok)
    assert ok


def _restart(first, tmp_path_data):
    from silastri_local.stack_process import StackProcess

    first.stop()
    second = StackProcess(tmp_path_data)
    second.port, second.aws_port = first.port, first.aws_port
    return second.start()


@pytest.mark.parametrize("effects_complete", [True, False], ids=["effects-made", "cut-short-in-effects"])
def test_a_claim_cut_short_by_a_crash_is_finished_after_restart(tmp_path, effects_complete):
    """The API died after claiming: with its effects made, the restarted run receives the decision; died
    while making them, the task is open again. Either way the task is never lost nor decided twice."""
    from silastri_local.journey import officer_clients
    from silastri_local.stack_process import StackProcess

    stack = StackProcess(tmp_path / "data").start()
    try:
        api = ApiClient(stack.url)
        journey = Journey(api, officer_clients(api, stack.officers()), "sip")
        journey.apply()
        journey.submit()
        task = journey.task("back_office", "completeness_check")
        # what a claim leaves behind when the process dies before resuming the run
        stack.aws("dynamodb").update_item(
            TableName="silastri-TasksTable", Key={"task_id": {"S": task["task_id"]}},
            UpdateExpression="SET #s = :deciding, outcome = :o, claimed_by = :by, claimed_at = :at, "
                             "claim_id = :claim, decision_details = :d, decision_effects = :e REMOVE #q",
            ExpressionAttributeNames={"#s": "status", "#q": "queue"},
            ExpressionAttributeValues={
                ":deciding": {"S": "deciding"}, ":o": {"S": "complete"}, ":by": {"S": "crashed-officer"},
                ":at": {"S": "2026-11-29T08:00:00+00:00"}, ":claim": {"S": "c" * 32}, ":d": {"S": "{}"},
                ":e": {"S": json.dumps({"changes": {}, "previous": {}, "complete": effects_complete})}})
    except BaseException:
        stack.stop()
        raise
    stack = _restart(stack, tmp_path / "data")
    try:
        api = ApiClient(stack.url)
        staff = officer_clients(api, stack.officers())
        journey.api, journey.officers = api, staff
        journey.applicant = ApiClient(stack.url, journey.applicant.token)
        if effects_complete:
            journey.task("verifier", "verification")  # SIP: completeness → receipt → verification
            finished = staff["back_office"].get(f"/api/tasks/{task['task_id']}")["task"]
            assert finished["status"] == "decided" and finished["outcome"] == "complete"
            assert journey.status()["downloads"]["receipt"]
        else:
            again = journey.task("back_office", "completeness_check")
            assert again["task_id"] == task["task_id"]
            assert staff["back_office"].get(f"/api/tasks/{task['task_id']}")["task"]["status"] == "open"
            journey.decide("back_office", "completeness_check", "complete")
            journey.task("verifier", "verification")
        open_completeness = [r for r in staff["back_office"].get("/api/tasks")["tasks"]
                             if r["application_id"] == journey.application_id and r["step"] == "completeness_check"]
        assert open_completeness == []
    finally:
        stack.stop()


def test_kill_9_right_after_an_acknowledged_decision_does_not_reopen_the_step(tmp_path):
    """kill -9 straight after a 200: the restarted run continues after the decided step (it is given the
    recorded decision again), it never opens that step a second time."""
    from silastri_local.journey import officer_clients
    from silastri_local.stack_process import StackProcess

    stack = StackProcess(tmp_path / "data").start()
    reopened = []
    try:
        api = ApiClient(stack.url)
        journey = to_step(api, officer_clients(api, stack.officers()), "numbering", permit_type="sip")
        for step, role, body in (("numbering", "back_office", None), ("signing", "head", {"outcome": "signed"})):
            staff = officer_clients(api, stack.officers())
            task = journey.task(role, step)
            if body is None:
                number = staff[role].get(f"/api/tasks/{task['task_id']}")["proposed_number"]
                body = {"outcome": "confirmed", "details": {"number": number}}
            staff[role].post(f"/api/tasks/{task['task_id']}/decision", body)
            stack.kill()  # at once: the run has most likely not recorded its next step yet
            second = StackProcess(tmp_path / "data")
            second.port, second.aws_port = stack.port, stack.aws_port
            stack = second.start()
            api = ApiClient(stack.url)
            staff = officer_clients(api, stack.officers())
            journey.api, journey.officers = api, staff
            journey.applicant = api.login(journey.credentials["email"], journey.credentials["password"])
            next_step, next_role = ("signing", "head") if step == "numbering" else ("printing", "back_office")
            journey.task(next_role, next_step, timeout=60)
            again = [r for r in staff[role].get("/api/tasks")["tasks"]
                     if r["application_id"] == journey.application_id and r["step"] == step]
            reopened += again
            assert staff[role].get(f"/api/tasks/{task['task_id']}")["task"]["status"] == "decided"
        status = journey.status()
        assert status["status"] == "issued" and status["downloads"]["permit"]
        assert api.get(f"/api/verify/{status['permit_id']}")["valid"]
    finally:
        stack.stop()
    assert reopened == []
