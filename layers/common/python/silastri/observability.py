"""One place for Powertools Logger and Metrics. Never log personal data (NIK, phone) or task tokens.

Metrics are CloudWatch EMF documents printed to the function's log (namespace SILASTRI). The service's
counters (`count`) are emitted as their own document at the moment the event happens, under two dimension
sets: `service` (the totals the alarms watch) and `service` + the event's own dimensions (the breakdown the
dashboard shows). One document per event because events of one invocation differ in their dimensions (a
notifier batch fails on several channels, the SLA monitor finds breaches on several steps) and an EMF
document has one set of dimension values. The shared `metrics` object carries what is per invocation
(ColdStart) and is flushed by the handlers: `@metrics.log_metrics` on Lambda handlers, `flush_metrics()`
after every request of the API function (a Chalice app has no per-invocation decorator).
"""

from __future__ import annotations

import logging
import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

NAMESPACE = "SILASTRI"
SERVICE = "silastri"

# The counters, by name (template.yaml's alarms and dashboard use the same names).
APPLICATIONS_SUBMITTED = "ApplicationsSubmitted"  # permit_type
APPLICATIONS_DECIDED = "ApplicationsDecided"  # permit_type, outcome (completed | rejected)
SLA_BREACHES = "SlaBreaches"  # step
DECISIONS_REFUSED = "DecisionsRefused"  # step: the run no longer waited for the decision
NOTIFICATIONS_FAILED = "NotificationsFailed"  # channel, kind: a delivery attempt failed (the queue retries it)
DECISIONS_RECOVERED = "DecisionsRecovered"  # step, result (delivered | released): a claim a dead process left
DECISIONS_STUCK = "DecisionsStuck"  # step: a claim left deciding that the sweeper could not settle (an operator looks)

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# A handler invocation that counted nothing in the shared set is normal here (counters go out on their own).
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# pyHanko logs tracebacks at ERROR for every tampered or untrusted PDF it is asked to verify; the
# verification result already says so, and the public verification page must not flood the logs.
logging.getLogger("pyhanko").setLevel(logging.CRITICAL)


def count(name: str, value: float = 1, **dimensions: str) -> None:
    """Emit one counter now as an EMF document: the total (dimension `service`) and, when `dimensions` are
    given, the breakdown (`service` plus those dimensions). Dimension values must carry no personal data.

    Parameters: name — one of the counter names above; value — how many; dimensions — e.g. step="approval".
    Never raises for a metrics problem: counting must not fail the operation it counts."""
    try:
        document = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        document.add_metric(name=name, unit=MetricUnit.Count, value=value)
        clean = {key: str(val) for key, val in dimensions.items() if val}
        if clean:
            document.add_dimensions(service=SERVICE, **clean)
        document.flush_metrics()
    except Exception as exc:  # a metric that cannot be written is logged, the caller carries on
        logger.warning("metric not emitted", metric=name, error=exc.__class__.__name__)


def flush_request_metrics() -> None:
    """Flush the shared metrics after one API request (the Chalice app's equivalent of `log_metrics`)."""
    if metrics.provider.metric_set:
        metrics.flush_metrics()
