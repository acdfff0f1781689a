"""SOP 1 — record the submission and notify the applicant."""

from silastri.observability import logger
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return automated.record_submission(automated.StepEvent.model_validate(event))
