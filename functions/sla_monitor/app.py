"""Scheduled: reminds the role's officers of open tasks past the SOP standard time (once per task)."""

from silastri.observability import logger, metrics
from silastri.services import sla


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return {"reminded": sla.remind_overdue()}
