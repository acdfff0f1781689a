"""Close the application: completed, rejected, withdrawn or lapsed."""

from silastri.observability import logger
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return automated.close_application(automated.CloseEvent.model_validate(event))
