"""SOP 2 — issue the receipt (Tanda Terima)."""

from silastri.observability import logger, metrics
from silastri.services import automated, permits  # noqa: F401  permits (receipt PDF): every invocation, loaded at INIT


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return automated.issue_receipt(automated.StepEvent.model_validate(event))
