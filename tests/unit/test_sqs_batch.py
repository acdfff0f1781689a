"""adapters.sqs_batch: Lambda's partial batch response for SQS (ReportBatchItemFailures)."""

import pytest
from silastri.adapters.sqs_batch import BatchFailed, process_partial_response


def records(*ids: str) -> dict:
    return {"Records": [{"messageId": i, "receiptHandle": f"r-{i}", "body": i} for i in ids]}


def handler_failing(*bad: str):
    seen: list[str] = []

    def handle(record) -> None:
        seen.append(record["body"])
        if record["body"] in bad:
            raise ConnectionError("channel down")

    return handle, seen


def test_only_the_failed_records_are_reported_and_every_record_is_tried():
    handle, seen = handler_failing("b", "d")
    assert process_partial_response(records("a", "b", "c", "d"), handle) == {
        "batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "d"}]}
    assert seen == ["a", "b", "c", "d"]


def test_a_batch_that_all_failed_fails_the_invocation_with_the_first_error_as_cause():
    handle, seen = handler_failing("a", "b")
    with pytest.raises(BatchFailed) as raised:
        process_partial_response(records("a", "b"), handle)
    assert isinstance(raised.value.__cause__, ConnectionError) and seen == ["a", "b"]


def test_an_empty_or_all_good_batch_reports_nothing():
    handle, _ = handler_failing()
    assert process_partial_response({"Records": []}, handle) == {"batchItemFailures": []}
    assert process_partial_response(records("a"), handle) == {"batchItemFailures": []}
