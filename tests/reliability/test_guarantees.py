"""Rows of the reliability table about the application as a whole: duplicate submits, who may do what, and
personal data staying where it belongs."""

from __future__ import annotations

import json
import threading
import uuid

from silastri_local.client import ApiError
from silastri_local.journey import Journey
from stored_text import items_text  # tests/fixtures (tests/conftest.py puts it on the path)

from .test_decisions import race

# decision steps of a SIP application in order: (role allowed, outcome to send)
SIP_ACTIONS = {
    "completeness_check": ("back_office", "complete"),
    "verification": ("verifier", "verified"),
    "approval": ("approver", "approved"),
}


def test_concurrent_duplicate_submits_make_one_application(stack, api, staff, row):
    journey = Journey(api, staff, "sip")
    journey.apply()
    assert journey.applicant
    same_key = uuid.uuid4().hex
    path = f"/api/applications/{journey.application_id}/submit"
    # a double click (same key) and a retried form (new keys), all at the same instant
    keys = [same_key] * 10 + [uuid.uuid4().hex for _ in range(10)]
    answers: list[object] = [None] * len(keys)

    def submit(i: int) -> None:
        answers[i] = journey.applicant.post(path, headers={"Idempotency-Key": keys[i]})  # type: ignore[union-attr]

    statuses = race([lambda i=i: submit(i) for i in range(len(keys))])
    numbers = {a["registration_number"] for a in answers if isinstance(a, dict)}
    mine = [a for a in journey.applicant.get("/api/applications")["applications"]
            if a.get("registration_number")]
    runs = [e for m in stack.aws("stepfunctions").list_state_machines()["stateMachines"]
            for e in stack.aws("stepfunctions").list_executions(stateMachineArn=m["stateMachineArn"])["executions"]
            if numbers and e["name"].endswith(next(iter(numbers)))]
    server_errors = [s for s in statuses if s >= 500]
    ok = len(numbers) == 1 and len(mine) == 1 and len(runs) == 1 and not server_errors
    row("duplicate-submits", figure=f"{len(keys)} concurrent submits → {len(mine)} application, "
        f"{len(numbers)} registration number, {len(runs)} run; answers {sorted(set(statuses))}", met=ok)
    assert ok, (numbers, mine, runs, statuses)


def _allowed(call) -> int:
    """1 when a call that must be refused was not (a 2xx, or any answer other than 401/403/404), else 0."""
    try:
        call()
    except ApiError as exc:
        return 0 if exc.status in (401, 403, 404) else 1
    return 1


def test_role_by_action_matrix_lets_no_one_else_decide(stack, api, staff, row):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    other = Journey(api, staff, "sip")
    other.register()
    tried = unauthorized = 0
    for step, (allowed, outcome) in SIP_ACTIONS.items():
        task = journey.task(allowed, step)
        path = f"/api/tasks/{task['task_id']}/decision"
        callers = {role: client for role, client in staff.items()
                   if ("head" if role == "head_acting" else role) != allowed}
        callers.update({"the applicant": journey.applicant, "another applicant": other.applicant})
        for name, client in callers.items():
            for method, target, body in (("POST", path, {"outcome": outcome}),
                                         ("GET", f"/api/tasks/{task['task_id']}", None)):
                if method == "GET" and name not in ("the applicant", "another applicant"):
                    continue  # officers of the office may read their office's tasks
                tried += 1
                unauthorized += _allowed(lambda c=client, m=method, t=target, b=body: c.call(m, t, b))
        staff[allowed].post(path, {"outcome": outcome})
    # officer-only endpoints, tried by both applicants
    for client in (journey.applicant, other.applicant):
        for method, target, body in (("GET", "/api/tasks", None), ("GET", "/api/reports/ikm", None),
                                     ("GET", f"/api/counter/{journey.registration_number}", None),
                                     ("POST", "/api/signing/batch", {"task_ids": ["x"]}),
                                     ("POST", "/api/permits/x/revoke", {"reason": "coba"})):
            tried += 1
            unauthorized += _allowed(lambda c=client, m=method, t=target, b=body: c.call(m, t, b))
    # another applicant's file
    for target in (f"/api/applications/{journey.application_id}",
                   f"/api/applications/{journey.application_id}/files/receipt"):
        tried += 1
        unauthorized += _allowed(lambda t=target: other.applicant.get(t))  # type: ignore[union-attr]
    row("role-matrix", figure=f"{unauthorized} of {tried} forbidden calls succeeded", met=unauthorized == 0)
    assert unauthorized == 0


def _scan_tables(stack) -> dict[str, str]:
    dynamodb = stack.aws("dynamodb")
    texts = {}
    for table in dynamodb.list_tables()["TableNames"]:
        items, start = [], None
        while True:
            page = dynamodb.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
            items += page["Items"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        texts[f"table {table}"] = items_text(items)  # compressed bodies decompressed
    return texts


def test_nik_and_phone_never_reach_logs_payloads_keys_or_records(stack, api, staff, row):
    journey = Journey(api, staff, "izin-operasional-orsos")
    journey.run_to_pickup()
    nik = journey.credentials["nik"]
    phone = journey.credentials["phone"]  # +62…
    canaries = {"NIK": nik, "phone": phone, "phone (0…)": "0" + phone[3:], "phone digits": phone[1:]}
    places: dict[str, str] = {"stack log": stack.log()}
    sfn = stack.aws("stepfunctions")
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            if not execution["name"].endswith(journey.registration_number):
                continue
            history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)
            places[f"run {execution['name']}"] = json.dumps(history, default=str)
    s3 = stack.aws("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])]
        places[f"keys of {bucket['Name']}"] = "\n".join(keys)
    places.update(_scan_tables(stack))
    found = [f"{what} in {where}" for where, text in places.items() for what, value in canaries.items()
             if value in text]
    row("pii-canary", figure=f"{len(found)} canary hits in {len(places)} places (log, run histories, object keys, "
        f"every table){': ' + '; '.join(found) if found else ''}", met=not found)
    assert not found, found


def test_race_helper_really_runs_calls_together():
    """The barrier makes the calls overlap (otherwise the races above would prove nothing)."""
    inside, overlap = [0], [0]
    lock = threading.Lock()

    def call() -> None:
        with lock:
            inside[0] += 1
            overlap[0] = max(overlap[0], inside[0])
        threading.Event().wait(0.05)
        with lock:
            inside[0] -= 1

    race([call] * 8)
    assert overlap[0] >= 2
