"""SOP 7–8 — draft the permit decree with number and QR code."""

from silastri.observability import logger, metrics
from silastri.services import automated


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return automated.render_permit(automated.StepEvent.model_validate(event))
