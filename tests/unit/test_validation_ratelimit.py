"""Rate limits (services/ratelimit.py over adapters/limits.py) against an in-process DynamoDB (moto): the
conditional increment never lets more than the limit through, even in parallel; successes give their hits back;
a refused attempt keeps nothing and says how long to wait."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler
from silastri.adapters import dynamo
from silastri.domain.errors import TooManyRequestsError
from silastri.services import ratelimit
from silastri.settings import get_settings

ENV = {
    "APPLICATIONS_TABLE": "a", "UPLOADS_TABLE": "u", "TASKS_TABLE": "t", "EVENTS_TABLE": "e", "COUNTERS_TABLE": "c", "PERMITS_TABLE": "p",
    "SURVEYS_TABLE": "s", "CODES_TABLE": "codes", "IDEMPOTENCY_TABLE": "i", "MESSAGES_TABLE": "m", "UPLOADS_BUCKET": "u",
    "DOCUMENTS_BUCKET": "d", "NOTIFICATIONS_TOPIC_ARN": "arn:aws:sns:ap-southeast-3:1:x", "USER_POOL_ID": "p",
    "USER_POOL_CLIENT_ID": "c", "COGNITO_JWKS_URL": "http://127.0.0.1/jwks", "COGNITO_ISSUER": "i",
    "PUBLIC_BASE_URL": "https://silastri.example", "APP_SECRET_KEY": "x" * 64, "DATA_DIR": "/tmp/silastri-unit",
}

POLICY = ratelimit.Policy("uji", 5, 900, "terlalu banyak percobaan; coba lagi dalam {minutes} menit", "email")
OTHER = ratelimit.Policy("uji-alamat", 8, 900, "terlalu banyak dari alamat Anda; coba lagi dalam {minutes} menit")
NOW = 1_800_000_100.0  # 100 s into a 900-s window


@pytest.fixture(autouse=True)
def dynamodb(monkeypatch):
    # DynamoDB applies each request atomically; moto in-process does not, so each request is serialised here
    # (as the local runtime does). Two requests of one attempt (read, then write) could still interleave.
    lock, call_action = threading.Lock(), DynamoHandler.call_action

    def atomic(self):
        with lock:
            return call_action(self)

    monkeypatch.setattr(DynamoHandler, "call_action", atomic)
    for key, value in {**ENV, "AWS_DEFAULT_REGION": "ap-southeast-3", "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    with mock_aws():
        boto3.client("dynamodb", region_name="ap-southeast-3").create_table(
            TableName=ENV["CODES_TABLE"], BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "code_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "code_id", "KeyType": "HASH"}])
        dynamo._BOUND_TO = None  # bind the tables (codes, limits) to this moto afresh
        yield
    get_settings.cache_clear()


def outcome(*checks):
    try:
        ratelimit.attempt(*checks, now=NOW)
    except TooManyRequestsError as exc:
        return exc
    return "ok"


def test_parallel_attempts_never_pass_the_limit():
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _: outcome((POLICY, "siti@contoh.id")), range(40)))
    assert results.count("ok") == POLICY.limit
    refused = [r for r in results if r != "ok"]
    assert all(r.status == 429 and r.field == "email" and r.retry_after == 800 for r in refused)
    assert "coba lagi dalam 14 menit" in refused[0].message
    assert ratelimit.counted(POLICY, "siti@contoh.id", now=NOW) == POLICY.limit


def test_subjects_and_windows_are_counted_apart():
    for _ in range(POLICY.limit):
        assert outcome((POLICY, "a@contoh.id")) == "ok"
    assert outcome((POLICY, "a@contoh.id")) != "ok"
    assert outcome((POLICY, "b@contoh.id")) == "ok"
    assert ratelimit.attempt((POLICY, "a@contoh.id"), now=NOW + 900)  # the next window


def test_successes_give_their_hits_back():
    for _ in range(3 * POLICY.limit):
        ratelimit.attempt((POLICY, "benar@contoh.id"), (OTHER, "127.0.0.1"), now=NOW).succeeded()
    assert ratelimit.counted(POLICY, "benar@contoh.id", now=NOW) == 0
    assert ratelimit.counted(OTHER, "127.0.0.1", now=NOW) == 0


def test_a_refused_attempt_keeps_no_hit_in_the_other_buckets():
    for _ in range(POLICY.limit):
        ratelimit.attempt((POLICY, "korban@contoh.id"), now=NOW)
    for _ in range(3):
        assert isinstance(outcome((OTHER, "10.0.0.1"), (POLICY, "korban@contoh.id")), TooManyRequestsError)
    assert ratelimit.counted(OTHER, "10.0.0.1", now=NOW) == 0


def test_no_subject_is_stored_in_clear():
    ratelimit.attempt((POLICY, "rahasia@contoh.id"), (OTHER, "203.0.113.9"), now=NOW)
    items = boto3.client("dynamodb", region_name="ap-southeast-3").scan(TableName=ENV["CODES_TABLE"])["Items"]
    text = str(items)
    assert len(items) == 2 and "rahasia" not in text and "203.0.113.9" not in text
    assert all(int(i["expires_epoch"]["N"]) > NOW + 700 for i in items)  # TTL after the window
