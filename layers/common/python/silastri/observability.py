"""One place for Powertools Logger and Metrics. Never log personal data (NIK, phone) or task tokens."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="silastri")
metrics = Metrics(namespace="SILASTRI", service="silastri")
