"""Secrets come from AWS Secrets Manager through Powertools Parameters, never from the environment.

Two levels: the Secrets Manager contract (botocore Stubber: the exact GetSecretValue request, the cache,
the errors), and the real adapter path on the local runtime (the secret created from template.yaml in
moto's Secrets Manager, its value stable across restarts because NIK hashes and links derive from it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from botocore.stub import Stubber

pytestmark = pytest.mark.xdist_group("in-process-aws")

ARN = "arn:aws:secretsmanager:ap-southeast-3:123456789012:secret:silastri-AppSecret-AbCdEf"
BSRE_ARN = "arn:aws:secretsmanager:ap-southeast-3:123456789012:secret:silastri-BsrePasswordSecret-AbCdEf"
REQUIRED = {
    "APPLICATIONS_TABLE": "a", "UPLOADS_TABLE": "u", "TASKS_TABLE": "t", "EVENTS_TABLE": "e", "COUNTERS_TABLE": "c", "PERMITS_TABLE": "p",
    "SURVEYS_TABLE": "s", "CODES_TABLE": "k", "IDEMPOTENCY_TABLE": "i", "MESSAGES_TABLE": "m", "UPLOADS_BUCKET": "u",
    "DOCUMENTS_BUCKET": "d", "NOTIFICATIONS_TOPIC_ARN": "n", "USER_POOL_ID": "p", "USER_POOL_CLIENT_ID": "c",
    "COGNITO_JWKS_URL": "https://j", "COGNITO_ISSUER": "https://i", "PUBLIC_BASE_URL": "https://b",
    "DATA_DIR": "/tmp/silastri-secrets",
}


def _settings(**env: str) -> Any:
    from silastri.settings import Settings

    return Settings(**{k.lower(): v for k, v in {**REQUIRED, **env}.items()})


def _stubbed(settings: Any) -> Stubber:
    sm = boto3.client("secretsmanager", region_name="ap-southeast-3", aws_access_key_id="x",
                      aws_secret_access_key="x")  # noqa: S106 - a stub, never sent
    settings._secrets = parameters.SecretsProvider(boto3_client=sm)
    return Stubber(sm)


def _answer(arn: str, value: str) -> dict[str, Any]:
    return {"ARN": arn, "Name": arn.rsplit(":", 1)[-1], "VersionId": "0123456789abcdef0123456789abcdef", "SecretString": value,
            "VersionStages": ["AWSCURRENT"]}


def test_master_secret_is_one_get_secret_value_then_cached() -> None:
    settings = _settings(APP_SECRET_NAME=ARN, SECRET_MAX_AGE="300")
    value = "k" * 64
    with _stubbed(settings) as stub:
        stub.add_response("get_secret_value", _answer(ARN, value), {"SecretId": ARN})
        assert settings.app_secret_key == value
        assert settings.app_secret_key == value  # cached: a second request would fail the Stubber
        stub.assert_no_pending_responses()


def test_a_direct_value_is_for_unit_tests_and_is_used_without_any_request() -> None:
    settings = _settings(APP_SECRET_NAME=ARN, APP_SECRET_KEY="e" * 40)
    with _stubbed(settings) as stub:  # no response queued: any request would fail
        assert settings.app_secret_key == "e" * 40
        stub.assert_no_pending_responses()


def test_a_missing_short_or_unconfigured_secret_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from silastri.settings import SecretUnavailable

    # an in-process local stack earlier in this worker leaves its functions' environment behind
    for name in ("APP_SECRET_NAME", "APP_SECRET_KEY", "BSRE_PASSWORD_SECRET_NAME", "BSRE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)

    settings = _settings(APP_SECRET_NAME=ARN)
    with _stubbed(settings) as stub:
        stub.add_client_error("get_secret_value", "ResourceNotFoundException", expected_params={"SecretId": ARN})
        with pytest.raises(SecretUnavailable):
            _ = settings.app_secret_key
    settings = _settings(APP_SECRET_NAME=ARN)
    with _stubbed(settings) as stub:
        stub.add_response("get_secret_value", _answer(ARN, "too-short"), {"SecretId": ARN})
        with pytest.raises(SecretUnavailable, match="at least 32"):
            _ = settings.app_secret_key
    with pytest.raises(SecretUnavailable, match="not configured"):
        _ = _settings().app_secret_key
    with pytest.raises(SecretUnavailable, match="not configured"):
        _ = _settings().bsre_password


def test_bsre_password_is_read_from_its_json_secret_and_an_empty_one_is_refused() -> None:
    from silastri.settings import SecretUnavailable

    settings = _settings(BSRE_PASSWORD_SECRET_NAME=BSRE_ARN)
    with _stubbed(settings) as stub:
        stub.add_response("get_secret_value", _answer(BSRE_ARN, '{"password": ""}'), {"SecretId": BSRE_ARN})
        with pytest.raises(SecretUnavailable, match="no password yet"):
            _ = settings.bsre_password
    settings = _settings(BSRE_PASSWORD_SECRET_NAME=BSRE_ARN)
    with _stubbed(settings) as stub:
        stub.add_response("get_secret_value", _answer(BSRE_ARN, '{"password": "rahasia-bsre"}'),
                          {"SecretId": BSRE_ARN})
        assert settings.bsre_password == "rahasia-bsre"


def test_settings_never_show_a_secret_value() -> None:
    settings = _settings(APP_SECRET_KEY="v" * 40)
    assert "v" * 40 not in repr(settings) and "v" * 40 not in str(settings.model_dump())


def _forget_pynamodb_connections() -> None:
    """pynamodb models keep their first connection (and its endpoint) for the process: two stacks started
    one after the other in one process need them dropped in between."""
    from pynamodb.models import Model

    def every(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from every(sub)

    for model in every(Model):
        model._connection = None


def _fresh_emulator() -> None:
    """moto's backends are process-wide: drop what an earlier stack of this process left behind."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    _forget_pynamodb_connections()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "stack"


def test_local_runtime_serves_the_master_secret_from_secrets_manager_stable_across_restarts(data_dir: Path) -> None:
    from silastri.settings import derived_key, get_settings
    from silastri_local.runtime import LocalStack

    def start() -> LocalStack:
        return LocalStack(data_dir=data_dir, api_port=0, persist=False, run_schedules=False,
                          run_event_sources=False).start()

    _fresh_emulator()
    stack = start()
    try:
        assert stack.resources
        arn = stack.resources.refs["AppSecret"]
        assert os.environ["APP_SECRET_NAME"] == arn  # the function environment holds the name only
        assert "APP_SECRET_KEY" not in os.environ
        stored = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        assert len(stored) >= 32
        assert get_settings().app_secret_key == stored
        first_key = derived_key("nik")
        # the value really comes from Secrets Manager: change it there and a fresh Settings sees the change
        boto3.client("secretsmanager").put_secret_value(SecretId=arn, SecretString="r" * 48)
        get_settings.cache_clear()
        assert get_settings().app_secret_key == "r" * 48
    finally:
        stack.stop()
    _fresh_emulator()  # a restart: a new emulator; only the data directory is kept
    stack = start()  # a fresh emulator (nothing persisted): the runtime puts the same value back
    try:
        assert get_settings().app_secret_key == stored
        assert derived_key("nik") == first_key
    finally:
        stack.stop()
        _fresh_emulator()  # leave nothing of this stack to the next one in this process
