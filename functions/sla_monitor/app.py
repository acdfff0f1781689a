"""Scheduled: rings each SLA alarm once: 80% reminder to the role, breach escalation to the supervising role."""

from silastri.observability import logger, metrics
from silastri.services import sla


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return sla.check_clocks()
