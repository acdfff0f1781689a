"""Applies WhatsApp (End User Messaging Social) and SES delivery status events to the message log."""

import json

from silastri.adapters.sqs_batch import SqsRecord, process_partial_response
from silastri.observability import logger, metrics
from silastri.services import delivery_status


def _record(record: SqsRecord) -> None:
    body = json.loads(record["body"])
    if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
        body = json.loads(body["Message"])  # an SNS envelope (subscription without raw delivery)
    delivery_status.apply(body)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics()
def handler(event, context):
    return process_partial_response(event, _record, logger)
