"""Applies WhatsApp (End User Messaging Social) and SES delivery status events to the message log."""

import json

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from silastri.observability import logger, metrics
from silastri.services import delivery_status

processor = BatchProcessor(event_type=EventType.SQS)


def _record(record: SQSRecord) -> None:
    body = json.loads(record.body)
    if isinstance(body, dict) and body.get("Type") == "Notification" and "Message" in body:
        body = json.loads(body["Message"])  # an SNS envelope (subscription without raw delivery)
    delivery_status.apply(body)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics()
def handler(event, context):
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
