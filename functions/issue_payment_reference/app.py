"""Payment stage — the payment reference (virtual account / QRIS) is issued and the applicant told."""

from silastri.observability import logger, metrics
from silastri.services import automated, payments


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return payments.issue_payment_reference(automated.StepEvent.model_validate(event))
