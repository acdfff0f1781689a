"""SOP 2 (incomplete) — revision round, deadline, notes to the applicant."""

from silastri.observability import logger
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return automated.request_revision(automated.StepEvent.model_validate(event))
