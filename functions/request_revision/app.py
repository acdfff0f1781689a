"""SOP 2 (incomplete) — revision round, deadline, notes to the applicant."""

from silastri.observability import logger, metrics
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return automated.request_revision(automated.StepEvent.model_validate(event))
