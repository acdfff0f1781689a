"""S3: uploads (quarantine → promoted) and issued documents. Object keys never carry personal data."""

from __future__ import annotations

from typing import Any

from ..settings import get_settings
from .aws import client


def quarantine_key(office_id: str, application_id: str, upload_id: str) -> str:
    return f"quarantine/{office_id}/{application_id}/{upload_id}.pdf"


def document_key(office_id: str, application_id: str, requirement_id: str, version: int) -> str:
    return f"documents/{office_id}/{application_id}/{requirement_id}/v{version}.pdf"


def issued_key(office_id: str, application_id: str, kind: str) -> str:
    return f"issued/{office_id}/{application_id}/{kind}.pdf"


def presigned_upload(key: str, max_bytes: int) -> dict[str, Any]:
    """A presigned POST that only accepts a PDF of at most `max_bytes` at exactly `key`."""
    settings = get_settings()
    return client("s3").generate_presigned_post(
        Bucket=settings.uploads_bucket,
        Key=key,
        Fields={"Content-Type": "application/pdf"},
        Conditions=[
            {"Content-Type": "application/pdf"},
            ["content-length-range", 1, max_bytes],
            {"key": key},
        ],
        ExpiresIn=settings.upload_url_seconds,
    )


def read_upload(key: str, limit: int) -> bytes | None:
    """The quarantined object, or None if absent. Reads at most `limit` + 1 bytes."""
    s3 = client("s3")
    try:
        response = s3.get_object(Bucket=get_settings().uploads_bucket, Key=key, Range=f"bytes=0-{limit}")
    except s3.exceptions.NoSuchKey:
        return None
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("InvalidRange", "404", "NoSuchKey"):
            return None
        raise
    return response["Body"].read()


def delete_upload(key: str) -> None:
    client("s3").delete_object(Bucket=get_settings().uploads_bucket, Key=key)


def put_document(key: str, data: bytes) -> None:
    client("s3").put_object(Bucket=get_settings().documents_bucket, Key=key, Body=data,
                            ContentType="application/pdf")


def get_document(key: str) -> bytes:
    return client("s3").get_object(Bucket=get_settings().documents_bucket, Key=key)["Body"].read()


def download_url(key: str, filename: str) -> str:
    settings = get_settings()
    return client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": settings.documents_bucket, "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
                "ResponseContentType": "application/pdf"},
        ExpiresIn=settings.download_url_seconds,
    )


def put_upload(key: str, data: bytes) -> None:
    """Store a validated upload under its promoted key (the uploads bucket, outside quarantine/)."""
    client("s3").put_object(Bucket=get_settings().uploads_bucket, Key=key, Body=data, ContentType="application/pdf")


def upload_url(key: str, filename: str) -> str:
    """A short-lived link to view a promoted upload inline."""
    settings = get_settings()
    return client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": settings.uploads_bucket, "Key": key,
                "ResponseContentDisposition": f'inline; filename="{filename}"', "ResponseContentType": "application/pdf"},
        ExpiresIn=settings.download_url_seconds,
    )
