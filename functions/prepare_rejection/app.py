"""Draft the rejection letter."""

from silastri.observability import logger, metrics
from silastri.services import automated, permits  # noqa: F401  permits (letter PDF): every invocation, loaded at INIT


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return automated.prepare_rejection(automated.StepEvent.model_validate(event))
