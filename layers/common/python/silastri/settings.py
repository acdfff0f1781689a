"""Typed configuration, read from the environment and validated at cold start.

Secrets are never environment values of a deployed function: the environment names the secret
(`APP_SECRET_NAME`, `BSRE_PASSWORD_SECRET_NAME`, only in the functions that use it) and the value is read
from AWS Secrets Manager through Powertools Parameters, cached for `secret_max_age` seconds.

The documents CDN (CloudFront in front of the buckets, see `template.yaml`) is optional: the template writes its
address and key pair id to the SSM parameter named by `DOCUMENTS_CDN_PARAMETER_NAME` only when it is deployed, so a
function reads that parameter (cached like a secret) to learn whether to sign CloudFront links; its RSA private key
is the secret named by `DOCUMENTS_CDN_PRIVATE_KEY_SECRET_NAME`."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

MIN_APP_SECRET_LENGTH = 32


class SecretUnavailable(RuntimeError):
    """A secret this function needs is not configured or not usable (a deployment error: fail loudly)."""


class ConfigurationUnavailable(RuntimeError):
    """Deployed configuration (an SSM parameter) is present but not usable (a deployment error: fail loudly)."""


@dataclass(frozen=True)
class DocumentsCdn:
    """How PDFs are served through CloudFront: the distribution's https base URL, the id of the public key
    CloudFront checks signatures with, and the matching RSA private key (PEM)."""

    url: str
    key_pair_id: str
    private_key_pem: str = field(repr=False)


class Settings(BaseModel):
    """Every value the deployed functions need. Required values have no default on purpose.

    Read from the environment: each field from the variable of its name (or its alias), case-insensitive; values
    given to the constructor (names case-insensitive too) win over the environment. (A plain pydantic model rather than pydantic-settings, whose
    import alone cost every function's cold start ~50 ms: issue 12.)"""

    model_config = ConfigDict(extra="ignore")

    applications_table: str
    uploads_table: str  # the applications' uploaded document versions, one item each
    tasks_table: str
    events_table: str
    counters_table: str
    permits_table: str
    surveys_table: str
    codes_table: str
    idempotency_table: str
    messages_table: str
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
    bsre_trust_roots_pem: str = Field(default="", description=(
        "signer_mode=bsre: the PEM certificates BSrE signatures and timestamps chain to (BSrE/BSSN root and TSA "
        "roots), given directly (local stacks, tests); a deployed function reads bsre_trust_roots_secret_name"))
    bsre_trust_roots_secret_name: str = Field(default="", description=(
        'signer_mode=bsre: Secrets Manager secret {"pem": "<PEM certificates>"} holding those roots'))
    messaging_mode: Literal["aws", "local-outbox"] = "aws"
    whatsapp_phone_number_id: str = ""
    sender_email: str = ""
    ses_configuration_set: str = Field(default="", description="SES configuration set whose events (SNS) give "
                                                                "e-mail delivery status")
    delivery_status_topic_arn: str = Field(default="", description="SNS topic of delivery status events; only the "
                                                                    "local outbox publishes to it (End User Messaging "
                                                                    "Social and SES do on AWS)")
    notifications_queue_url: str = Field(default="", description="NotificationsQueue URL; only the redrive needs it")
    notifications_dead_letter_queue_url: str = Field(default="", description="its dead-letter queue's URL (redrive)")
    notification_retry_base_seconds: float = Field(default=10.0, ge=0, le=900, description=(
        "first backoff (seconds) after a transient channel failure; doubled per receive, full jitter, max 900"))
    app_secret_name: str = Field(default="", description="Secrets Manager name/ARN of the master secret")
    app_secret_value: SecretStr | None = Field(
        default=None, validation_alias="APP_SECRET_KEY", min_length=MIN_APP_SECRET_LENGTH,
        description="the master secret itself, for unit tests only (a deployed function never has it: see "
                    "tests/infra); when set it is used instead of app_secret_name")
    secret_max_age: int = Field(default=300, ge=0, le=3600, description="seconds a fetched secret is cached")
    data_dir: str = Field(description="writable directory for the development PKI and the local outbox")
    default_office_id: str = "rokan-hilir"
    payment_provider: Literal["local"] = Field(default="local", description=(
        "who issues payment references (adapters/payment.py): only the local adapter exists so far"))
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_url_seconds: int = 900
    download_url_seconds: int = 300
    documents_cdn_url: str = Field(
        default="", description="https base URL of the documents CDN, given directly (with documents_cdn_key_pair_id); "
                                "a deployed function reads both from documents_cdn_parameter_name instead")
    documents_cdn_key_pair_id: str = Field(default="", description="CloudFront public key id, given directly")
    documents_cdn_parameter_name: str = Field(
        default="", description='SSM parameter {"url": ..., "key_pair_id": ...} that the template writes only when the '
                                "CDN is deployed: absent means presigned S3 links")
    documents_cdn_private_key_secret_name: str = Field(
        default="", description="Secrets Manager name/ARN of the CDN's RSA private key (PEM), only in the API function")

    _secrets: Any = PrivateAttr(default=None)
    _cdn_parameter: tuple[float, tuple[str, str] | None] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        environment = {name.lower(): value for name, value in os.environ.items()}
        given = {str(name).lower(): value for name, value in data.items()}
        merged: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            key = info.validation_alias if isinstance(info.validation_alias, str) else name
            for source in (given, environment):  # names are case-insensitive, as in the environment
                if key.lower() in source:
                    merged[key] = source[key.lower()]
                    break
        return merged

    @model_validator(mode="after")
    def _documents_cdn_given_together(self) -> Settings:
        if bool(self.documents_cdn_url) != bool(self.documents_cdn_key_pair_id):
            raise ValueError("DOCUMENTS_CDN_URL and DOCUMENTS_CDN_KEY_PAIR_ID are set together or not at all")
        if self.documents_cdn_url:
            _check_cdn_url(self.documents_cdn_url)
            if not self.documents_cdn_private_key_secret_name:
                raise ValueError("DOCUMENTS_CDN_URL needs DOCUMENTS_CDN_PRIVATE_KEY_SECRET_NAME (the signing key)")
        return self

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

    def bsre_trust_roots(self) -> list[bytes]:
        """The certificates (PEM, one or more) a BSrE signature and its timestamp must chain to (signer_mode=bsre).

        Raises SecretUnavailable when none is configured: without them a returned file cannot be checked before
        it is published, nor verified on the public page, so signing refuses to start (fail loudly)."""
        text = self.bsre_trust_roots_pem
        if not text and self.bsre_trust_roots_secret_name:
            value = self.secret(self.bsre_trust_roots_secret_name, transform="json")
            text = value.get("pem", "") if isinstance(value, dict) else ""
        blocks = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text or "", re.S)
        if not blocks:
            raise SecretUnavailable("BSrE trust roots are not configured: put the BSrE/BSSN root (and TSA) certificates "
                                    "as PEM in the BsreTrustRootsSecret {\"pem\": \"...\"} (or BSRE_TRUST_ROOTS_PEM)")
        return [block.encode() + b"\n" for block in blocks]

    def documents_cdn(self) -> DocumentsCdn | None:
        """The documents CDN that signed links point at, or None when there is none (links are presigned S3 GETs).

        Given directly (`documents_cdn_url` and `documents_cdn_key_pair_id`) or, on AWS, read from the SSM parameter
        `documents_cdn_parameter_name` (cached `secret_max_age` seconds, its absence too). The private key comes from
        its Secrets Manager secret.

        Raises:
            ConfigurationUnavailable: the parameter exists but is not a valid CDN description.
            SecretUnavailable: there is a CDN but its private key is not configured or not a PEM key.
        """
        if self.documents_cdn_url:
            url, key_pair_id = self.documents_cdn_url, self.documents_cdn_key_pair_id
        elif self.documents_cdn_parameter_name:
            found = self._documents_cdn_parameter()
            if found is None:
                return None
            url, key_pair_id = found
        else:
            return None
        return DocumentsCdn(url=url.rstrip("/"), key_pair_id=key_pair_id, private_key_pem=self._documents_cdn_key())

    def _documents_cdn_parameter(self) -> tuple[str, str] | None:
        now = time.monotonic()
        if self._cdn_parameter is not None and now < self._cdn_parameter[0]:
            return self._cdn_parameter[1]
        from .adapters.aws import client

        ssm = client("ssm")
        name = self.documents_cdn_parameter_name
        try:
            raw = ssm.get_parameter(Name=name)["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            found = None
        else:
            try:
                value = json.loads(raw)
                found = (str(value["url"]), str(value["key_pair_id"]))
                _check_cdn_url(found[0])
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigurationUnavailable(f"parameter {name} is not a documents CDN description: {exc}") from None
            if not found[1]:
                raise ConfigurationUnavailable(f"parameter {name} has no key_pair_id")
        self._cdn_parameter = (now + self.secret_max_age, found)
        return found

    def _documents_cdn_key(self) -> str:
        name = self.documents_cdn_private_key_secret_name
        if not name:
            raise SecretUnavailable("DOCUMENTS_CDN_PRIVATE_KEY_SECRET_NAME is not configured for this function")
        value = self.secret(name)
        if not isinstance(value, str) or "-----BEGIN" not in value or "PRIVATE KEY-----" not in value:
            raise SecretUnavailable(f"secret {name} is not a PEM private key yet (put-secret-value "
                                    "--secret-string file://private_key.pem after deploying)")
        return value


def _check_cdn_url(url: str) -> None:
    if not url.startswith("https://") or any(c in url for c in "?#") or len(url) <= len("https://"):
        raise ValueError(f"documents CDN URL must be an https base URL without query or fragment, not {url!r}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, validated once (cleared by the local runtime when it restarts)."""
    return Settings()  # type: ignore[call-arg]  # filled from the environment


def derived_key(purpose: str) -> bytes:
    """A key for one purpose (nik, codes, csrf, links) derived from the master secret."""
    import hashlib
    import hmac

    return hmac.new(get_settings().app_secret_key.encode(), f"silastri:{purpose}:v1".encode(), hashlib.sha256).digest()
