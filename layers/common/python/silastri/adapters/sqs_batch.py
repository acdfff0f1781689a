"""SQS partial batch responses for queue-fed functions (Lambda's `ReportBatchItemFailures`).

Each record is handled on its own; a record whose handler raised is reported in `batchItemFailures` and SQS
gives it back after its visibility timeout (the others are deleted). When every record failed the invocation
itself fails, as Powertools' BatchProcessor does by default, so the whole batch is retried and the failure is
visible as a function error.

Why not Powertools' batch utility (the project uses Powertools Logger and Metrics): importing it loads asyncio
(for its async processor) and every Powertools event data class, ~75 ms of CPU per cold start, 0.57× a bare
`import boto3` (issue 12, `bench_speed.cold_import_ratios`), for what is a loop over the records here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: An SQS record as Lambda delivers it: messageId, receiptHandle, body, attributes, eventSourceARN, …
SqsRecord = Mapping[str, Any]


class BatchFailed(RuntimeError):
    """Every record of the batch failed: the invocation fails and SQS retries the whole batch."""


def process_partial_response(event: Mapping[str, Any], record_handler: Callable[[SqsRecord], Any],
                             logger: Any = None) -> dict[str, list[dict[str, str]]]:
    """Run `record_handler` on each record of an SQS `event`: {"batchItemFailures": [{"itemIdentifier": id}]}
    for the records whose handler raised (by messageId, in the batch's order).

    `logger` (a Powertools Logger, optional) gets one warning per failed record with the exception's class
    name only (messages can carry personal data). Raises BatchFailed (from the first error) when every
    record of a non-empty batch failed."""
    records = event.get("Records") or []
    failures: list[dict[str, str]] = []
    first: BaseException | None = None
    for record in records:
        try:
            record_handler(record)
        except Exception as exc:
            first = first or exc
            failures.append({"itemIdentifier": record["messageId"]})
            if logger is not None:
                logger.warning("record failed", message_id=record["messageId"], error=exc.__class__.__name__)
    if records and len(failures) == len(records):
        raise BatchFailed(f"all {len(records)} records failed") from first
    return {"batchItemFailures": failures}
