"""One place for Powertools Logger and Metrics. Never log personal data (NIK, phone) or task tokens."""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="silastri")
metrics = Metrics(namespace="SILASTRI", service="silastri")

# pyHanko logs tracebacks at ERROR for every tampered or untrusted PDF it is asked to verify; the
# verification result already says so, and the public verification page must not flood the logs.
logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
