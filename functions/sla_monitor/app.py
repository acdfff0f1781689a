"""Scheduled: rings each SLA alarm once: 80% reminder to the role, breach escalation to the supervising role."""

from silastri.observability import logger
from silastri.services import sla


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return sla.check_clocks()
