"""Scheduled: settles decisions left deciding by a process that died between the claim and its hand-over
(released when their effects were not all made, else handed over to the run again; see tasks.recover_stale_claims)."""

from silastri.observability import logger, metrics
from silastri.services import tasks


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event, context):
    return tasks.recover_stale_claims()
