"""Scheduled: reminds the role's officers of open tasks past the SOP standard time (once per task)."""

from silastri.observability import logger
from silastri.services import sla


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    return {"reminded": sla.remind_overdue()}
