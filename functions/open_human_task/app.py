"""Opens a human task: the task token is stored server-side only; the task enters its role's queue."""

from pydantic import BaseModel
from silastri import steps  # noqa: F401  the step modules: every invocation (tasks.open_human_task), loaded at INIT
from silastri.observability import logger, metrics
from silastri.services import tasks


class OpenTaskEvent(BaseModel):
    task_token: str
    application_id: str
    office_id: str
    step: str
    state: str
    execution_name: str


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    request = OpenTaskEvent.model_validate(event)
    task = tasks.open_human_task(request.application_id, request.office_id, request.step, request.state,
                                 request.task_token, request.execution_name)
    return {"task_id": task.task_id}
