"""No run may exceed Step Functions' 365-day limit: the longest possible path through the ASL, from its own
timeouts (TimeoutSeconds/TimeoutSecondsPath, Wait states), retry budgets and loop bounds (revision rounds and
officer returns from the domain config), must stay below it.

The bound is an over-approximation (a Choice may take any branch, within the loop counters the domain keeps).
The loops (a resubmitted file checked again, an officer's return one step back) continue in a new execution
(`ContinueAsNewRun`: `states:startExecution` entering at the resume entry, then Succeed), so one execution's
longest path is the straight way through the SOP's waits (the figure is printed)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from silastri.domain.catalog import PaymentStage, default_catalog
from silastri.domain.steps import LEAVING_PATH
from silastri.services.automated import MAX_RETURNS
from silastri_local import template as tpl

ROOT = Path(__file__).resolve().parents[2]
ASL = json.loads((ROOT / "statemachine" / "licensing.asl.json").read_text())
LIMIT = 365 * 86400
LAMBDA_TIMEOUT = int(tpl.load_template()["Globals"]["Function"]["Timeout"])
SERVICE_CALL = 60  # an SDK integration without a callback: one API call, with generous latency
HOLIDAY_MARGIN = 14 * 86400  # the longest run of public holidays and cuti bersama (Lebaran) on top of the rule


def _working_days_wait_bound(days_of: Callable[[Any], int]) -> int:
    """A wait until the closing time of the N-th working day (N = `days_of(office)`), the longest over every
    office and start."""
    longest = 0
    for office in default_catalog().offices.values():
        calendar = office.calendar()
        start = datetime(2026, 1, 1, 1, tzinfo=UTC)
        for day in range(300):  # every start whose deadline stays within the calendar's published years
            begin = (start + timedelta(days=day)).date()
            deadline = calendar.add_working_days(begin, days_of(office))
            longest = max(longest, ((deadline - begin).days + 1) * 86400)  # up to closing time that day
    return longest + HOLIDAY_MARGIN


def _revision_wait_bound() -> int:
    """The revision wait (TimeoutSecondsPath $.revision.timeout_seconds) as request_revision computes it."""
    return _working_days_wait_bound(lambda office: office.revision_deadline_working_days)


def _payment_wait_bound() -> int:
    """The payment wait ($.payment.timeout_seconds, issue_payment_reference): the longest `due_working_days` of
    any type the office offers (a rejected proof gives back at most the time that was left)."""
    catalog = default_catalog()
    return _working_days_wait_bound(lambda office: max(
        [t.payment.due_working_days for t in catalog.offered(office.office_id)] + [PaymentStage().due_working_days]))


PATH_BOUNDS = {"$.revision.timeout_seconds": _revision_wait_bound(),
               "$.payment.timeout_seconds": _payment_wait_bound()}
MAX_REVISIONS = max(o.max_revision_rounds for o in default_catalog().offices.values())


def _retry_budget(state: dict[str, Any], attempt_seconds: int) -> int:
    """Every retrier used to the full: each attempt may take the whole call, plus the backoff delays."""
    total = 0
    for retrier in state.get("Retry", []):
        interval, rate = retrier.get("IntervalSeconds", 1), retrier.get("BackoffRate", 2.0)
        cap = retrier.get("MaxDelaySeconds", 10**9)
        for attempt in range(retrier.get("MaxAttempts", 3)):
            total += attempt_seconds + min(interval * rate ** attempt, cap)
    return int(total)


def state_seconds(state: dict[str, Any]) -> int:
    """The longest one pass through `state` can take."""
    kind = state["Type"]
    if kind == "Wait":
        return int(state.get("Seconds") or PATH_BOUNDS[state["SecondsPath"]])
    if kind != "Task":
        return 0
    resource = state["Resource"]
    if resource.endswith(".waitForTaskToken"):
        timeout = state.get("TimeoutSeconds") or PATH_BOUNDS[state["TimeoutSecondsPath"]]
        # retried errors come from invoking the opener (nothing sends a task failure with those names)
        return int(timeout) + _retry_budget(state, LAMBDA_TIMEOUT)
    call = LAMBDA_TIMEOUT if ":lambda:" in resource else SERVICE_CALL
    return int(state.get("TimeoutSeconds", call)) + _retry_budget(state, call)


def _next_states(name: str, state: dict[str, Any], revisions: int, returns: int) -> list[tuple[str, int, int]]:
    """Where a state may go, with the loop counters the domain keeps (revision rounds, officer returns)."""
    if name == "RequestRevision":
        revisions += 1
    if name == "RecordReturn":
        returns += 1
    if name == "RevisionLimit":  # limit_reached = round > max_revision_rounds
        return [("PrepareRejection" if revisions > MAX_REVISIONS else "AwaitRevision", revisions, returns)]
    if name == "RouteReturn" and returns > MAX_RETURNS:  # limit_reached = count > MAX_RETURNS
        return [("ReturnLimitReached", revisions, returns)]
    targets = [c["Next"] for c in state.get("Choices", [])]
    targets += [state[k] for k in ("Next", "Default") if k in state]
    targets += [c["Next"] for c in state.get("Catch", [])]
    if name == "RouteReturn":
        targets.remove("ReturnLimitReached")
    return [(t, revisions, returns) for t in dict.fromkeys(targets)]


def longest_run_seconds(asl: dict[str, Any]) -> tuple[int, list[str]]:
    """The longest path of one execution (from its start, every resume entry included), and that path.

    Raises if the ASL has a loop that no counter bounds."""
    states = asl["States"]
    on_path: set[tuple[str, int, int]] = set()

    @cache
    def longest(name: str, revisions: int, returns: int) -> tuple[int, tuple[str, ...]]:
        key = (name, revisions, returns)
        if key in on_path:
            raise AssertionError(f"unbounded loop through {name}")
        on_path.add(key)
        state = states[name]
        best: tuple[int, tuple[str, ...]] = (0, ())
        for target, rev, ret in _next_states(name, state, revisions, returns):
            best = max(best, longest(target, rev, ret))
        on_path.discard(key)
        return state_seconds(state) + best[0], (name, *best[1])

    seconds, path = longest(asl["StartAt"], 0, 0)
    return seconds, list(path)


def test_no_run_can_exceed_365_days():
    seconds, path = longest_run_seconds(ASL)
    days = seconds / 86400
    waits = [p for p in path if ASL["States"][p]["Type"] == "Task"
             and ASL["States"][p]["Resource"].endswith(".waitForTaskToken")]
    print(f"longest run: {days:.1f} days through {len(path)} states; waits: {' → '.join(waits)}")
    assert seconds < LIMIT, f"a run could last {days:.1f} days: {' → '.join(path)}"


def test_the_calculation_sees_loops_and_limits():
    """The calculator itself: the bounded loops count (a revision round costs a completeness check and a
    revision wait), and a long wait alone pushes a run past the limit."""
    assert state_seconds({"Type": "Wait", "Seconds": 400 * 86400}) > LIMIT
    assert PATH_BOUNDS["$.revision.timeout_seconds"] >= 14 * 86400
    # decisions that leave the normal path resume a wait with SendTaskFailure (domain.steps.LEAVING_PATH): no
    # wait may retry on those errors, or a decision would restart the wait and the bound above would not hold
    sent = set(LEAVING_PATH.values())
    assert sent and re.search(r"send_task_failure", (ROOT / "layers/common/python/silastri/adapters/workflow.py")
                              .read_text())
    for name, state in ASL["States"].items():
        if str(state.get("Resource", "")).endswith(".waitForTaskToken"):
            retried = {e for retrier in state.get("Retry", []) for e in retrier["ErrorEquals"]}
            assert not retried & (sent | {"States.ALL", "States.TaskFailed"}), (name, retried)
