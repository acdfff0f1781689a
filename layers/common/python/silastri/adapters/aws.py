"""Cached boto3 clients (one per service per process). Endpoints come from the standard AWS
configuration (AWS_ENDPOINT_URL points them at the local runtime on a developer machine)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config


@cache
def client(service: str) -> Any:
    return boto3.session.Session().client(service, config=Config(retries={"mode": "standard", "max_attempts": 3}))
