"""Reconcile a run that ended (EventBridge: Step Functions Execution Status Change — FAILED, TIMED_OUT, ABORTED)."""

from silastri.observability import logger, metrics
from silastri.services import runs


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    """Close the ended run's open tasks and show the application's state (see `silastri.services.runs`)."""
    return runs.reconcile(runs.RunEnded.model_validate(event["detail"]))
