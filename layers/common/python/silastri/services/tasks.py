"""Human tasks: opened by the workflow (task token kept server-side), decided through the API exactly once."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..adapters import dynamo, identity
from ..adapters.identity import Principal
from ..domain import steps, validation
from ..domain.calendar import CalendarYearError
from ..domain.clock import format_datetime_wib, now_utc
from ..domain.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    PendingError,
    ValidationError,
)
from ..domain.models import Application, ApplicationStatus, Task, TaskStatus
from ..observability import DECISIONS_RECOVERED, DECISIONS_REFUSED, DECISIONS_STUCK, count, logger
from . import sla, timeline

if TYPE_CHECKING:
    from .. import steps as step_modules
    from ..steps import StepContext
    from . import permits

# The step modules (all of them), rendering and signing (permits, signing), storage and the workflow adapter are
# imported by the functions that use them: the closing function needs only publish_accepted (issue 12).

# set only by the run's closing step; a failed or stopped application can be continued by an operator
CLOSED_STATUSES = frozenset({ApplicationStatus.COMPLETED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN,
                             ApplicationStatus.LAPSED})


def open_human_task(application_id: str, office_id: str, step_id: str, state: str, token: str,
                    execution_name: str) -> Task:
    """Store the token, put the task in its role's queue, tell the people who must act.

    A resumed run (same application and step still open) hands the new token to the existing task; a
    decision claimed here before a crash is delivered to the new run instead (`finish_pending_decisions`)."""
    from .. import steps as step_modules

    step = step_modules.module(step_id)
    definition = step.definition
    assert definition.role is not None, f"{step_id} is not a human step"
    history = dynamo.tasks_of_application(application_id)  # read once for the checks and the SLA clock below
    pending = finish_pending_decisions(application_id, step_id, token, history)
    if pending is not None:
        return pending
    if any(t.status == TaskStatus.DECIDING for t in history):  # finished just now: their statuses changed
        history = dynamo.tasks_of_application(application_id)
    current = dynamo.get_application(application_id, documents=False)  # each prepare() reads what it renders
    if current.status not in CLOSED_STATUSES:
        step.prepare(current)  # what the task shows must be ready before anyone sees it (e.g. the draft decree)
    opened_at = now_utc()
    candidate = Task(task_id=uuid.uuid4().hex, application_id=application_id, office_id=office_id, step=step_id,
                     role=definition.role.value, opened_at=opened_at, execution_name=execution_name)
    clock_problem = None
    if definition.role != steps.Role.APPLICANT:
        try:
            clock = sla.clock_for(current, step_id, opened_at, history)
            candidate.due_at, candidate.remind_at = clock.due_at, clock.remind_at
            candidate.sla = {"standard": clock.standard.label, "budget_minutes": clock.budget_minutes,
                             "consumed_minutes": clock.consumed_minutes}
        except CalendarYearError as exc:  # no calendar data for the year the clock reaches: said, not guessed
            clock_problem = exc.message
            logger.warning("sla clock not started", application_id=application_id, step=step_id, reason=exc.message)

    def change(app: Application) -> None:
        if app.status in CLOSED_STATUSES:
            return  # the run closed it meanwhile (e.g. a wait that timed out before this opener finished)
        app.current_step = step_id
        app.resume_at = state
        app.execution_name = execution_name  # the run that waits here is the application's current run
        if step.status_while_open is not None:  # e.g. the applicant's revision
            app.status = step.status_while_open
        elif app.status == ApplicationStatus.AWAITING_REVISION:
            app.status = ApplicationStatus.IN_PROGRESS

    # where the run is, recorded before its task is stored: a restart resumes a run at `resume_at`, so an opener
    # that dies in between leaves either the step recorded and its task opened by the resumed run, or neither
    # (the decision before it is delivered again) — never a task of a step the application does not say it is at
    app, _ = dynamo.update_application(application_id, change, documents=False)  # fields only
    stored = dynamo.open_task(candidate, token)
    resumed = stored.task_id != candidate.task_id
    if app.status in CLOSED_STATUSES:  # closed while this opener ran: the task it stored must not stay open
        dynamo.cancel_open_tasks(application_id)
        logger.info("task not opened: application closed", application_id=application_id, step=step_id)
        return dynamo.get_task(stored.task_id)
    # a resumed run hands the open task its token; the entry is written again only if the opener that stored the
    # task died before writing it (red team F5: the step's start and SLA facts were missing from the trail)
    if not resumed or not timeline.recorded(application_id, "task_opened", task_id=stored.task_id):
        timeline.record(application_id, step_id, "task_opened", "system", task_id=stored.task_id,
                        **({"sla_standard": stored.sla["standard"], "sla_due_at": stored.due_at.isoformat(),
                            "sla_resumed_minutes": round(stored.sla["consumed_minutes"], 1)}
                           if stored.sla and stored.due_at else {}),
                        **({"sla_unavailable": clock_problem} if clock_problem else {}))
    # published again when the opener runs again (a publish that failed, a crash before it): the event ids make
    # the notifier send each message once
    if definition.role != steps.Role.APPLICANT:
        timeline.notify("task_opened", application_id=application_id,
                        registration_number=app.registration_number, office_id=office_id,
                        role=definition.role.value, event_id=f"task_opened:{stored.task_id}",
                        params={"task_id": stored.task_id, "step": step_id})
    step.opened(app, stored)  # the step's own announcements (e.g. SOP 10: the permit waits at the counter)
    logger.info("task opened", application_id=application_id, step=step_id, resumed=resumed)
    return stored


def _authorise(principal: Principal, task: Task, app: Application) -> None:
    if task.role == steps.Role.APPLICANT.value:
        if app.applicant_id != principal.user_id:
            raise NotFoundError("tugas tidak ditemukan", field="task_id")
        return
    if principal.office_id != task.office_id:
        raise ForbiddenError("tugas ini milik kantor lain", field="office_id")
    if task.role not in principal.roles:
        raise ForbiddenError(f"tugas ini untuk peran {steps.ROLE_NAMES.get(task.role, task.role)}", field="role")


def _effects(step: step_modules.Step, ctx: StepContext, checked: dict[str, Any], claim_id: str,
             credentials: permits.SigningCredentials | None) -> dict[str, Any]:
    """Make the claimed decision's effects (the step module's `effects`), keyed by the claim, publishing nothing.

    Returns what `_publish` needs: `changes` (application fields the next workflow step reads, applied
    before the run resumes and undone if it refuses) with their `previous` values, and what the step asks
    to publish once the run accepted the decision (`permit`: the signed permit's registry record; `signed`)."""
    effects = dict(step.effects(ctx, checked, claim_id, credentials))
    changes = effects["changes"] = dict(effects.get("changes") or {})
    effects["previous"] = {name: _jsonable(getattr(ctx.app, name)) for name in changes}
    return effects


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _set_fields(application_id: str, values: dict[str, Any]) -> None:
    if not values:
        return

    def change(target: Application) -> None:
        for name, value in values.items():
            setattr(target, name, value)

    dynamo.update_application(application_id, change, documents=False)  # a step's changes are fields, never documents


def _release(task: Task, audited: bool = True) -> bool:
    """Release a claim whose changes were not committed (`dynamo.release_claim`): the task is open again, with an
    audit entry when `audited` (a settler's release; a caller that failed says so to its user). A task released on an
    application closed meanwhile (its run ended while the claim was being made) is cancelled, not left open.
    False when the claim is no longer releasable (committed, finished, taken over)."""
    assert task.claim_id
    if not dynamo.release_claim(task.task_id, task.claim_id):
        return False
    if audited:
        timeline.record(task.application_id, task.step, "decision_released", "system", task_id=task.task_id, note=(
            "Keputusan tidak selesai diproses (prosesnya terhenti); tidak ada yang berlaku. Tugas dibuka kembali."))
    if dynamo.get_application(task.application_id, documents=False).status in CLOSED_STATUSES:
        dynamo.cancel_open_tasks(task.application_id)
    return True


def _publish(task: Task, effects: dict[str, Any]) -> bool:
    """The run accepted the decision: make it public (registry, download, status), then close the claim.

    Idempotent and safe to run twice at once (the API after resuming, and the next step's opener when the
    API died in between); the audit entry is written once, by whoever closes the claim. True for that caller."""
    from ..domain.models import PermitRecord

    # effects["changes"] were applied before the run resumed (a complete claim always has them): applying
    # them again here could overwrite what the run's next steps have written since.
    if effects.get("permit"):
        from . import permits

        permits.publish_permit(PermitRecord.model_validate(effects["permit"]))
    if effects.get("signed"):
        from . import signing

        signing.clear_unknown(task.application_id)  # a signature is published: an earlier unknown one is settled
    assert task.claim_id
    if not dynamo.finish_claim(task, TaskStatus.DECIDED):
        return False
    logger.info("decision published", application_id=task.application_id, step=task.step, outcome=task.outcome)
    timeline.notify("step_done", application_id=task.application_id, office_id=task.office_id, role=task.role,
                    event_id=f"step_done:{task.task_id}", params={"step": task.step, "outcome": task.outcome})
    return True


def _refused(task: Task, effects: dict[str, Any]) -> bool:
    """The run no longer waits for this token (ended, timed out, stopped): close the claim as void and undo its
    changes (one transaction), publish nothing, and say so in the audit trail. Returns False, changing nothing, when the claim is no
    longer this caller's: a resumed run's opener took it over and delivered it (`finish_pending_decisions`)."""
    assert task.claim_id
    # voided and undone in one transaction, only while the claim is still this one: never a rollback of a decision
    # an opener delivers meanwhile, never a void decision's changes left behind by a crash in between
    if not dynamo.void_claim(task, effects.get("previous") or {}, timeline.entry(
            task.application_id, task.step, "decision_void", "system", note=(
                "Alur kerja sudah tidak menunggu tugas ini; keputusan tidak berlaku dan tidak ada yang diterbitkan."),
            task_id=task.task_id)):
        return False
    logger.warning("decision refused by the workflow", application_id=task.application_id, step=task.step)
    count(DECISIONS_REFUSED, step=task.step)
    return True


def _resume(token: str, task: Task) -> None:
    """Resume the waiting run with the task's decision: SendTaskSuccess on the step's normal path, else
    SendTaskFailure with the outcome's named error (domain.steps.LEAVING_PATH), caught on the wait state."""
    from ..adapters import workflow
    assert task.outcome
    output = {"outcome": task.outcome, "task_id": task.task_id, "step": task.step}
    error = steps.resume_error(task.outcome)
    if error is None:
        workflow.resume(token, output)
    else:
        workflow.resume(token, output, error=error)


def _hand_over(token: str, task: Task) -> None:
    """`_resume` for a decision made through the API: an answer other than "the run no longer waits" (throttled
    past the SDK's retries, a timeout) leaves the run's answer unknown and raises PendingError (503); the claim
    stays deciding for `_hand_over_again`."""
    try:
        _resume(token, task)
    except ConflictError:
        raise
    except Exception as exc:
        logger.warning("decision hand-over unconfirmed", application_id=task.application_id, step=task.step,
                       error=type(exc).__name__)
        raise PendingError("keputusan sudah tercatat tetapi belum diterima alur kerja; kirim keputusan ini sekali "
                           "lagi setelah satu menit untuk meneruskannya") from exc


def _deliver(task: Task, token: str, effects: dict[str, Any]) -> bool:
    """Resume the run with the claimed decision, then publish (True). A refused hand-over is a decision the run took
    already when the application has moved past the step (a lost answer, retried: published, True), or when the
    run still runs (PendingError: settled by the run's next opener or the claims sweeper); otherwise the run ended
    without it: the claim is voided and ConflictError raised — unless a resumed run took the claim over meanwhile:
    it delivers and publishes it, no error (False)."""
    try:
        _hand_over(token, task)
    except ConflictError:
        if dynamo.get_task(task.task_id).status != TaskStatus.CANCELLED:  # not voided already (a lapse)
            if _moved_past(task):  # the run took it and went on: its answer was lost (a retry is refused)
                _publish(task, effects)
                return True
            from ..adapters import workflow

            lapsed = dynamo.get_application(task.application_id, documents=False).status == ApplicationStatus.LAPSED
            if not lapsed and workflow.run_status(task.execution_name) == "RUNNING":  # took it; not void here
                raise PendingError("keputusan sudah tercatat dan diteruskan ke alur kerja; penyelesaiannya "
                                   "dilakukan otomatis dalam beberapa menit") from None
        if _refused(task, effects) or dynamo.get_task(task.task_id).status == TaskStatus.CANCELLED:
            # voided here, or already (the run closed the application by a deadline meanwhile, `publish_accepted`)
            raise ConflictError("alur kerja permohonan ini sudah berhenti; keputusan tidak berlaku dan tidak ada "
                                "yang diterbitkan") from None
        logger.info("decision delivered by the resumed run", application_id=task.application_id, step=task.step)
        return False
    _publish(task, effects)
    return True


#: a deciding claim older than this (longer than any API request may take: API Gateway stops at 29 s) whose
#: hand-over failed is handed over again when the task is decided again
HAND_OVER_AFTER = timedelta(seconds=60)


def _hand_over_again(task: Task, now: datetime | None = None) -> bool | None:
    """A claim left deciding with all its effects made after its hand-over failed (`PendingError`) or its caller
    died: hand it over again with the token it was claimed with. True when it is finished now: the run took it
    (published), or had taken it already and recorded a later step (published). None when someone else has it
    (finished, or taken over by another settler, which publishes it). False when nothing can be told yet: the claim
    is not complete, not `HAND_OVER_AFTER` old at `now` (UTC, default the clock), or the token is refused while the
    application is still at the step (or lapsed, which no decision leads to): it stays deciding, never voided here
    — a refused token may be one the run used before failing later — and a run continued at this step is handed it
    by its opener (`finish_pending_decisions`). Raises PendingError when the run cannot be reached again."""
    claim, _details, effects = dynamo.claim_of(task.task_id)
    if claim.status != TaskStatus.DECIDING:
        return None
    token = dynamo.task_token_of(task.task_id)
    if not effects.get("complete") or not token or \
            claim.decided_at is None or (now or now_utc()) - claim.decided_at < HAND_OVER_AFTER:
        return False  # not stuck (yet): a claim younger than any request may still be on its way
    taken = dynamo.take_over_claim(claim, uuid.uuid4().hex, now)  # its first claimer can no longer void it
    if taken is None:
        return None
    claim = taken
    try:
        _hand_over(token, claim)
    except ConflictError:  # taken before (the answer was lost), or the run ended: only moving on tells
        if _moved_past(claim):  # a later step's opener recorded it: the run took this decision
            return True if _publish(claim, effects) else None
        return False  # an ended run is continued by an operator; the step's opener then delivers the claim
    return True if _publish(claim, effects) else None  # None: another settler took it over and publishes it


#: how often, a second apart, a refused hand-over looks whether the run has moved past the step: a settler that
#: took a claim over just after another handed it to the run sees the run's next step recorded a moment later
MOVE_CHECKS = 3


def _moved_past(claim: Task) -> bool:
    """Whether the application has left the claim's step on a path a decision leads to (not a lapse: only a
    deadline closes an application as lapsed), looked at `MOVE_CHECKS` times a second apart."""
    for check in range(MOVE_CHECKS):
        app = dynamo.get_application(claim.application_id, documents=False)
        if app.status == ApplicationStatus.LAPSED:
            return False
        if app.current_step != claim.step:
            return True
        if check < MOVE_CHECKS - 1:
            time.sleep(1)
    return False


#: a claim the sweeper could not settle (the run cannot be reached, or it ended at this step) is looked at again
#: after this long, and counted as stuck (DECISIONS_STUCK, alarmed) every time
CLAIM_RECHECK_AFTER = timedelta(hours=1)


def recover_stale_claims(now: datetime | None = None) -> dict[str, int]:
    """The claims sweeper (scheduled): settle every decision still deciding `dynamo.CLAIM_RECOVERY_AFTER` after its
    claim, i.e. left by a process that died between the claim and its hand-over (an API function that timed out or
    crashed; on the local runtime a restart also settles them, `finish_pending_decisions`).

    A claim whose changes were not committed is released (nothing of it was changed): the task open again in its
    queue with its SLA clock, an audit entry saying so. A complete claim is handed over again (`_hand_over_again`): published once the
    run took it. One that cannot be settled (the run cannot be reached, or it ended at this step: an operator
    continues it, and the step's opener delivers the claim) stays deciding, is counted (DECISIONS_STUCK) and
    looked at again after `CLAIM_RECHECK_AFTER`. `now` (UTC) may be given (tests). Returns counts
    {"delivered": n, "released": n, "stuck": n}."""
    from ..domain.catalog import default_catalog

    now = now or now_utc()
    counts = {"delivered": 0, "released": 0, "stuck": 0}
    for office_id in default_catalog().offices:
        for task in dynamo.stale_claims(office_id, now):
            result = _recover_claim(task, now)
            if result:
                counts[result] += 1
    return counts


def _recover_claim(task: Task, now: datetime) -> str | None:
    """Settle one stale claim (`recover_stale_claims`): "delivered", "released", "stuck", or None when it was
    settled meanwhile by someone else."""
    claim, _details, effects = dynamo.claim_of(task.task_id)
    if claim.status != TaskStatus.DECIDING or not claim.claim_id:
        return None
    if not effects.get("complete"):  # died while making its effects: nothing was changed or handed over
        if not _release(claim):
            return None  # committed or taken meanwhile: a later sweep hands it over
        logger.warning("stale claim released", application_id=claim.application_id, step=claim.step)
        count(DECISIONS_RECOVERED, step=claim.step, result="released")
        return "released"
    # old enough for `_hand_over_again` (HAND_OVER_AFTER < CLAIM_RECOVERY_AFTER): taken over, handed over, published
    try:
        delivered = _hand_over_again(claim, now)
    except PendingError:
        delivered = False  # the run cannot be reached now: again later
    if delivered is None:
        return None  # finished, or taken over by another settler (the API, a run's opener, another sweep)
    if delivered:
        logger.warning("stale claim delivered", application_id=claim.application_id, step=claim.step)
        count(DECISIONS_RECOVERED, step=claim.step, result="delivered")
        return "delivered"
    if not dynamo.defer_claim_recovery(claim.task_id, now + CLAIM_RECHECK_AFTER):
        return None
    logger.error("stale claim not settled", application_id=claim.application_id, step=claim.step)
    count(DECISIONS_STUCK, step=claim.step)
    return "stuck"


def decide(principal: Principal, task_id: str, outcome: str, note: str | None, details: dict[str, Any]) -> Task:
    """Decide a human task (`decide_settled`); returns the decided task."""
    return decide_settled(principal, task_id, outcome, note, details)[0]


def decide_settled(principal: Principal, task_id: str, outcome: str, note: str | None,
                   details: dict[str, Any]) -> tuple[Task, dict[str, Any]]:
    """Decide a human task: authorise → claim → effects → resume → publish (DESIGN, "Promises kept").

    The claim is one conditional write (open → deciding), so of two officers at once exactly one wins and
    the other gets ConflictError before anything happens. Effects (documents, number, signature) are keyed
    by the claim and publish nothing; the run is resumed; only then are registry, downloads and status
    published. If an effect fails (e.g. the signer refuses), the claim is released and the task is open
    again. If the run no longer waits, the claim's changes are undone, nothing is published, the task is
    closed and ConflictError is raised; if the run's answer is unknown (throttled, a timeout), PendingError (503):
    the claim stays deciding and deciding the task again after `HAND_OVER_AFTER` hands it over (`_hand_over_again`).
    Raises Forbidden/Validation errors before the claim (nothing changes). Returns the decided task and what its effects settled (`settled`), from this call's own writes:
    once the run accepted the decision nothing but publishing (deciding → decided) can change the task."""
    from .. import steps as step_modules
    from ..steps import StepContext
    from . import permits
    if note is not None:
        note = validation.clean_text(note, "note", 2000, label="catatan", required=False, multiline=True) or None
    if not isinstance(details, dict):
        raise ValidationError("rincian keputusan tidak valid", field="details")
    # signing secrets (BSrE passphrase/TOTP) are taken out first: never stored with the decision or logged
    details = dict(details)
    credentials = None
    given = {name: details.pop(name, None) for name in ("signer_nik", "passphrase", "totp")}  # never kept, even alone
    if given["passphrase"] is not None or given["totp"] is not None:
        credentials = permits.SigningCredentials(given["signer_nik"], given["passphrase"], given["totp"])
    task = dynamo.get_task(task_id)
    app = dynamo.get_application(task.application_id)
    _authorise(principal, task, app)
    steps.check_decision(task.step, principal.roles, outcome, note)
    if task.status == TaskStatus.CANCELLED:
        count(DECISIONS_REFUSED, step=task.step)  # e.g. the run ended and its tasks were closed before this
        raise ConflictError("tugas ini sudah ditutup (alur kerja permohonan berhenti atau permohonan ditutup); "
                            "tidak ada yang diubah")
    if task.status == TaskStatus.DECIDING:
        if _hand_over_again(task):
            raise ConflictError("tugas ini sudah diputuskan; keputusan sebelumnya sekarang sudah diteruskan")
        raise ConflictError("tugas ini sudah diputuskan; keputusannya sedang diteruskan ke alur kerja dan selesai "
                            "otomatis dalam beberapa menit")
    if task.status != TaskStatus.OPEN:
        raise ConflictError("tugas ini sudah diputuskan")
    step = step_modules.module(task.step)
    ctx = StepContext(task=task, app=app, principal=principal, outcome=outcome, note=note, details=details)
    checked = step.validate(ctx)  # the step's own checks, before the claim (nothing changes)
    claim_id = uuid.uuid4().hex
    claimed, token = dynamo.claim_task(task_id, claim_id, outcome, note, principal.user_id, now_utc(), details)
    try:
        effects = _effects(step, replace(ctx, task=claimed, app=dynamo.get_application(task.application_id)),
                           checked, claim_id, credentials)
        extra: dict[str, Any] = {name: checked[name] for name in step.audit if name in checked}
        extra.update(effects.get("audit") or {})  # what the effects settled (e.g. the permit number assigned)
        if principal.acting:
            extra["acting"] = "Plt."  # an acting head decides in their own name, marked as Plt.
        extra.update(sla.actual_vs_standard(claimed, claimed.decided_at or now_utc()))
        entry = timeline.entry(app.application_id, task.step, "decided", task.role, principal.user_id, note,
                               outcome=outcome, task_id=task_id,
                               actor_name=("Plt. " if principal.acting else "") + (principal.name or ""), **extra)
        # the changes, the record of them (a claim is delivered, also after a crash, only once complete) and the
        # decision's audit entry in one write, only while the claim is still this one: the claims sweeper releases a
        # claim left unfinished
        if not dynamo.commit_claim(claimed, effects["changes"], effects, entry):
            raise ConflictError("keputusan ini tidak selesai diproses tepat waktu dan tidak berlaku; tugas dibuka "
                                "kembali, putuskan lagi")
        effects["complete"] = True
    except BaseException:
        _release(claimed, audited=False)  # nothing was changed yet; a no-op once the changes are committed
        raise
    logger.info("timeline", application_id=app.application_id, step=task.step, action="decided", actor_role=task.role)
    published = _deliver(claimed, token, effects)
    logger.info("task decided", application_id=app.application_id, step=task.step, outcome=outcome)
    decided = claimed.model_copy(update={"status": TaskStatus.DECIDED}) if published else dynamo.get_task(task_id)
    return decided, dict(effects.get("audit") or {})


def settled(task_id: str) -> dict[str, Any]:
    """What a decided task's effects settled, as written into its audit entry (e.g. numbering:
    {"number": the permit number assigned, "proposed_number": the one shown when it differs}); {} if nothing."""
    return dict(dynamo.claim_of(task_id)[2].get("audit") or {})


def finish_pending_decisions(application_id: str, step_id: str, token: str,
                             history: list[Task] | None = None) -> Task | None:
    """Finish decisions that were claimed but not finished when a process died (called as a run opens a task).

    A claim for the step the run waits at again was never delivered (or went to a run that died): it is
    delivered to this run's token and published; returns that task (no new task is opened). A claim for
    another step was accepted (the run moved on): it is published. Returns None when nothing waits here.
    `history`: the application's tasks as the caller just listed them (`dynamo.tasks_of_application`)."""
    delivered = None
    pending = dynamo.deciding_tasks_of(application_id, history)
    if pending:
        history = None  # finishing them changes the tasks: the redelivery check below lists them again
    for task, old_token in pending:
        _, _, effects = dynamo.claim_of(task.task_id)
        if not effects.get("complete"):  # died while making effects: nothing was changed or delivered, open it again
            _release(task)
            continue
        if task.step == step_id:
            # taken over first: a claimer still alive (its token is the dead run's) can then neither void it nor
            # undo its changes while this run receives it
            taken = dynamo.take_over_claim(task, uuid.uuid4().hex)
            if taken is None:
                continue  # finished or voided meanwhile by whoever claimed it
            _set_fields(application_id, effects.get("changes") or {})
            _resume(token, taken)
            _publish(taken, effects)
            delivered = taken
        else:
            _publish(task, effects)
        logger.info("pending decision finished", application_id=application_id, step=task.step,
                    same_step=task.step == step_id, had_token=bool(old_token))
    if delivered is None:
        delivered = _redeliver_decided(application_id, step_id, token, history)
    return delivered


_RUN_ENDINGS = frozenset({"failed", "run_ended", "run_continued"})


def _redeliver_decided(application_id: str, step_id: str, token: str,
                       history: list[Task] | None = None) -> Task | None:
    """A run that re-enters the step whose decision it already received (it died before its next step was
    recorded, and was restarted at this step) gets that decision again instead of a second task.

    Recognised by the application's latest task: for this very step, decided. The SOP never opens a step
    again straight after its own decision (a return, a revision or a timeout always opens another task or
    leaves the old one open or cancelled)."""
    ordered = sorted(history if history is not None else dynamo.tasks_of_application(application_id),
                     key=lambda t: t.opened_at)
    latest = ordered[-1] if ordered else None
    if latest is None or latest.step != step_id or latest.status != TaskStatus.DECIDED or not latest.outcome:
        return None
    # a run that consumed the decision and then failed or was ended, and that an operator continued, gets a
    # fresh task: the old decision was acted on already (e.g. the return that reached the returns limit)
    since = latest.decided_at or latest.opened_at
    if any(e.action in _RUN_ENDINGS and e.at >= since for e in dynamo.timeline(application_id)):
        return None
    _resume(token, latest)
    logger.info("decision delivered again to a restarted run", application_id=application_id, step=step_id,
                outcome=latest.outcome)
    return latest


def sign_batch(principal: Principal, task_ids: list[str]) -> list[dict[str, Any]]:
    """The head signs several waiting permits in one action; each is decided (or refused) on its own."""
    if "head" not in principal.roles:
        raise ForbiddenError("hanya Kepala Dinas yang menandatangani", field="role")
    if not isinstance(task_ids, list) or not task_ids or len(task_ids) > 50 or not all(isinstance(t, str) for t in task_ids):
        raise ValidationError("pilih 1 sampai 50 izin", field="task_ids")
    results = []
    for task_id in dict.fromkeys(task_ids):
        try:
            decide(principal, task_id, "signed", None, {})
            results.append({"task_id": task_id, "signed": True})
        except DomainError as exc:
            results.append({"task_id": task_id, "signed": False, "error": exc.message, "status": exc.status})
    return results


def counter_view(principal: Principal, registration_number: str) -> dict[str, Any]:
    """At the counter (SOP 10): who is collecting (masked), whether the SKM is filled, the open pickup task."""
    if "back_office" not in principal.roles:
        raise ForbiddenError("khusus Back Office", field="role")
    # registration numbers are per office: the counter looks only among its own office's applications
    app = dynamo.application_by_registration(registration_number.strip().upper(), principal.office_id or "-")
    contact = identity.contact_of(app.applicant_id)
    phone = contact.get("phone_number", "")
    open_task = dynamo.open_task_of(app.application_id)
    return {
        "registration_number": app.registration_number, "permit_number": app.permit_number,
        "status": app.status.value, "holder": app.holder_name(),
        "applicant_name": contact.get("name"), "nik_masked": contact.get("custom:nik_masked"),
        "phone_masked": phone[:5] + "*" * max(0, len(phone) - 9) + phone[-4:] if phone else None,
        "survey_done": app.survey_done, "print_count": app.print_count,
        "pickup_task_id": open_task[0].task_id if open_task and open_task[0].step == steps.StepId.PICKUP.value else None,
    }


def publish_accepted(application_id: str, outcome: str | None = None) -> None:
    """Publish every complete claim of an application whose run has moved past it (called by the closing
    step with the run's final `outcome`: after the last human step no new task opens to do it). A run that closes
    the application as lapsed got there by a deadline, not a decision: it took none of them, so they are voided
    and their changes undone instead. Idempotent."""
    for task, _token in dynamo.deciding_tasks_of(application_id):
        _, _, effects = dynamo.claim_of(task.task_id)
        if not effects.get("complete"):
            continue
        if outcome == "lapsed":
            _refused(task, effects)
        else:
            _publish(task, effects)


def withdraw_task(principal: Principal, task: Task, reason: str | None) -> None:
    """The applicant withdraws: the open task resolves as `withdrawn` and the run closes the application.

    Claimed like any decision; raises ConflictError if the task is no longer open or the run no longer waits."""
    claim_id = uuid.uuid4().hex
    claimed, token = dynamo.claim_task(task.task_id, claim_id, steps.WITHDRAWN, reason, principal.user_id, now_utc())
    effects: dict[str, Any] = {"changes": {}, "previous": {}}
    entry = timeline.entry(task.application_id, task.step, "withdrawn", steps.Role.APPLICANT.value, principal.user_id,
                           reason)
    # complete at once (nothing to make), with its audit entry: if this call dies, the claims sweeper delivers it
    if not dynamo.commit_claim(claimed, {}, effects, entry):
        raise ConflictError("tugas ini sudah diputuskan")
    _deliver(claimed, token, {**effects, "complete": True})


def queue_view(principal: Principal) -> list[dict[str, Any]]:
    """Open tasks of the officer's office for each of their roles, most urgent first: overdue tasks first,
    then by due time (WIB shown, UTC ISO kept), tasks without an SLA clock last.

    `seconds_left` is the countdown to the due time (negative once overdue)."""
    if not principal.office_id:
        raise ForbiddenError("khusus petugas", field="role")
    now = now_utc()
    rows = []
    queued = [t for role in sorted(principal.roles & {r.value for r in steps.OFFICER_ROLES})
              for t in dynamo.queue(principal.office_id, role)]
    # the whole tasks (due time, SLA) and their applications: one BatchGetItem each, not two reads per row
    found = dynamo.tasks_by_ids([t.task_id for t in queued])
    apps = dynamo.applications_by_ids([t.application_id for t in queued])
    for listed in queued:
        task, app = found.get(listed.task_id), apps.get(listed.application_id)
        if task is None or app is None or task.status != TaskStatus.OPEN:  # decided since the index listed it
            continue
        definition = steps.step(task.step)
        due = task.due_at
        rows.append({
            "task_id": task.task_id, "application_id": task.application_id,
            "registration_number": app.registration_number, "permit_type": app.permit_type,
            "holder": app.holder_name(), "step": task.step, "sop_number": definition.sop_number,
            "title": definition.title, "role": task.role, "opened_at": task.opened_at.isoformat(),
            "waiting_seconds": int((now - task.opened_at).total_seconds()),
            "standard_time": (task.sla or {}).get("standard", definition.standard_time_label),
            "due_at": due.isoformat() if due else None,
            "due_wib": format_datetime_wib(due) if due else None,
            "seconds_left": int((due - now).total_seconds()) if due else None,
            "overdue": bool(due and now >= due),
            "escalated": task.escalated_at is not None,
        })
    rows.sort(key=lambda r: (not r["overdue"], r["due_at"] is None, str(r["due_at"] or ""), str(r["opened_at"])))
    return rows


def task_view(principal: Principal, task_id: str) -> dict[str, Any]:
    """The task and its application for the deciding officer (never the token)."""
    from .. import steps as step_modules
    from ..adapters import storage
    task = dynamo.get_task(task_id)
    app = dynamo.get_application(task.application_id)
    _authorise(principal, task, app)
    definition = step_modules.definition(task.step)
    documents = []
    for requirement_id, doc in app.current_documents().items():
        documents.append({"requirement_id": requirement_id, "filename": doc.filename, "version": doc.version,
                          "pages": doc.pages, "url": storage.upload_url(doc.key, doc.filename)})
    extra = step_modules.module(task.step).view(app, task)
    return {
        "task": task.model_dump(mode="json"),
        "title": definition.title,
        "sop_number": definition.sop_number,
        "outcomes": [o.model_dump() for o in definition.outcomes],
        "application": {
            "application_id": app.application_id, "registration_number": app.registration_number,
            "permit_type": app.permit_type, "status": app.status.value, "form": app.form,
            "permit_number": app.permit_number, "revision_notes": app.revision_notes,
            "survey_done": app.survey_done,
            "signing_unknown_at": app.signing_unknown_at.isoformat() if app.signing_unknown_at else None,
        },
        "documents": documents,
        "timeline": [e.model_dump(mode="json") for e in dynamo.timeline(app.application_id)],
        **extra,
    }
