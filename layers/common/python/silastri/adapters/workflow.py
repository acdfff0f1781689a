"""Step Functions: start a run named after the registration number, resume a waiting task."""

from __future__ import annotations

import json
from typing import Any

from ..domain.errors import ConflictError
from ..settings import get_settings
from .aws import client


def start_run(name: str, payload: dict[str, Any]) -> str:
    """Start a run; a second start with the same name and input is a no-op (as on AWS)."""
    arn = get_settings().state_machine_arn
    if not arn:
        raise RuntimeError("STATE_MACHINE_ARN is not configured for this function")
    sfn = client("stepfunctions")
    try:
        return sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(payload))["executionArn"]
    except sfn.exceptions.ExecutionAlreadyExists:
        return f"{arn.replace(':stateMachine:', ':execution:')}:{name}"


def resume(task_token: str, output: dict[str, Any], error: str | None = None) -> None:
    """Hand a human decision to the waiting run: SendTaskSuccess with `output`, or, with `error` (a decision
    that leaves the normal path, e.g. "Keputusan.Kembalikan"), SendTaskFailure with that error and `output`
    as its JSON cause (caught on the wait state). Raises ConflictError if the run no longer waits."""
    sfn = client("stepfunctions")
    try:
        if error is None:
            sfn.send_task_success(taskToken=task_token, output=json.dumps(output))
        else:
            sfn.send_task_failure(taskToken=task_token, error=error, cause=json.dumps(output))
    except (sfn.exceptions.TaskDoesNotExist, sfn.exceptions.TaskTimedOut, sfn.exceptions.InvalidToken) as exc:
        raise ConflictError("the workflow is no longer waiting for this task") from exc


def run_status(execution_name: str) -> str | None:
    """The status of this state machine's run `execution_name` (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED),
    None when it is unknown (no such run, or no state machine configured for this function)."""
    arn = get_settings().state_machine_arn
    if not arn or not execution_name:
        return None
    sfn = client("stepfunctions")
    try:
        return str(sfn.describe_execution(executionArn=f"{arn.replace(':stateMachine:', ':execution:')}:{execution_name}")
                   ["status"])
    except sfn.exceptions.ExecutionDoesNotExist:
        return None
