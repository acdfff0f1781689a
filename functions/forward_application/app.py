"""SOP 3 — forward to the technical team, or (SIP) to the verifier."""

from silastri.observability import logger, metrics
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return automated.forward_application(automated.StepEvent.model_validate(event))
