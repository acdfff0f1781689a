"""Payment stage — the permit type's fixed retribution is recorded as the assessment."""

from silastri.observability import logger, metrics
from silastri.services import automated, payments


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return payments.record_fixed_assessment(automated.StepEvent.model_validate(event))
