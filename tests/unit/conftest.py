"""Unit tests: no network. `unit_env` gives a module the settings a function would have on Lambda."""

from __future__ import annotations

import sys
from pathlib import Path

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
