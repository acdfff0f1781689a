"""SOP 1 — record the submission and notify the applicant."""

from silastri.observability import logger, metrics
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return automated.record_submission(automated.StepEvent.model_validate(event))
