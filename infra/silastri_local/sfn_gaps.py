"""Step Functions behaviour moto's interpreter lacks and the product relies on: a stopped run stops waiting.

On AWS, StopExecution ends a run at once, also while it waits on a task token, and a later
SendTaskSuccess for that token is refused (TaskDoesNotExist / InvalidToken). moto 5.2.5 only sets a
stop flag that a `.waitForTaskToken` wait never looks at: the run stays RUNNING and still accepts the
token. `install()` wraps the interpreter's `Execution.stop` so that it also wakes the run's callback
waits (as `LocalAws.abort_running_executions` does), after which the token is refused. Woken that way the
interpreter reports the run FAILED (States.Timeout); the run was stopped, so its status is reported ABORTED
with the stop's error and cause, as on AWS (the reconciliation of ended runs tells the two apart).
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


def install() -> None:
    """Patch moto's Step Functions interpreter (idempotent, process-wide)."""
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution

    with _LOCK:
        if "stop" not in _ORIGINAL:
            _ORIGINAL["stop"] = Execution.stop
            Execution.stop = _stop_and_wake  # type: ignore[method-assign]
            _ORIGINAL["reflect"] = BaseExecutionWorkerCommunication._reflect_execution_status
            BaseExecutionWorkerCommunication._reflect_execution_status = _reflect_stopped  # type: ignore[method-assign]


def installed() -> bool:
    return "stop" in _ORIGINAL
