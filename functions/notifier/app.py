"""Delivers queued notifications (SNS → SQS) as the office's notification plan says, each message once.

A record whose channel failed for now is retried by SQS after a backoff with jitter (its visibility is set
to the delay); after the queue's maxReceiveCount it waits in the dead-letter queue for a redrive."""

import random
from functools import lru_cache

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from silastri.adapters.aws import client
from silastri.adapters.messaging import Notification, TransientChannelError
from silastri.observability import logger, metrics
from silastri.services import notifier
from silastri.settings import get_settings

processor = BatchProcessor(event_type=EventType.SQS)
notifier.check_plans()  # at start: every office's plan names templates that exist and fit


def backoff_seconds(receive_count: int, base: float, rand: random.Random | None = None) -> int:
    """Seconds before the next try after the `receive_count`-th failed receive: exponential (base · 2^(n-1),
    at most 900) with equal jitter (half fixed, half random), whole seconds, at least 1 (SQS visibility)."""
    ceiling = min(900.0, base * 2 ** max(0, receive_count - 1))
    delay = ceiling / 2 + (rand or random).uniform(0, ceiling / 2)
    return max(1, min(900, round(delay)))


@lru_cache(maxsize=8)
def _queue_url(queue_arn: str) -> str:
    _, _, _, _, account, name = queue_arn.split(":", 5)
    return client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def _record(record: SQSRecord) -> None:
    try:
        notifier.deliver(Notification.model_validate_json(record.body))
    except TransientChannelError as exc:
        receives = int(record.attributes.approximate_receive_count or 1)
        delay = max(backoff_seconds(receives, get_settings().notification_retry_base_seconds),
                    min(900, exc.retry_after))
        try:
            client("sqs").change_message_visibility(QueueUrl=_queue_url(record.event_source_arn),
                                                    ReceiptHandle=record.receipt_handle, VisibilityTimeout=delay)
        except Exception:  # the queue's own visibility timeout applies instead
            logger.warning("backoff not set", receives=receives)
        raise


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
