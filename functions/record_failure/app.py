"""Record a failed run on the application."""

from silastri.observability import logger
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return automated.record_failure(automated.FailureEvent.model_validate(event))
