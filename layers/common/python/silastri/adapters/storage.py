"""S3: uploads (quarantine → promoted) and issued documents. Object keys never carry personal data.

Serving rules: a link is only ever made for a promoted upload (``documents/…``, written by :func:`put_upload`
from the bytes that ``pdf_check.check_pdf`` accepted) or an issued document (``issued/…``); never for the
quarantine, which holds the applicant's bytes as they arrived. Stored objects carry ``Content-Type:
application/pdf`` and ``Content-Disposition: attachment``.

Two ways to serve, chosen by ``Settings.documents_cdn()``:

- **CloudFront (production):** a CloudFront signed URL (canned policy, RSA key) for the distribution in front of
  both buckets. Its response headers policy adds ``X-Content-Type-Options: nosniff``, a sandboxing
  Content-Security-Policy, ``Referrer-Policy: no-referrer`` and ``Cache-Control: private, no-store``; the buckets
  let only that distribution read ``documents/*`` and ``issued/*`` and refuse presigned GETs there. S3 answers
  with the stored metadata (no ``response-*`` overrides pass through the CDN), so every PDF is served as an
  attachment: ``inline`` and the file name are not applied (a sandboxed inline PDF would not render in Chromium's
  viewer anyway).
- **Presigned S3 GET (development stacks, local runtime):** forces ``application/pdf``, the disposition with a
  sanitised file name and no shared caching. S3 cannot add ``nosniff``; the local runtime's emulator adds it
  (``silastri_local.response_headers``).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from ..settings import DocumentsCdn, SecretUnavailable, get_settings
from .aws import client

QUARANTINE_PREFIX = "quarantine/"
PROMOTED_PREFIX = "documents/"
ISSUED_PREFIX = "issued/"
EXPORTS_PREFIX = "exports/"  # report exports (no personal data), expired by the bucket's lifecycle after a day
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_filename(filename: str, extension: str = ".pdf") -> str:
    """``filename`` reduced to ``[A-Za-z0-9._ -]`` (at most 120 characters), ending in ``extension``.

    Safe inside a quoted ``Content-Disposition`` parameter: no quotes, backslashes, separators, control or
    non-ASCII characters; never empty and never a hidden file name.
    """
    name = _UNSAFE_NAME.sub("_", filename).strip(" .")[:120].strip(" .") or "dokumen"
    return name if name.lower().endswith(extension) else f"{name}{extension}"


def content_disposition(filename: str, *, inline: bool = False, extension: str = ".pdf") -> str:
    """``attachment`` (or ``inline``) with the :func:`safe_filename` of ``filename``."""
    return f'{"inline" if inline else "attachment"}; filename="{safe_filename(filename, extension)}"'


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


def put_document(key: str, data: bytes, *, filename: str | None = None) -> None:
    """Store an issued PDF as a download: ``Content-Disposition: attachment`` (with the safe ``filename`` if given,
    which is the name a browser saves it under when it is served through the CDN)."""
    client("s3").put_object(Bucket=get_settings().documents_bucket, Key=key, Body=data,
                            ContentType="application/pdf", ContentDisposition=_stored_disposition(filename))


def get_document(key: str) -> bytes:
    return client("s3").get_object(Bucket=get_settings().documents_bucket, Key=key)["Body"].read()


def download_url(key: str, filename: str, *, inline: bool = False) -> str:
    """A short-lived link to an issued document (``issued/…``): a download, or shown in the browser.

    Through the CDN it is always a download of the stored object (see the module docstring).

    Raises:
        ValueError: ``key`` is not an issued document's key.
    """
    _require_prefix(key, ISSUED_PREFIX)
    settings = get_settings()
    return _pdf_link(settings.documents_bucket, key, filename, inline, settings.download_url_seconds)


def put_upload(key: str, data: bytes, *, filename: str | None = None) -> None:
    """Store a validated upload under its promoted key (the uploads bucket, ``documents/…``), as an attachment
    (with the safe ``filename`` if given).

    ``data`` must be the very bytes the checker accepted (never re-read from the quarantine).

    Raises:
        ValueError: ``key`` is not a promoted key.
    """
    _require_prefix(key, PROMOTED_PREFIX)
    client("s3").put_object(Bucket=get_settings().uploads_bucket, Key=key, Body=data, ContentType="application/pdf",
                            ContentDisposition=_stored_disposition(filename))


def _stored_disposition(filename: str | None) -> str:
    return "attachment" if filename is None else content_disposition(filename)


def upload_url(key: str, filename: str) -> str:
    """A short-lived link to view a promoted upload inline (a download through the CDN); never a quarantined one.

    Raises:
        ValueError: ``key`` is not a promoted key (for example a ``quarantine/…`` key).
    """
    _require_prefix(key, PROMOTED_PREFIX)
    settings = get_settings()
    return _pdf_link(settings.uploads_bucket, key, filename, True, settings.download_url_seconds)


def put_export(office_id: str, filename: str, data: bytes, content_type: str) -> str:
    """Store a report export (CSV/XLSX of office figures, no personal data) under a fresh unguessable key in the
    documents bucket's ``exports/`` prefix and return its key. Served by :func:`export_url`: API Gateway's REST
    API hands binary bodies through only when the request's first Accept type is binary, which a browser's
    download click never sends, so spreadsheets are downloaded from S3 like the PDFs."""
    import uuid

    extension = _extension(filename)
    key = f"{EXPORTS_PREFIX}{office_id}/{uuid.uuid4().hex}/{safe_filename(filename, extension)}"
    client("s3").put_object(Bucket=get_settings().documents_bucket, Key=key, Body=data, ContentType=content_type,
                            ContentDisposition=content_disposition(filename, extension=extension),
                            CacheControl="private, no-store")
    return key


def _extension(filename: str) -> str:
    """The export's own extension (``.xlsx``, ``.csv``), kept when its name is made safe."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return suffix if suffix in (".xlsx", ".csv") else ".xlsx"


def export_url(key: str, filename: str, content_type: str) -> str:
    """A short-lived presigned GET of a report export (``exports/…``) as a download with its file name.

    Raises:
        ValueError: ``key`` is not an export's key.
    """
    _require_prefix(key, EXPORTS_PREFIX)
    settings = get_settings()
    return str(client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": settings.documents_bucket, "Key": key,
                "ResponseContentDisposition": content_disposition(filename, extension=_extension(filename)),
                "ResponseContentType": content_type, "ResponseCacheControl": "private, no-store"},
        ExpiresIn=settings.download_url_seconds,
    ))


def _pdf_link(bucket: str, key: str, filename: str, inline: bool, seconds: int) -> str:
    cdn = get_settings().documents_cdn()
    if cdn is not None:
        return cdn_signed_url(cdn, key, seconds)
    return _presigned_pdf(bucket, key, filename, inline, seconds)


def cdn_signed_url(cdn: DocumentsCdn, key: str, seconds: int) -> str:
    """A CloudFront signed URL (canned policy) for ``key`` on the documents CDN, valid for ``seconds``.

    The CDN routes ``documents/…`` to the uploads bucket and ``issued/…`` to the documents bucket; callers check
    the prefix first (:func:`upload_url`, :func:`download_url`).
    """
    from botocore.signers import CloudFrontSigner

    url = f"{cdn.url}/{quote(key, safe='/')}"
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=seconds)
    signer = CloudFrontSigner(cdn.key_pair_id, _rsa_signer(cdn.private_key_pem))
    return str(signer.generate_presigned_url(url, date_less_than=expires))


@lru_cache(maxsize=4)
def _rsa_signer(private_key_pem: str) -> Callable[[bytes], bytes]:
    """RSA-SHA1 PKCS#1 v1.5 over the policy, as CloudFront verifies signed URLs (the key is parsed once)."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise SecretUnavailable(f"the documents CDN private key cannot be loaded: {exc.__class__.__name__}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SecretUnavailable("the documents CDN private key must be an RSA key (CloudFront key groups)")

    def sign(message: bytes) -> bytes:
        return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's signed-URL algorithm

    return sign


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
