"""`make reliability`: each row of the table is a test that records its figure and fails when the goal is not met.

A test takes the `row` fixture and calls it once with its measured figure:

    def test_x(row):
        ...
        row("duplicate-submits", figure=f"{n} applications from 20 concurrent submits", met=(n == 1))
        assert n == 1

Figures are written to test-artifacts/reliability/<row>.json (one file per row, so that xdist workers can
record them); the table is printed at the end of the session, with rows that no test recorded marked
as missing when the run was `make reliability`.
"""

from __future__ import annotations

import json
import os

import pytest
from silastri_local.template import ROOT

#: (row id, what is measured, the goal) — the order of the printed table.
ROWS: list[tuple[str, str, str]] = [
    ("duplicate-submits", "concurrent duplicate submits", "1 application"),
    ("conflicting-decisions", "conflicting concurrent decisions, every step with effects", "published = recorded"),
    ("decision-after-run-stopped", "a decision after the run stopped", "409, nothing published, task closed"),
    ("code-guessing", "parallel code guesses (activation, reset)", "never more than the limit evaluated"),
    ("bad-tokens", "stale / used / malformed tokens, links, CSRF, cookies", "4xx, never 5xx"),
    ("hostile-uploads", "hostile-upload corpus; harmless look-alikes", "all rejected with reasons; look-alikes accepted"),
    ("role-matrix", "role × action matrix", "0 unauthorized"),
    ("identity-attributes", "trusted attributes written by a signed-in user", "0 accepted"),
    ("pii-canary", "NIK / phone canary in logs, payloads, keys, saved state", "0 found"),
    ("kill-9", "kill -9 during journeys, then restart", "0 acknowledged writes lost, no number twice"),
    ("fuzzing", "property-based and schemathesis fuzzing of the API", "0 5xx"),
    ("brute-force", "login / code / resend / tracking brute force", "throttled"),
    ("concurrent-connections", "50 concurrent connections to the local server", "0 resets"),
    ("msg-plan-orsos", "applicant's and officers' messages over a whole orsos run", "the plan's; ≤ 5 WhatsApp; officers 0"),
    ("msg-plan-sip", "applicant's and officers' messages over a whole SIP run", "the plan's; ≤ 5 WhatsApp; officers 0"),
    ("msg-plan-revision", "a revision round: messages, deadline in the text", "the plan's; deadline in WIB"),
    ("msg-plan-rejection", "a rejection: messages, reason in the text", "the plan's; reason shown"),
    ("msg-statuses", "delivery status of every message of an orsos run", "all delivered"),
    ("msg-once-retries", "WhatsApp failing 3 times, then recovering", "sent once, 4 attempts, delivered"),
    ("msg-once-restart", "kill -9 with notifications in flight, then restart", "0 sent twice, 0 left queued"),
    ("msg-duplicate-publish", "the same notification published twice", "1 message per recipient and channel"),
]

ARTIFACTS = ROOT / "test-artifacts" / "reliability"


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """A local stack (`silastri up` in a subprocess) shared by this worker's reliability tests."""
    from silastri_local.stack_process import StackProcess

    process = StackProcess(tmp_path_factory.mktemp("reliability-stack")).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def api(stack):
    from silastri_local.client import ApiClient

    return ApiClient(stack.url)


@pytest.fixture(scope="session")
def staff(stack, api):
    from silastri_local.journey import officer_clients

    return officer_clients(api, stack.officers())


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/reliability" in str(item.fspath):
            item.add_marker(pytest.mark.reliability)


def pytest_sessionstart(session):
    # Only the controller (not xdist workers) clears the figures of an earlier run.
    if not hasattr(session.config, "workerinput"):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob("*.json"):
            old.unlink()


@pytest.fixture
def row(request):
    """Record this test's figure for a row of the table: row(row_id, figure=str, met=bool)."""
    known = {r[0] for r in ROWS}

    def record(row_id: str, *, figure: str, met: bool) -> None:
        assert row_id in known, f"unknown reliability row {row_id!r}"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{row_id}.json"
        entries = json.loads(path.read_text()) if path.exists() else []
        entries.append({"test": request.node.nodeid, "figure": figure, "met": bool(met)})
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, ensure_ascii=False, indent=1))
        tmp.replace(path)

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if hasattr(config, "workerinput") or not ARTIFACTS.exists():
        return
    recorded = {p.stem: json.loads(p.read_text()) for p in ARTIFACTS.glob("*.json")}
    if not recorded:
        return
    strict = os.environ.get("SILASTRI_RELIABILITY_STRICT") == "1"
    write = terminalreporter.write_line
    terminalreporter.section("reliability")
    write(f"{'row':<28} {'goal':<48} {'met':<5} figure")
    missing = 0
    for row_id, _what, goal in ROWS:
        entries = recorded.get(row_id)
        if not entries:
            missing += 1
            write(f"{row_id:<28} {goal:<48} {'—':<5} (not measured in this run)")
            continue
        for i, entry in enumerate(entries):
            name = row_id if i == 0 else ""
            goal_text = goal if i == 0 else ""
            write(f"{name:<28} {goal_text:<48} {'yes' if entry['met'] else 'NO':<5} {entry['figure']}")
    if strict and missing:
        write(f"{missing} row(s) not measured")
        terminalreporter._session.exitstatus = pytest.ExitCode.TESTS_FAILED
