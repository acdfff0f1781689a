"""How stored PDFs are served (silastri.adapters.storage): only validated or issued copies, always as a PDF
with a Content-Disposition carrying a safe file name. Presigned URLs are made offline (no network)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from silastri.adapters import storage


class _RecordingS3:
    """A real S3 client for presigning (offline), recording put_object calls instead of sending them."""

    def __init__(self) -> None:
        self._client = boto3.session.Session(
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="ap-southeast-3"
        ).client("s3")
        self.puts: list[dict[str, Any]] = []

    def generate_presigned_url(self, *args: Any, **kwargs: Any) -> str:
        return str(self._client.generate_presigned_url(*args, **kwargs))

    def put_object(self, **kwargs: Any) -> None:
        self.puts.append(kwargs)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> _RecordingS3:
    fake = _RecordingS3()
    settings = SimpleNamespace(uploads_bucket="uploads", documents_bucket="documents", download_url_seconds=300)
    monkeypatch.setattr(storage, "client", lambda service: fake)
    monkeypatch.setattr(storage, "get_settings", lambda: settings)
    return fake


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def test_promoted_upload_is_served_inline_as_pdf_with_safe_name(s3: _RecordingS3) -> None:
    key = storage.document_key("rohil", "app-1", "ktp", 2)
    query = _query(storage.upload_url(key, 'ktp "asli".pdf'))
    assert urlsplit(storage.upload_url(key, "ktp.pdf")).path.endswith(key)
    assert query["response-content-type"] == "application/pdf"
    assert query["response-content-disposition"] == 'inline; filename="ktp _asli_.pdf"'
    assert query["response-cache-control"] == "private, no-store"


def test_quarantined_upload_can_never_be_served(s3: _RecordingS3) -> None:
    key = storage.quarantine_key("rohil", "app-1", "abc")
    with pytest.raises(ValueError, match="quarantine"):
        storage.upload_url(key, "ktp.pdf")
    for sneaky in (storage.ISSUED_PREFIX + "x.pdf", "documents/../quarantine/rohil/app-1/abc.pdf", "x/documents/a.pdf"):
        with pytest.raises(ValueError):
            storage.upload_url(sneaky, "ktp.pdf")


def test_issued_document_is_a_download_unless_shown_inline(s3: _RecordingS3) -> None:
    key = storage.issued_key("rohil", "app-1", "permit-c1")
    assert _query(storage.download_url(key, "surat-izin-SIP/2026/001.pdf"))["response-content-disposition"] == (
        'attachment; filename="surat-izin-SIP_2026_001.pdf"'
    )
    inline = _query(storage.download_url(key, "surat-izin.pdf", inline=True))
    assert inline["response-content-disposition"] == 'inline; filename="surat-izin.pdf"'
    assert inline["response-content-type"] == "application/pdf"
    with pytest.raises(ValueError):
        storage.download_url(storage.document_key("rohil", "app-1", "ktp", 1), "ktp.pdf")


def test_promotion_only_writes_promoted_keys_as_pdf_attachments(s3: _RecordingS3) -> None:
    key = storage.document_key("rohil", "app-1", "ktp", 1)
    storage.put_upload(key, b"%PDF-1.7 ...")
    assert s3.puts == [{"Bucket": "uploads", "Key": key, "Body": b"%PDF-1.7 ...", "ContentType": "application/pdf",
                        "ContentDisposition": "attachment"}]
    with pytest.raises(ValueError):
        storage.put_upload(storage.quarantine_key("rohil", "app-1", "abc"), b"%PDF-1.7")
    assert len(s3.puts) == 1


@pytest.mark.parametrize(
    ("given", "served"),
    [
        ("KTP Budi.pdf", "KTP Budi.pdf"),
        ("scan.PDF", "scan.PDF"),
        ("surat", "surat.pdf"),
        ('a";b\\c\r\nSet-Cookie: x=1.pdf', "a_b_c_Set-Cookie_ x_1.pdf"),
        ("kartu-keluarga-ñandú.pdf", "kartu-keluarga-_and_.pdf"),
        ("..", "dokumen.pdf"),
        ("", "dokumen.pdf"),
        ("x" * 300 + ".pdf", "x" * 120 + ".pdf"),
    ],
)
def test_safe_filename(given: str, served: str) -> None:
    assert storage.safe_filename(given) == served
    assert storage.content_disposition(given) == f'attachment; filename="{served}"'
