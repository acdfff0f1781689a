"""Runs that end are reconciled (DESIGN, "Runs are reconciled").

A run that fails, times out or is aborted (StopExecution, or ended by AWS at the 365-day limit) is reported by
EventBridge ("Step Functions Execution Status Change"; locally the runtime plays that rule): its open tasks
close, the application shows why it is not moving, and an operator continues it later in a NEW execution that
enters the workflow at the step the application had reached (the ASL's resume entry)."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from ..adapters import dynamo, workflow
from ..adapters.aws import client
from ..domain.catalog import default_catalog
from ..domain.clock import now_utc
from ..domain.errors import ConflictError
from ..domain.models import OPEN_STATUSES, Application, ApplicationStatus
from ..domain.numbering import first_run_name
from ..observability import logger
from . import timeline
from .automated import MAX_RETURNS

ENDED = ("FAILED", "TIMED_OUT", "ABORTED")  # the statuses the EventBridge rule forwards
STUCK = (ApplicationStatus.FAILED, ApplicationStatus.STOPPED)
_WHY = {
    "FAILED": "Alur kerja gagal",
    "TIMED_OUT": "Alur kerja melewati batas waktu",
    "ABORTED": "Alur kerja dihentikan",
}


class RunEnded(BaseModel):
    """The `detail` of a Step Functions "Execution Status Change" event (the fields used here)."""

    executionArn: str  # noqa: N815 - AWS's field names
    stateMachineArn: str  # noqa: N815
    name: str
    status: str
    input: str | None = None
    error: str | None = None
    stopDate: int | None = None  # noqa: N815 - epoch milliseconds


def _application_of(run: RunEnded) -> Application | None:
    """The application a run belongs to: from its input (ids only), else from its name (`<office>-<registration>`,
    optionally with a continuation suffix)."""
    try:
        application_id = json.loads(run.input or "{}").get("application_id")
    except ValueError:
        application_id = None
    try:
        if application_id:
            return dynamo.get_application(str(application_id))
        registration = re.sub(r"-(r\d+|c[0-9a-f-]{36})$", "", run.name)
        for office_id in default_catalog().offices:
            if registration.startswith(office_id + "-"):
                return dynamo.application_by_registration(registration.removeprefix(office_id + "-"), office_id)
        return None
    except Exception:  # noqa: BLE001 - a run of no known application: nothing to reconcile
        return None


def _is_running(state_machine_arn: str, name: str | None) -> bool:
    if not name:
        return False
    arn = state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name
    sfn = client("stepfunctions")
    try:
        return str(sfn.describe_execution(executionArn=arn)["status"]) == "RUNNING"
    except sfn.exceptions.ExecutionDoesNotExist:
        return False


def reconcile(run: RunEnded) -> dict[str, Any]:
    """Close the open tasks of an ended run's application and show its state. Idempotent.

    Ignored (returns `{"reconciled": False}`) when the status is not an ending one, the application is
    closed, or the application has moved on to another run that is still running (an old run ended)."""
    if run.status not in ENDED:
        return {"reconciled": False, "reason": "status"}
    app = _application_of(run)
    if app is None:
        return {"reconciled": False, "reason": "unknown application"}
    if app.status not in OPEN_STATUSES and app.status not in STUCK:
        return {"reconciled": False, "reason": "closed"}
    if app.execution_name != run.name and _is_running(run.stateMachineArn, app.execution_name):
        return {"reconciled": False, "reason": "superseded"}
    dynamo.cancel_open_tasks(app.application_id)
    ended_at = datetime.fromtimestamp(run.stopDate / 1000, tz=now_utc().tzinfo) if run.stopDate else now_utc()
    already = app.run_ended is not None and app.status in STUCK

    def change(target: Application) -> None:
        if target.status in OPEN_STATUSES:
            target.halted_status = target.status
            target.status = ApplicationStatus.STOPPED if run.status != "FAILED" else ApplicationStatus.FAILED
        target.run_ended = run.status
        target.run_ended_at = ended_at

    app, _ = dynamo.update_application(app.application_id, change)
    if not already:
        timeline.record(app.application_id, app.current_step or "workflow", "run_ended", "system",
                        note=f"{_WHY[run.status]}; tugas yang terbuka ditutup. Operator dapat melanjutkan dari "
                             f"tahap terakhir.", run_status=run.status, error=(run.error or "")[:100])
    logger.warning("run ended and reconciled", application_id=app.application_id, run_status=run.status,
                   resume_at=app.resume_at)
    return {"reconciled": True, "application_id": app.application_id, "status": app.status.value,
            "resume_at": app.resume_at}


def stuck() -> list[Application]:
    """Applications waiting for an operator: their run failed or was ended (operator tool: scans)."""
    return sorted((a for a in dynamo.all_applications() if a.status in STUCK),
                  key=lambda a: a.registration_number or "")


def new_run_name(office_id: str, registration_number: str) -> str:
    """A fresh execution name for an operator's continuation (names stay taken for 90 days after a run closes):
    `<office>-<registration>-r<n>`."""
    return f"{first_run_name(office_id, registration_number)}-r{int(time.time() * 1000) % 10**10}"


def run_payload(app: Application) -> dict[str, Any]:
    """The input of a run entering the workflow at the step the application had reached."""
    from .applications import workflow_input

    payload = workflow_input(app)
    if app.resume_at:
        payload["resume_at"] = app.resume_at
    if app.resume_at == "AwaitRevision" and app.revision_deadline:
        payload["revision"] = {"round": app.revision_round, "limit_reached": False,
                               "timeout_seconds": max(1, int((app.revision_deadline - now_utc()).total_seconds()))}
    return payload


def continue_run(registration_number: str, operator: str, office_id: str | None = None) -> dict[str, Any]:
    """Continue a stuck application in a new execution at its `resume_at`; the step's task opens again.
    `office_id` is needed only when two offices hold the registration number.

    Raises ConflictError when the application is not waiting for an operator, NotFoundError/ValidationError
    as `dynamo.application_by_registration`."""
    app = dynamo.application_by_registration(registration_number.strip().upper(), office_id)
    if app.status not in STUCK:
        raise ConflictError(f"permohonan {app.registration_number} tidak sedang terhenti "
                            f"(status: {app.status.value})")
    assert app.registration_number
    name = new_run_name(app.office_id, app.registration_number)

    def change(target: Application) -> None:
        if target.status not in STUCK:
            raise ConflictError("permohonan ini sudah dilanjutkan")
        target.status = target.halted_status or (
            ApplicationStatus.AWAITING_REVISION if target.resume_at == "AwaitRevision"
            else ApplicationStatus.ISSUED if target.permit_key else ApplicationStatus.IN_PROGRESS)
        target.halted_status = None
        target.run_ended = None
        target.run_ended_at = None
        if target.return_count > MAX_RETURNS:  # it stopped at the returns limit: the operator's look resets it
            target.return_count = 0
        target.execution_name = name

    app, _ = dynamo.update_application(app.application_id, change)
    timeline.record(app.application_id, app.current_step or "workflow", "run_continued", "operator", None,
                    f"Dilanjutkan oleh operator {operator[:60]} dari tahap {app.resume_at or 'awal'}.", execution=name)
    workflow.start_run(name, run_payload(app))
    logger.info("run continued", application_id=app.application_id, execution=name, resume_at=app.resume_at)
    return {"registration_number": app.registration_number, "execution_name": name, "resume_at": app.resume_at,
            "status": app.status.value}
