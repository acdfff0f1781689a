"""Close the application: completed, rejected, withdrawn or lapsed."""

from silastri.observability import logger, metrics
from silastri.services import automated, tasks  # noqa: F401  tasks: used by every invocation, loaded at INIT


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return automated.close_application(automated.CloseEvent.model_validate(event))
