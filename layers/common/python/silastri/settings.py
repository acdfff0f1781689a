"""Typed configuration, read from the environment and validated at cold start.

Secrets are never environment values of a deployed function: the environment names the secret
(`APP_SECRET_NAME`, `BSRE_PASSWORD_SECRET_NAME`, only in the functions that use it) and the value is read
from AWS Secrets Manager through Powertools Parameters, cached for `secret_max_age` seconds."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_APP_SECRET_LENGTH = 32


class SecretUnavailable(RuntimeError):
    """A secret this function needs is not configured or not usable (a deployment error: fail loudly)."""


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
    bsre_password_secret_name: str = ""  # signer_mode=bsre: Secrets Manager secret {"password": "..."}
    messaging_mode: Literal["aws", "local-outbox"] = "aws"
    whatsapp_phone_number_id: str = ""
    sender_email: str = ""
    app_secret_name: str = Field(default="", description="Secrets Manager name/ARN of the master secret")
    app_secret_value: SecretStr | None = Field(
        default=None, validation_alias="APP_SECRET_KEY", min_length=MIN_APP_SECRET_LENGTH,
        description="the master secret itself, for unit tests only (a deployed function never has it: see "
                    "tests/infra); when set it is used instead of app_secret_name")
    secret_max_age: int = Field(default=300, ge=0, le=3600, description="seconds a fetched secret is cached")
    data_dir: str = Field(description="writable directory for the development PKI and the local outbox")
    default_office_id: str = "rokan-hilir"
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_url_seconds: int = 900
    download_url_seconds: int = 300

    _secrets: Any = PrivateAttr(default=None)

    def secret(self, name: str, transform: Literal["json"] | None = None) -> Any:
        """A secret's value from Secrets Manager (Powertools Parameters, cached `secret_max_age` s)."""
        from aws_lambda_powertools.utilities import parameters

        from .adapters.aws import client

        if self._secrets is None:  # one provider (and cache) per Settings: a new stack gets fresh values
            self._secrets = parameters.SecretsProvider(boto3_client=client("secretsmanager"))
        try:
            return self._secrets.get(name, max_age=self.secret_max_age, transform=transform)
        except parameters.exceptions.GetParameterError as exc:
            raise SecretUnavailable(f"secret {name} cannot be read: {exc.__class__.__name__}") from None

    @property
    def app_secret_key(self) -> str:
        """The master secret: the direct value if one is set (unit tests), else read from Secrets Manager."""
        if self.app_secret_value is not None:
            return self.app_secret_value.get_secret_value()
        if self.app_secret_name:
            value = self.secret(self.app_secret_name)
            if not isinstance(value, str) or len(value) < MIN_APP_SECRET_LENGTH:
                raise SecretUnavailable(f"secret {self.app_secret_name} must be a string of at least "
                                        f"{MIN_APP_SECRET_LENGTH} characters")
            return value
        raise SecretUnavailable("APP_SECRET_NAME is not configured for this function")

    @property
    def bsre_password(self) -> str:
        """BSrE eSign API password (signer_mode=bsre), from its Secrets Manager secret."""
        if not self.bsre_password_secret_name:
            raise SecretUnavailable("BSRE_PASSWORD_SECRET_NAME is not configured for this function")
        value = self.secret(self.bsre_password_secret_name, transform="json")
        password = value.get("password") if isinstance(value, dict) else None
        if not isinstance(password, str) or not password:
            raise SecretUnavailable(f"secret {self.bsre_password_secret_name} has no password yet "
                                    "(put-secret-value {\"password\": \"...\"} after deploying)")
        return password


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, validated once (cleared by the local runtime when it restarts)."""
    return Settings()  # type: ignore[call-arg]  # filled from the environment


def derived_key(purpose: str) -> bytes:
    """A key for one purpose (nik, codes, csrf, links) derived from the master secret."""
    import hashlib
    import hmac

    return hmac.new(get_settings().app_secret_key.encode(), f"silastri:{purpose}:v1".encode(), hashlib.sha256).digest()
