"""Typed configuration, read from the environment and validated at cold start."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every value the deployed functions need. Required values have no default on purpose."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    applications_table: str
    tasks_table: str
    events_table: str
    counters_table: str
    permits_table: str
    surveys_table: str
    codes_table: str
    idempotency_table: str
    uploads_bucket: str
    documents_bucket: str
    notifications_topic_arn: str
    user_pool_id: str
    user_pool_client_id: str
    cognito_jwks_url: str
    cognito_issuer: str
    public_base_url: str
    state_machine_arn: str | None = None  # only the API function starts runs
    signer_mode: Literal["dev-pki", "kms", "bsre"] = "dev-pki"
    kms_key_id: str = ""               # signer_mode=kms: the head's asymmetric KMS key
    signer_certificate_pem: str = ""   # signer_mode=kms: its certificate (and chain)
    bsre_url: str = ""                 # signer_mode=bsre: BSrE eSign base URL
    bsre_username: str = ""
    bsre_password: str = ""
    messaging_mode: Literal["aws", "local-outbox"] = "aws"
    whatsapp_phone_number_id: str = ""
    sender_email: str = ""
    app_secret_key: str = Field(min_length=32, description="master secret; purpose keys are derived from it")
    data_dir: str = Field(description="writable directory for the development PKI and the local outbox")
    default_office_id: str = "rokan-hilir"
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_url_seconds: int = 900
    download_url_seconds: int = 300


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]  # filled from the environment


def derived_key(purpose: str) -> bytes:
    """A key for one purpose (nik, codes, csrf, links) derived from the master secret."""
    import hashlib
    import hmac

    return hmac.new(get_settings().app_secret_key.encode(), f"silastri:{purpose}:v1".encode(), hashlib.sha256).digest()
