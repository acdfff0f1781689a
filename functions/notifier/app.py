"""Delivers queued notifications (SNS → SQS) to WhatsApp and e-mail; failed records are retried by SQS."""

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from silastri.adapters.messaging import Notification
from silastri.observability import logger, metrics
from silastri.services import notifier

processor = BatchProcessor(event_type=EventType.SQS)


def _record(record: SQSRecord) -> None:
    notifier.deliver(Notification.model_validate_json(record.body))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
