"""An officer returned the file one step back: count it."""

from silastri.observability import logger
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return automated.record_return(automated.StepEvent.model_validate(event))
