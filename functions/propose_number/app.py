"""SOP 7 — propose the next permit number."""

from silastri.observability import logger
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return automated.propose_number(automated.StepEvent.model_validate(event))
