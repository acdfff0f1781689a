"""SLA clocks on the local runtime with a controlled clock: 80% reminder, escalation at breach (each once,
naming the registration number), pause during revision, a revision deadline over the 2026 holiday week,
the officers' queue by urgency and the applicant's expected completion date."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from silastri.adapters import dynamo
from silastri.adapters.identity import Principal
from silastri.domain import clock
from silastri.domain.clock import WIB
from silastri.domain.models import Application, ApplicationStatus, TaskStatus
from silastri.services import applications, automated, sla, tasks, timeline


def wib(*args) -> datetime:
    return datetime(*args, tzinfo=WIB)


def near(moment: datetime | None, expected: datetime) -> bool:
    """Equal up to the seconds that pass while the test runs (the shifted clock keeps ticking; a loaded CI machine
    took more than 3 s between setting the clock and opening the task). The clocks here count minutes."""
    return moment is not None and abs((moment - expected).total_seconds()) < 30


@pytest.fixture
def at(local_stack):
    """Set the service clock to a WIB moment (clock.set_offset, as SILASTRI_CLOCK_OFFSET does locally)."""
    def move(moment: datetime) -> None:
        clock.set_offset(moment - datetime.now(UTC))
    yield move
    clock.set_offset(timedelta(0))


@pytest.fixture
def sent(monkeypatch):
    notes: list = []
    real = timeline.notify
    monkeypatch.setattr(timeline, "notify", lambda kind, **f: (notes.append((kind, f)), real(kind, **f)))
    return notes


def _application(step: str, permit_type: str = "sip") -> Application:
    app = Application(application_id=str(uuid.uuid4()), office_id="rokan-hilir", applicant_id="applicant-x",
                      permit_type=permit_type, status=ApplicationStatus.IN_PROGRESS,
                      registration_number=f"REG-2026-{uuid.uuid4().int % 10**6:06d}",
                      form={"practitioner_name": "dr. Uji"}, created_at=datetime.now(UTC),
                      submitted_at=datetime.now(UTC), current_step=step)
    dynamo.create_application(app)
    return app


def _open(app: Application, step: str):
    return tasks.open_human_task(app.application_id, app.office_id, step, "State", f"tok-{uuid.uuid4().hex}", "x")


def _decide_directly(task_id: str, when: datetime) -> None:
    claim = uuid.uuid4().hex
    claimed, _ = dynamo.claim_task(task_id, claim, "incomplete", "kurang", "officer-x", when)
    dynamo.finish_claim(claimed, TaskStatus.DECIDED)


def test_reminder_at_80_percent_then_escalation_at_breach_each_exactly_once(at, sent):
    app = _application("verification")
    at(wib(2026, 2, 12, 10, 0))  # Thursday, office open
    task = _open(app, "verification")
    assert near(task.due_at, wib(2026, 2, 12, 10, 10))
    assert near(task.remind_at, wib(2026, 2, 12, 10, 8))

    sla.check_clocks(now=wib(2026, 2, 12, 10, 7))
    assert dynamo.get_task(task.task_id).reminded_at is None
    sla.check_clocks(now=wib(2026, 2, 12, 10, 8))
    sla.check_clocks(now=wib(2026, 2, 12, 10, 9))
    reminders = [f for k, f in sent if k == "sla_reminder" and f["application_id"] == app.application_id]
    assert len(reminders) == 1 and reminders[0]["role"] == "verifier"
    assert reminders[0]["registration_number"] == app.registration_number

    sla.check_clocks(now=wib(2026, 2, 12, 10, 10))
    sla.check_clocks(now=wib(2026, 2, 12, 11, 0))
    mine = [(k, f) for k, f in sent if f.get("application_id") == app.application_id and k.startswith("sla_")]
    escalations = [f for k, f in mine if k == "sla_escalated"]
    assert len(escalations) == 1 and escalations[0]["role"] == "approver"  # verifier → approver
    assert escalations[0]["registration_number"] == app.registration_number
    assert [k for k, _ in mine] == ["sla_reminder", "sla_overdue", "sla_escalated"]
    breach = [e for e in dynamo.timeline(app.application_id) if e.action == "sla_breached"]
    assert len(breach) == 1 and breach[0].details["escalated_to"] == "approver"
    # an escalated task has left the index: the monitor no longer reads it
    assert task.task_id not in {t.task_id for t in dynamo.tasks_with_alarm("rokan-hilir", wib(2026, 2, 13, 8, 0))}


def test_the_clock_pauses_while_the_file_is_with_the_applicant(at):
    app = _application("completeness_check")
    at(wib(2026, 2, 12, 10, 0))
    first = _open(app, "completeness_check")
    assert near(first.due_at, wib(2026, 2, 12, 10, 15))
    # incomplete 10 minutes after the task opened (counted from its own opening: on a loaded machine seconds pass
    # between setting the clock and opening it)
    _decide_directly(first.task_id, first.opened_at + timedelta(minutes=10))
    revision = _open(app, "revision")  # the applicant's task has no SLA clock (the revision deadline rules)
    assert revision.due_at is None
    at(wib(2026, 2, 13, 9, 0))
    _decide_directly(revision.task_id, wib(2026, 2, 13, 9, 0).astimezone(UTC))
    # the applicant resubmitted; the check reopens after the Imlek days and resumes with the 5 minutes left
    at(wib(2026, 2, 18, 9, 0))
    again = _open(app, "completeness_check")
    assert again.task_id != first.task_id
    assert near(again.due_at, wib(2026, 2, 18, 9, 5))
    assert near(again.remind_at, wib(2026, 2, 18, 9, 2))
    opened = [e for e in dynamo.timeline(app.application_id) if e.action == "task_opened"]
    assert opened[-1].details["sla_resumed_minutes"] == 10.0


def test_revision_deadline_runs_over_the_nyepi_and_idul_fitri_week(at):
    app = _application("completeness_check")
    at(wib(2026, 3, 16, 9, 0))  # Monday before Nyepi and Idul Fitri 2026
    result = automated.request_revision(automated.StepEvent(application_id=app.application_id, state="AwaitRevision"))
    deadline = dynamo.get_application(app.application_id).revision_deadline
    assert near(deadline, wib(2026, 4, 13, 16, 0))  # Mon–Fri only would have said 3 April
    assert abs(result["timeout_seconds"] - (deadline - clock.now_utc()).total_seconds()) < 5


def test_queue_sorted_overdue_first_with_due_time_in_wib_and_a_countdown(at):
    office_officer = Principal(user_id="v-1", roles={"verifier"}, office_id="rokan-hilir", name="V")
    at(wib(2026, 2, 12, 9, 0))
    late = _open(_application("verification"), "verification")
    at(wib(2026, 2, 12, 10, 0))
    fresh = _open(_application("verification"), "verification")
    rows = {r["task_id"]: r for r in tasks.queue_view(office_officer)}
    assert rows[late.task_id]["overdue"] and rows[late.task_id]["seconds_left"] < 0
    assert rows[fresh.task_id]["due_wib"] == "12 Februari 2026 10:10 WIB"
    assert rows[fresh.task_id]["seconds_left"] == pytest.approx(600, abs=5)
    order = [r["task_id"] for r in tasks.queue_view(office_officer)]
    assert order.index(late.task_id) < order.index(fresh.task_id)
    assert all(r["overdue"] for r in tasks.queue_view(office_officer)[: order.index(late.task_id) + 1])


def test_expected_completion_is_recomputed_as_steps_finish(at):
    app = _application("verification", permit_type="izin-operasional-orsos")
    at(wib(2026, 2, 12, 15, 50))  # Thursday, 10 minutes before closing
    _open(app, "verification")
    # verification 10 min (→ 16:00), then approval, numbering, signing, printing on Friday (no Mon/Tue: Imlek)
    expected = sla.expected_completion(dynamo.get_application(app.application_id))
    assert near(expected, wib(2026, 2, 13, 8, 20))
    view = applications.status_view if hasattr(applications, "status_view") else None
    assert view is None or callable(view)
    orsos_technical = _application("technical_review", permit_type="izin-operasional-orsos")
    _open(orsos_technical, "technical_review")  # 7 working days for the technical team (permit type override)
    later = sla.expected_completion(dynamo.get_application(orsos_technical.application_id))
    assert later is not None and later > wib(2026, 2, 24, 0, 0)


def test_an_opener_that_finishes_after_the_run_closed_the_application_leaves_it_closed(local_stack):
    """A wait whose deadline has (almost) passed when a run re-enters it can time out and close the application
    (lapsed) before the Lambda opening its task has finished: that opener must not put the application back to
    `awaiting_revision` nor leave an open task behind (seen on CI as a 400 instead of a 409 on a late resubmit)."""
    app = _application("revision")
    automated.close_application(automated.CloseEvent(application_id=app.application_id, outcome="lapsed"))
    task = _open(app, "revision")
    closed = dynamo.get_application(app.application_id)
    assert closed.status == ApplicationStatus.LAPSED
    assert task.status == TaskStatus.CANCELLED
    assert dynamo.open_task_of(app.application_id) is None
