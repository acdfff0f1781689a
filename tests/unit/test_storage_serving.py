"""How stored PDFs are served (silastri.adapters.storage): only validated or issued copies, always as a PDF
with a Content-Disposition carrying a safe file name; through the documents CDN as CloudFront signed URLs.
Presigned and signed URLs are made offline (no network)."""

from __future__ import annotations

import base64
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pydantic import ValidationError
from silastri.adapters import storage
from silastri.settings import ConfigurationUnavailable, DocumentsCdn, SecretUnavailable, Settings


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
    settings = SimpleNamespace(uploads_bucket="uploads", documents_bucket="documents", download_url_seconds=300,
                               documents_cdn=lambda: None)
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


def test_stored_disposition_carries_a_safe_name_when_given(s3: _RecordingS3) -> None:
    storage.put_document(storage.issued_key("rohil", "app-1", "permit-c1"), b"%PDF-1.7", filename='izin "SIP".pdf')
    assert s3.puts[-1]["ContentDisposition"] == 'attachment; filename="izin _SIP_.pdf"'
    assert s3.puts[-1]["ContentType"] == "application/pdf"


# ----------------------------------------------------------------------------- through the documents CDN

CDN_URL = "https://d111111abcdef8.cloudfront.net"
KEY_PAIR_ID = "K2JCJMDEHXQW5F"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def cdn(monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey) -> DocumentsCdn:
    config = DocumentsCdn(url=CDN_URL, key_pair_id=KEY_PAIR_ID, private_key_pem=_pem(rsa_key))
    settings = SimpleNamespace(uploads_bucket="uploads", documents_bucket="documents", download_url_seconds=300,
                               documents_cdn=lambda: config)

    def no_s3(service: str) -> Any:
        raise AssertionError(f"no {service} call expected when links go through the CDN")

    monkeypatch.setattr(storage, "client", no_s3)
    monkeypatch.setattr(storage, "get_settings", lambda: settings)
    return config


def _cloudfront_base64(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def _verify_canned(url: str, public_key: rsa.RSAPublicKey) -> None:
    """Check a signed URL as CloudFront does: the canned policy for the URL without its signing parameters."""
    parts = urlsplit(url)
    query = _query(url)
    kept = "&".join(p for p in parts.query.split("&") if p.split("=")[0] not in ("Expires", "Signature", "Key-Pair-Id"))
    resource = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{kept}" if kept else "")
    policy = ('{"Statement":[{"Resource":"' + resource + '","Condition":{"DateLessThan":{"AWS:EpochTime":'
              + query["Expires"] + "}}}]}")
    public_key.verify(_cloudfront_base64(query["Signature"]), policy.encode(), padding.PKCS1v15(), hashes.SHA1())


def test_promoted_upload_through_the_cdn_is_a_verifiable_signed_url(cdn: DocumentsCdn,
                                                                      rsa_key: rsa.RSAPrivateKey) -> None:
    key = storage.document_key("rohil", "app-1", "ktp", 2)
    before = int(time.time())
    url = storage.upload_url(key, 'ktp "asli".pdf')
    parts, query = urlsplit(url), _query(url)
    assert f"{parts.scheme}://{parts.netloc}" == CDN_URL and parts.path == f"/{key}"
    assert set(query) == {"Expires", "Signature", "Key-Pair-Id"}  # no S3 signature, no response-* overrides
    assert query["Key-Pair-Id"] == KEY_PAIR_ID
    assert before + 300 <= int(query["Expires"]) <= int(time.time()) + 300
    _verify_canned(url, rsa_key.public_key())


def test_issued_document_through_the_cdn_is_signed_for_its_own_path_only(cdn: DocumentsCdn,
                                                                          rsa_key: rsa.RSAPrivateKey) -> None:
    key = storage.issued_key("rohil", "app-1", "permit-c1")
    url = storage.download_url(key, "surat-izin.pdf", inline=True)
    assert urlsplit(url).path == f"/{key}"
    _verify_canned(url, rsa_key.public_key())
    other = url.replace("permit-c1", "rejection")  # the signature does not open another document
    with pytest.raises(InvalidSignature):
        _verify_canned(other, rsa_key.public_key())
    with pytest.raises(InvalidSignature):  # nor does another key pair's public key verify it
        _verify_canned(url, rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key())


def test_keys_outside_the_served_prefixes_still_raise_with_the_cdn(cdn: DocumentsCdn) -> None:
    for sneaky in (storage.quarantine_key("rohil", "app-1", "abc"), "documents/../quarantine/x.pdf",
                   storage.issued_key("rohil", "app-1", "permit-c1")):
        with pytest.raises(ValueError):
            storage.upload_url(sneaky, "ktp.pdf")
    with pytest.raises(ValueError):
        storage.download_url(storage.document_key("rohil", "app-1", "ktp", 1), "ktp.pdf")


def test_a_cdn_key_that_is_not_rsa_is_refused(cdn: DocumentsCdn, monkeypatch: pytest.MonkeyPatch) -> None:
    ec_cdn = DocumentsCdn(url=CDN_URL, key_pair_id=KEY_PAIR_ID, private_key_pem=_pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(SecretUnavailable, match="RSA"):
        storage.cdn_signed_url(ec_cdn, storage.issued_key("rohil", "app-1", "permit-c1"), 300)
    with pytest.raises(SecretUnavailable):
        storage.cdn_signed_url(DocumentsCdn(url=CDN_URL, key_pair_id=KEY_PAIR_ID, private_key_pem="-----BEGIN x"),
                               storage.issued_key("rohil", "app-1", "permit-c1"), 300)


# ----------------------------------------------------------------------------- which way links go (Settings)

_REQUIRED = {name: "x" for name in ("applications_table", "uploads_table", "tasks_table", "events_table", "counters_table",
                                     "permits_table", "surveys_table", "codes_table", "idempotency_table", "messages_table",
                                     "uploads_bucket", "documents_bucket", "notifications_topic_arn", "user_pool_id",
                                     "user_pool_client_id", "cognito_jwks_url", "cognito_issuer", "public_base_url",
                                     "data_dir")}


@pytest.fixture(autouse=True)
def _no_cdn_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read the environment too: an in-process local stack earlier in this worker leaves its functions'
    variables (the CDN secret's name among them) behind."""
    for name in ("DOCUMENTS_CDN_URL", "DOCUMENTS_CDN_KEY_PAIR_ID", "DOCUMENTS_CDN_PARAMETER_NAME",
                 "DOCUMENTS_CDN_PRIVATE_KEY_SECRET_NAME"):
        monkeypatch.delenv(name, raising=False)


class _FakeSsm:
    """get_parameter from a dict, counting calls; ParameterNotFound like the real client."""

    class exceptions:  # noqa: N801 - mirrors boto3's client.exceptions
        class ParameterNotFound(Exception):
            pass

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls = 0

    def get_parameter(self, Name: str) -> dict[str, Any]:  # noqa: N803 - boto3's argument name
        self.calls += 1
        if Name not in self.values:
            raise self.exceptions.ParameterNotFound(Name)
        return {"Parameter": {"Value": self.values[Name]}}


@pytest.fixture
def secrets_and_ssm(monkeypatch: pytest.MonkeyPatch, rsa_key: rsa.RSAPrivateKey) -> tuple[dict[str, Any], _FakeSsm]:
    secrets = {"cdn-key": _pem(rsa_key)}
    ssm = _FakeSsm({})
    monkeypatch.setattr(Settings, "secret", lambda self, name, transform=None: secrets[name])
    from silastri.adapters import aws

    monkeypatch.setattr(aws, "client", lambda service: ssm)
    return secrets, ssm


def test_no_cdn_parameter_means_presigned_links_and_is_cached(secrets_and_ssm: tuple[dict[str, Any], _FakeSsm]) -> None:
    _, ssm = secrets_and_ssm
    settings = Settings(**_REQUIRED, documents_cdn_parameter_name="/silastri/s/documents-cdn",
                        documents_cdn_private_key_secret_name="cdn-key")
    assert settings.documents_cdn() is None and settings.documents_cdn() is None
    assert ssm.calls == 1
    assert Settings(**_REQUIRED).documents_cdn() is None  # nothing configured (the local runtime's case)


def test_the_cdn_parameter_written_by_the_template_switches_links_to_the_cdn(
        secrets_and_ssm: tuple[dict[str, Any], _FakeSsm]) -> None:
    secrets, ssm = secrets_and_ssm
    ssm.values["/silastri/s/documents-cdn"] = f'{{"url": "{CDN_URL}/", "key_pair_id": "{KEY_PAIR_ID}"}}'
    settings = Settings(**_REQUIRED, documents_cdn_parameter_name="/silastri/s/documents-cdn",
                        documents_cdn_private_key_secret_name="cdn-key")
    cdn = settings.documents_cdn()
    assert cdn == DocumentsCdn(url=CDN_URL, key_pair_id=KEY_PAIR_ID, private_key_pem=secrets["cdn-key"])
    assert "PRIVATE KEY" not in repr(cdn)
    secrets["cdn-key"] = '{"password": ""}'  # deployed, but the key was not put into its secret yet: loud
    with pytest.raises(SecretUnavailable, match="PEM"):
        settings.documents_cdn()
    ssm.values["/silastri/s/documents-cdn"] = '{"url": "http://plain.example"}'
    fresh = Settings(**_REQUIRED, documents_cdn_parameter_name="/silastri/s/documents-cdn",
                     documents_cdn_private_key_secret_name="cdn-key")
    with pytest.raises(ConfigurationUnavailable):
        fresh.documents_cdn()


def test_a_directly_given_cdn_is_validated_at_start(secrets_and_ssm: tuple[dict[str, Any], _FakeSsm]) -> None:
    direct = Settings(**_REQUIRED, documents_cdn_url=CDN_URL, documents_cdn_key_pair_id=KEY_PAIR_ID,
                      documents_cdn_private_key_secret_name="cdn-key")
    assert direct.documents_cdn() is not None and direct.documents_cdn().url == CDN_URL  # type: ignore[union-attr]
    for wrong in ({"documents_cdn_url": CDN_URL, "documents_cdn_private_key_secret_name": "cdn-key"},
                  {"documents_cdn_key_pair_id": KEY_PAIR_ID},
                  {"documents_cdn_url": "http://d1.cloudfront.net", "documents_cdn_key_pair_id": KEY_PAIR_ID,
                   "documents_cdn_private_key_secret_name": "cdn-key"},
                  {"documents_cdn_url": CDN_URL, "documents_cdn_key_pair_id": KEY_PAIR_ID}):
        with pytest.raises(ValidationError):
            Settings(**_REQUIRED, **wrong)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_report_export_is_stored_under_an_unguessable_key_and_served_as_a_download(s3: _RecordingS3) -> None:
    """A spreadsheet cannot pass API Gateway's REST API to a browser: it is stored and linked like the PDFs."""
    key = storage.put_export("rokan-hilir", "laporan-rokan-hilir-2026-11-01-2026-11-30-sip.xlsx", b"PK\x03\x04", XLSX)
    assert key.startswith("exports/rokan-hilir/") and key.endswith("/laporan-rokan-hilir-2026-11-01-2026-11-30-sip.xlsx")
    assert key != storage.put_export("rokan-hilir", "laporan.xlsx", b"PK", XLSX).rsplit("/", 1)[0]  # fresh each time
    stored = s3.puts[0]
    assert (stored["Bucket"], stored["Key"], stored["Body"], stored["ContentType"]) == ("documents", key, b"PK\x03\x04", XLSX)
    assert stored["ContentDisposition"] == 'attachment; filename="laporan-rokan-hilir-2026-11-01-2026-11-30-sip.xlsx"'
    url = storage.export_url(key, "laporan.xlsx", XLSX)
    query = _query(url)
    assert urlsplit(url).path.endswith(key)
    assert query["response-content-type"] == XLSX
    assert query["response-content-disposition"] == 'attachment; filename="laporan.xlsx"'
    assert query["response-cache-control"] == "private, no-store"
    assert query["X-Amz-Expires"] == "300"
    with pytest.raises(ValueError):
        storage.export_url("issued/rokan-hilir/app-1/permit.pdf", "izin.pdf", XLSX)  # only exports
