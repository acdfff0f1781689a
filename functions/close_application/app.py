"""Close the application: completed, rejected, withdrawn or lapsed."""

from silastri.observability import logger, metrics
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return automated.close_application(automated.CloseEvent.model_validate(event))
