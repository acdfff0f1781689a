"""S3: uploads (quarantine → promoted) and issued documents. Object keys never carry personal data.

Serving rules: a link is only ever made for a promoted upload (``documents/…``, written by :func:`put_upload`
from the bytes that ``pdf_check.check_pdf`` accepted) or an issued document (``issued/…``); never for the
quarantine, which holds the applicant's bytes as they arrived. Every link forces ``Content-Type:
application/pdf`` and a ``Content-Disposition`` with a sanitised file name, and the stored objects carry
``Content-Disposition: attachment`` too. S3 cannot add ``X-Content-Type-Options: nosniff`` to a presigned
GET; on AWS that header comes from the CDN in front of the buckets (see the hostile-uploads report).
"""

from __future__ import annotations

import re
from typing import Any

from ..settings import get_settings
from .aws import client

QUARANTINE_PREFIX = "quarantine/"
PROMOTED_PREFIX = "documents/"
ISSUED_PREFIX = "issued/"
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(filename: str) -> str:
    """``filename`` reduced to ``[A-Za-z0-9._ -]`` (at most 120 characters), ending in ``.pdf``.

    Safe inside a quoted ``Content-Disposition`` parameter: no quotes, backslashes, separators, control or
    non-ASCII characters; never empty and never a hidden file name.
    """
    name = _UNSAFE_NAME.sub("_", filename).strip(" .")[:120].strip(" .") or "dokumen"
    return name if name.lower().endswith(".pdf") else f"{name}.pdf"


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """``attachment`` (or ``inline``) with the :func:`safe_filename` of ``filename``."""
    return f'{"inline" if inline else "attachment"}; filename="{safe_filename(filename)}"'


def _require_prefix(key: str, prefix: str) -> None:
    if not key.startswith(prefix) or ".." in key:
        raise ValueError(f"refusing to serve or store {key!r}: only keys under {prefix!r} are allowed here")


def quarantine_key(office_id: str, application_id: str, upload_id: str) -> str:
    return f"{QUARANTINE_PREFIX}{office_id}/{application_id}/{upload_id}.pdf"


def document_key(office_id: str, application_id: str, requirement_id: str, version: int) -> str:
    return f"{PROMOTED_PREFIX}{office_id}/{application_id}/{requirement_id}/v{version}.pdf"


def issued_key(office_id: str, application_id: str, kind: str) -> str:
    return f"{ISSUED_PREFIX}{office_id}/{application_id}/{kind}.pdf"


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
    """Store an issued PDF (stored as a download: ``Content-Disposition: attachment``)."""
    client("s3").put_object(Bucket=get_settings().documents_bucket, Key=key, Body=data,
                            ContentType="application/pdf", ContentDisposition="attachment")


def get_document(key: str) -> bytes:
    return client("s3").get_object(Bucket=get_settings().documents_bucket, Key=key)["Body"].read()


def download_url(key: str, filename: str, *, inline: bool = False) -> str:
    """A short-lived link to an issued document (``issued/…``): a download, or shown in the browser.

    Raises:
        ValueError: ``key`` is not an issued document's key.
    """
    _require_prefix(key, ISSUED_PREFIX)
    settings = get_settings()
    return _presigned_pdf(settings.documents_bucket, key, filename, inline, settings.download_url_seconds)


def put_upload(key: str, data: bytes) -> None:
    """Store a validated upload under its promoted key (the uploads bucket, ``documents/…``).

    ``data`` must be the very bytes the checker accepted (never re-read from the quarantine).

    Raises:
        ValueError: ``key`` is not a promoted key.
    """
    _require_prefix(key, PROMOTED_PREFIX)
    client("s3").put_object(Bucket=get_settings().uploads_bucket, Key=key, Body=data, ContentType="application/pdf",
                            ContentDisposition="attachment")


def upload_url(key: str, filename: str) -> str:
    """A short-lived link to view a promoted upload inline; never a quarantined one.

    Raises:
        ValueError: ``key`` is not a promoted key (for example a ``quarantine/…`` key).
    """
    _require_prefix(key, PROMOTED_PREFIX)
    settings = get_settings()
    return _presigned_pdf(settings.uploads_bucket, key, filename, True, settings.download_url_seconds)


def _presigned_pdf(bucket: str, key: str, filename: str, inline: bool, seconds: int) -> str:
    """Presigned GET that makes S3 answer ``application/pdf``, the disposition, and no shared caching."""
    return str(client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": key,
                "ResponseContentDisposition": content_disposition(filename, inline=inline),
                "ResponseContentType": "application/pdf",
                "ResponseCacheControl": "private, no-store"},
        ExpiresIn=seconds,
    ))
