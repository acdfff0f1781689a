"""Unit tests: no network. `unit_env` gives a module the settings a function would have on Lambda."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from silastri.settings import get_settings

# the API function's own package (`chalicelib`: page helpers, SVG charts), as Lambda has it on its path
API_ROOT = str(Path(__file__).resolve().parents[2] / "functions" / "api")
if API_ROOT not in sys.path:
    sys.path.append(API_ROOT)

#: Every required setting, with placeholder values (unit tests never reach AWS).
UNIT_ENV = {
    "APPLICATIONS_TABLE": "a", "UPLOADS_TABLE": "u", "TASKS_TABLE": "t", "EVENTS_TABLE": "e", "COUNTERS_TABLE": "c", "PERMITS_TABLE": "p",
    "SURVEYS_TABLE": "s", "CODES_TABLE": "k", "IDEMPOTENCY_TABLE": "i", "MESSAGES_TABLE": "m", "UPLOADS_BUCKET": "u", "DOCUMENTS_BUCKET": "d",
    "NOTIFICATIONS_TOPIC_ARN": "arn:aws:sns:ap-southeast-3:1:x", "USER_POOL_ID": "p", "USER_POOL_CLIENT_ID": "c",
    "COGNITO_JWKS_URL": "http://127.0.0.1/jwks", "COGNITO_ISSUER": "i", "PUBLIC_BASE_URL": "https://silastri.example",
    "APP_SECRET_KEY": "x" * 64, "DATA_DIR": "/tmp/silastri-unit",
}


@pytest.fixture
def unit_env(monkeypatch):
    """Call it (with overrides, e.g. CODES_TABLE="codes") to set the settings; the settings cache is cleared
    before and after the test."""

    def apply(**overrides: str) -> None:
        for key, value in {**UNIT_ENV, **overrides}.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()

    yield apply
    get_settings.cache_clear()


@pytest.fixture
def template_tables(monkeypatch, unit_env) -> Iterator[Callable[..., None]]:
    """An in-process DynamoDB (moto) for the test: call it with {template resource: table name} (e.g.
    `MessagesTable="silastri-unit-messages"`) and the settings' table names (e.g. `MESSAGES_TABLE=...`) to create
    those tables as template.yaml declares them and bind the models to them.

    DynamoDB applies each request atomically; moto in-process does not promise it across threads, so each request
    is serialised here, as in the local runtime. Conditional writes from different threads still race exactly as
    separate requests do on DynamoDB."""
    import boto3
    from moto import mock_aws
    from moto.dynamodb.responses import DynamoHandler
    from silastri.adapters import dynamo
    from silastri_local import template as tpl

    lock, call_action = threading.Lock(), DynamoHandler.call_action

    def atomic(self: Any) -> Any:
        with lock:
            return call_action(self)

    monkeypatch.setattr(DynamoHandler, "call_action", atomic)
    for key, value in {"AWS_DEFAULT_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)

    def create(tables: dict[str, str], **settings: str) -> None:
        unit_env(**settings)
        resources = tpl.load_template()["Resources"]
        client = boto3.client("dynamodb", region_name=REGION)
        for resource, name in tables.items():
            props = resources[resource]["Properties"]
            client.create_table(TableName=name, BillingMode=props["BillingMode"],
                                AttributeDefinitions=props["AttributeDefinitions"], KeySchema=props["KeySchema"],
                                **({"GlobalSecondaryIndexes": props["GlobalSecondaryIndexes"]}
                                   if props.get("GlobalSecondaryIndexes") else {}))
        dynamo._BOUND_TO = None  # bind the models (new connections) inside this mock

    with mock_aws():
        yield create
    dynamo._BOUND_TO = None  # and afresh for whoever uses them next


REGION = "ap-southeast-3"
