"""kill -9 at random points while applicants and officers go through whole journeys, then restart.

Every write the API acknowledged (2xx) must be there after the restart: each submission with its
registration number, each decision recorded, each confirmed permit number on its application; and no
registration number or permit number is ever handed out twice. The seed is printed (set
SILASTRI_KILL_SEED to repeat a run).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from silastri.adapters.dynamo import CompressedJSONAttribute
from silastri_local.client import ApiClient
from silastri_local.journey import SKM_ELEMENTS, Journey, officer_clients
from silastri_local.stack_process import StackProcess

KILLS = 3
WORKERS = 3

#: (role, step, outcome, details) after submission; orsos has a technical review, sip does not.
PLAN = [
    ("back_office", "completeness_check", "complete", {}),
    ("technical_team", "technical_review", "recommend", {}),
    ("verifier", "verification", "verified", {}),
    ("approver", "approval", "approved", {}),
    ("back_office", "numbering", "confirmed", None),  # details: the proposed number
    ("head", "signing", "signed", {}),
    ("back_office", "printing", "printed", {"copies": 1}),
    ("back_office", "pickup", "handed_over", {}),
]


@dataclass
class Ledger:
    """Every write the API acknowledged, recorded the moment its 2xx arrived."""

    submissions: dict[str, str] = field(default_factory=dict)  # application id → registration number
    decisions: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # task id → (application, step, outcome)
    permits: dict[str, str] = field(default_factory=dict)  # application id → confirmed permit number
    errors: list[str] = field(default_factory=list)  # why each journey thread ended
    account: dict[str, str] = field(default_factory=dict)  # one applicant's login and live ID token
    lock: threading.Lock = field(default_factory=threading.Lock)

    def total(self) -> int:
        return len(self.submissions) + len(self.decisions) + len(self.permits)


def _journeys(url: str, officer_logins: dict[str, dict[str, str]], ledger: Ledger, seed: int) -> None:
    """Applications through the SOP until the stack dies under this thread (any error ends it)."""
    rng = random.Random(seed)
    api = ApiClient(url, timeout=20)
    try:
        officers = officer_clients(api, officer_logins)
        while True:
            journey = Journey(api, officers, rng.choice(["sip", "izin-operasional-orsos"]))
            journey.apply()
            with ledger.lock:
                if not ledger.account and journey.applicant and journey.applicant.token:
                    ledger.account = {**journey.credentials, "token": journey.applicant.token}
            submitted = journey.submit(key=uuid.uuid4().hex)
            with ledger.lock:
                ledger.submissions[journey.application_id] = submitted["registration_number"]
            for role, step, outcome, details in PLAN:
                if step == "technical_review" and journey.permit_type == "sip":
                    continue
                task = journey.task(role, step, timeout=30)
                if step == "pickup":
                    assert journey.applicant
                    journey.applicant.post(f"/api/applications/{journey.application_id}/survey",
                                           {"scores": dict.fromkeys(SKM_ELEMENTS, 4)})
                if step == "numbering":  # the number shown; another journey may take it first (then the next)
                    number = officers[role].get(f"/api/tasks/{task['task_id']}")["proposed_number"]
                    details = {"number": number}
                answer = officers[role].post(f"/api/tasks/{task['task_id']}/decision",
                                             {"outcome": outcome, "details": details or {}})
                with ledger.lock:
                    ledger.decisions[task["task_id"]] = (journey.application_id, step, outcome)
                    if step == "numbering":  # the number the 200 says was assigned
                        ledger.permits[journey.application_id] = str(answer["settled"]["number"])
    except Exception as exc:  # the stack was killed under this journey (or refused it): stop here
        with ledger.lock:
            ledger.errors.append(f"{type(exc).__name__}: {str(exc)[:160]}")


def _scan(stack: StackProcess, table: str) -> list[dict[str, Any]]:
    ddb = stack.aws("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": f"silastri-{table}"}
    while True:
        page = ddb.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _check(stack: StackProcess, ledger: Ledger) -> tuple[int, list[str], list[str]]:
    """(acknowledged writes checked, those lost, numbers handed out twice) on the restarted stack."""
    apps = {i["application_id"]["S"]: i for i in _scan(stack, "ApplicationsTable")}
    tasks = {i["task_id"]["S"]: i for i in _scan(stack, "TasksTable")}
    lost = []
    with ledger.lock:
        submissions, decisions, permits = dict(ledger.submissions), dict(ledger.decisions), dict(ledger.permits)
    for application_id, number in submissions.items():
        stored = apps.get(application_id, {}).get("registration_number", {}).get("S")
        if stored != number:
            lost.append(f"submission {number}: stored {stored!r}")
    for task_id, (application_id, step, outcome) in decisions.items():
        task = tasks.get(task_id)
        if task is None or task["status"]["S"] != "decided" or task.get("outcome", {}).get("S") != outcome:
            state = None if task is None else (task["status"]["S"], task.get("outcome", {}).get("S"))
            lost.append(f"decision {step}={outcome} on {application_id}: stored {state}")
    bodies = {a: CompressedJSONAttribute().deserialize(i["body"].get("B", i["body"].get("S"))) for a, i in apps.items()}
    for application_id, number in permits.items():
        stored = bodies.get(application_id, {}).get("permit_number")
        if stored != number:
            lost.append(f"permit number {number} of {application_id}: stored {stored!r}")
    registrations = Counter(i["registration_number"]["S"] for i in apps.values() if "registration_number" in i)
    permit_numbers = Counter(b["permit_number"] for b in bodies.values() if b.get("permit_number"))
    twice = [f"registration {n} ×{c}" for n, c in registrations.items() if c > 1]
    twice += [f"permit {n} ×{c}" for n, c in permit_numbers.items() if c > 1]
    twice += [f"acknowledged registration {n} ×{c}" for n, c in Counter(submissions.values()).items() if c > 1]
    twice += [f"acknowledged permit {n} ×{c}" for n, c in Counter(permits.values()).items() if c > 1]
    return len(submissions) + len(decisions) + len(permits), lost, twice


def test_kill_9_during_journeys_loses_no_acknowledged_write(tmp_path, row):
    seed = int(os.environ.get("SILASTRI_KILL_SEED") or time.time())
    rng = random.Random(seed)
    print(f"seed {seed}")
    ledger = Ledger()
    stack = StackProcess(tmp_path / "data").start()
    lost: list[str] = []
    twice: list[str] = []
    checked = 0
    try:
        for kill in range(KILLS):
            logins = stack.officers()
            workers = [threading.Thread(target=_journeys, args=(stack.url, logins, ledger, rng.randrange(2**32)),
                                        daemon=True) for _ in range(WORKERS)]
            for worker in workers:
                worker.start()
            # kill at a random moment, but only once this round has had writes acknowledged (on a loaded CI
            # machine the journeys may need long to get going; a kill before any 2xx would test nothing)
            started, deadline = ledger.total(), time.monotonic() + 180
            time.sleep(rng.uniform(8.0, 20.0))
            while (ledger.total() < started + 3 or not ledger.submissions) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(rng.uniform(0.0, 1.0))
            before = ledger.total()
            stack.kill()  # SIGKILL: no snapshot, no clean stop
            for worker in workers:
                worker.join(timeout=60)
            stack.start()
            checked, lost, twice = _check(stack, ledger)
            print(f"kill {kill + 1}: {before} acknowledged before the kill, {checked} checked after restart, "
                  f"{len(lost)} lost, {len(twice)} numbers twice; journeys ended by: {ledger.errors[-WORKERS:]}")
            if lost or twice:
                break
        if ledger.account:  # passwords survive restarts (as salted hashes): the applicant logs in again
            assert ApiClient(stack.url).login(ledger.account["email"], ledger.account["password"]).token
    finally:
        stack.stop()
    if ledger.account:  # nothing under the data directory holds the plaintext password or the issued token
        secrets = [ledger.account["password"].encode(), ledger.account["token"].encode()]
        leaks = [p.name for p in (tmp_path / "data").rglob("*") if p.is_file() and any(x in p.read_bytes()
                                                                                       for x in secrets)]
        print(f"saved files holding the applicant's password or ID token: {leaks}")
        assert leaks == []
    print("\n".join(line for line in stack.log().splitlines() if line.startswith("journal:")))
    met = checked > 0 and not lost and not twice and bool(ledger.decisions) and bool(ledger.submissions)
    row("kill-9", figure=f"{checked} acknowledged writes checked over {KILLS} kills "
                         f"({len(ledger.submissions)} submissions, {len(ledger.decisions)} decisions, "
                         f"{len(ledger.permits)} permit numbers): {len(lost)} lost, {len(twice)} numbers twice",
        met=met)
    assert not lost, lost[:10]
    assert not twice, twice[:10]
    assert ledger.submissions and ledger.decisions, "the journeys acknowledged too little to test anything"
