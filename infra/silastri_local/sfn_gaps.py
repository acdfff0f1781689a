"""Step Functions behaviour moto's interpreter lacks and the product relies on: a stopped run stops waiting.

On AWS, StopExecution ends a run at once, also while it waits on a task token, and a later
SendTaskSuccess for that token is refused (TaskDoesNotExist / InvalidToken). moto 5.2.5 only sets a
stop flag that a `.waitForTaskToken` wait never looks at: the run stays RUNNING and still accepts the
token. `install()` wraps the interpreter's `Execution.stop` so that it also wakes the run's callback
waits (as `LocalAws.abort_running_executions` does), after which the token is refused. Woken that way the
interpreter reports the run FAILED (States.Timeout); the run was stopped, so its status is reported ABORTED
with the stop's error and cause, as on AWS (the reconciliation of ended runs tells the two apart).

The `states:startExecution` service integration (a run starting another, e.g. to continue as a new
execution) passes the ASL's parameter names (`StateMachineArn`, `Name`, `Input`) to a botocore client as
they are; the API's members are `stateMachineArn`, `name`, `input`, and with parameter validation off
botocore drops the unknown ones, so the call fails (`States.Runtime: 'StateMachineArn'`). AWS maps them.
`install()` also maps them, and gives the integration's result as AWS does (`ExecutionArn`, `StartDate`
as text): moto kept botocore's datetime there, which later broke DescribeExecution of the calling run (500).

SendTaskFailure's `cause` is dropped by moto's API layer (it passes the error only), so a Catch's ResultPath
saw `Cause: null`; AWS keeps it. And moto accepted SendTaskFailure for the token of a stopped run (it looks
through every run, SendTaskSuccess through the running ones only); AWS refuses it. The workflow resumes decisions that leave the normal path with a named error
and the decision's JSON as the cause (adapters.workflow.resume): `install()` passes the cause on.

A wait on a task token that ended (its decision taken, timed out, or interrupted) left its token open in moto:
a SendTaskSuccess for it was still accepted while the run went on in later states (e.g. closing the application
as lapsed after the revision wait timed out), and again after it was used. AWS refuses a spent token
(TaskTimedOut / TaskDoesNotExist). `install()` closes each callback token once its state is over.

Pinned by tests/contract/test_sfn_gaps.py.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["install", "installed"]

_LOCK = threading.Lock()
_ORIGINAL: dict[str, Any] = {}


def _stop_and_wake(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
    self.silastri_stopped = (error or None, cause or None)
    _ORIGINAL["stop"](self, stop_date=stop_date, error=error, cause=cause)
    worker = getattr(self, "exec_worker", None)
    if worker is not None:
        for endpoint in list(worker.env.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()


def _reflect_stopped(self: Any) -> None:
    _ORIGINAL["reflect"](self)
    stopped = getattr(self.execution, "silastri_stopped", None)
    if stopped is not None:
        from moto.stepfunctions.parser.api import ExecutionStatus

        self.execution.exec_status = ExecutionStatus.ABORTED
        self.execution.error, self.execution.cause = stopped


_START_EXECUTION_MEMBERS = {"StateMachineArn": "stateMachineArn", "Name": "name", "Input": "input",
                            "TraceHeader": "traceHeader"}


def _normalise_sfn_parameters(self: Any, parameters: dict[str, Any], boto_service_name: str | None = None,
                              service_action_name: str | None = None) -> None:
    _ORIGINAL["sfn_normalise"](self, parameters, boto_service_name=boto_service_name,
                               service_action_name=service_action_name)
    if service_action_name is None and self._get_boto_service_action() == "start_execution":
        for asl_name, member in _START_EXECUTION_MEMBERS.items():
            if asl_name in parameters:
                parameters[member] = parameters.pop(asl_name)


def _normalise_sfn_response(self: Any, response: Any, boto_service_name: str | None = None,
                            service_action_name: str | None = None) -> None:
    import datetime

    _ORIGINAL["sfn_response"](self, response, boto_service_name=boto_service_name,
                              service_action_name=service_action_name)
    if isinstance(response, dict) and (service_action_name or self._get_boto_service_action()) == "start_execution":
        for key in list(response):
            value = response.pop(key)
            response[key[:1].upper() + key[1:]] = (value.isoformat() if isinstance(value, datetime.datetime)
                                                   else value)


def _send_task_failure_with_cause(self: Any) -> Any:
    """moto's backend `send_task_failure`, with the cause kept and, as `send_task_success` and AWS do, only for a
    RUNNING run's token: moto looked through every run, so a stopped run's token was accepted (200) and a decision
    the run never took was published."""
    from moto.core.responses import EmptyResult
    from moto.stepfunctions.parser.api import ExecutionStatus, InvalidToken, TaskDoesNotExist, TaskTimedOut
    from moto.stepfunctions.parser.asl.eval.callback.callback import (
        CallbackConsumerTimeout,
        CallbackNotifyConsumerError,
        CallbackOutcomeFailure,
    )

    token = self._get_param("taskToken")
    outcome = CallbackOutcomeFailure(callback_id=token, error=self._get_param("error"), cause=self._get_param("cause"))
    for execution in self.stepfunction_backend._get_executions(ExecutionStatus.RUNNING):
        try:
            if execution.exec_worker.env.callback_pool_manager.notify(callback_id=token, outcome=outcome):
                return EmptyResult()
        except CallbackNotifyConsumerError as consumer_error:
            if isinstance(consumer_error, CallbackConsumerTimeout):
                raise TaskTimedOut("Task Timed Out") from consumer_error
            raise TaskDoesNotExist("Task does not exist") from consumer_error
    raise InvalidToken()


def install() -> None:
    """Patch moto's Step Functions interpreter (idempotent, process-wide)."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution
    from moto.stepfunctions.responses import StepFunctionResponse

    with _LOCK:
        if "task_failure" not in _ORIGINAL:
            _ORIGINAL["task_failure"] = StepFunctionResponse.send_task_failure
            StepFunctionResponse.send_task_failure = _send_task_failure_with_cause  # type: ignore[method-assign]
        if "sfn_normalise" not in _ORIGINAL:
            _ORIGINAL["sfn_normalise"] = StateTaskServiceSfn._normalise_parameters
            StateTaskServiceSfn._normalise_parameters = _normalise_sfn_parameters  # type: ignore[method-assign]
            _ORIGINAL["sfn_response"] = StateTaskServiceSfn._normalise_response
            StateTaskServiceSfn._normalise_response = _normalise_sfn_response  # type: ignore[method-assign]
        if "callback_eval" not in _ORIGINAL:
            _ORIGINAL["callback_eval"] = StateTaskServiceCallback._eval_body
            StateTaskServiceCallback._eval_body = _close_spent_tokens  # type: ignore[method-assign]
        if "stop" not in _ORIGINAL:
            _ORIGINAL["stop"] = Execution.stop
            Execution.stop = _stop_and_wake  # type: ignore[method-assign]
            _ORIGINAL["reflect"] = BaseExecutionWorkerCommunication._reflect_execution_status
            BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_stopped  # type: ignore[method-assign]


def _close_spent_tokens(self: Any, env: Any) -> None:
    pool = env.callback_pool_manager
    before = set(pool._pool)
    try:
        _ORIGINAL["callback_eval"](self, env)
    finally:
        # the token this state waited on is spent, whichever way the state ended: out of the pool, a later
        # SendTaskSuccess/Failure for it is answered InvalidToken (moto's own consumer-error path answers 500)
        for token in set(pool._pool) - before:
            pool._pool.pop(token, None)


def installed() -> bool:
    return ("stop" in _ORIGINAL and "sfn_normalise" in _ORIGINAL and "task_failure" in _ORIGINAL
            and "callback_eval" in _ORIGINAL)
