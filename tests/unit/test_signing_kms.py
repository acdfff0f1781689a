"""KMS-backed PAdES signer (adapters/signing_kms.py), against the KMS API contract via botocore's Stubber.

The test owns the private key: the stubbed ``kms:Sign`` response is computed from the exact digest
the adapter sends (captured by an ``expected_params`` matcher), so the resulting PDF carries a real
signature that must verify against the locally made CA.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from asn1crypto import cms
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.reader import PdfFileReader
from reportlab.pdfgen import canvas
from silastri.adapters.signing import (
    DIGEST_MISMATCH,
    UNTRUSTED_SIGNER,
    Signer,
    SignerIdentity,
    SigningError,
    verify_signed_pdf,
)
from silastri.adapters.signing_kms import KmsSigner

REGION = "ap-southeast-3"
KEY_ARN = "arn:aws:kms:ap-southeast-3:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
HEAD = SignerIdentity(
    name="Drs. H. Ahmad Yani, M.Si",
    title="Kepala Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu",
)


# -- local PKI ---------------------------------------------------------------------------------


def _name(common_name: str, title: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SILASTRI TEST"),
    ]
    if title:
        attributes.append(x509.NameAttribute(NameOID.TITLE, title))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=not ca,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


class Pki:
    """A root CA and one end-entity certificate for ``key`` (the "KMS" key, held by the test)."""

    def __init__(self, key: Any) -> None:
        now = datetime.now(UTC)
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name("SILASTRI Test Root CA")
        self.root = (
            x509.CertificateBuilder()
            .subject_name(root_name)
            .issuer_name(root_name)
            .public_key(self.root_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(ca=True), critical=True)
            .sign(self.root_key, hashes.SHA256())
        )
        self.key = key
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(_name(HEAD.name, HEAD.title))
            .issuer_name(root_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(ca=False), critical=True)
            .sign(self.root_key, hashes.SHA256())
        )

    @property
    def root_pem(self) -> bytes:
        return self.root.public_bytes(Encoding.PEM)

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(Encoding.PEM)

    def kms_sign(self, digest: bytes) -> bytes:
        """What KMS does for MessageType=DIGEST: sign the given SHA-256 digest as is."""
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return self.key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        return self.key.sign(digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))


@pytest.fixture(scope="module")
def ec_pki() -> Pki:
    return Pki(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="module")
def rsa_pki() -> Pki:
    return Pki(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="module")
def pdf() -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "SURAT IZIN OPERASIONAL - 503/DPMPTSP-IOS/0007/XI/2026")
    page.showPage()
    page.save()
    return buffer.getvalue()


@pytest.fixture
def kms() -> Any:
    return boto3.client(
        "kms", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


# -- the stub ----------------------------------------------------------------------------------


class SignsDigest:
    """``expected_params`` matcher for ``Message``: checks it is a 32-byte digest, records it and
    fills the queued response's ``Signature`` with a real signature over it (Stubber compares the
    expected value with ``!=`` before returning the queued response, which it does not copy)."""

    def __init__(self, pki: Pki, response: dict[str, Any]) -> None:
        self.pki = pki
        self.response = response
        self.digests: list[bytes] = []

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, bytes) or len(other) != 32:
            return False
        self.digests.append(other)
        self.response["Signature"] = self.pki.kms_sign(other)
        return True

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<32-byte SHA-256 digest>"


def stub_sign(stubber: Stubber, pki: Pki, algorithm: str, *, signer_pki: Pki | None = None) -> SignsDigest:
    """Queue one kms:Sign response; ``signer_pki`` lets the "KMS key" differ from the certificate."""
    response: dict[str, Any] = {
        "KeyId": KEY_ARN,
        "Signature": b"\x00",  # replaced by the matcher with the real signature
        "SigningAlgorithm": algorithm,
    }
    matcher = SignsDigest(signer_pki or pki, response)
    stubber.add_response(
        "sign",
        response,
        expected_params={
            "KeyId": KEY_ARN,
            "Message": matcher,
            "MessageType": "DIGEST",
            "SigningAlgorithm": algorithm,
        },
    )
    return matcher


def signed_attributes_digest(signed_pdf: bytes) -> bytes:
    """SHA-256 of the DER SET OF signed attributes of the (only) embedded signature."""
    reader = PdfFileReader(io.BytesIO(signed_pdf), strict=False)
    (embedded,) = reader.embedded_signatures
    signer_info: cms.SignerInfo = embedded.signer_info
    der = signer_info["signed_attrs"].dump()
    return hashlib.sha256(b"\x31" + der[1:]).digest()  # [0] IMPLICIT -> SET OF


# -- tests -------------------------------------------------------------------------------------


def test_ecdsa_signature_from_kms_verifies(ec_pki: Pki, pdf: bytes, kms: Any) -> None:
    signer = KmsSigner(KEY_ARN, ec_pki.certificate_pem, [ec_pki.root_pem], kms_client=kms)
    assert isinstance(signer, Signer)
    assert signer.signing_algorithm == "ECDSA_SHA_256"
    with Stubber(kms) as stubber:
        matcher = stub_sign(stubber, ec_pki, "ECDSA_SHA_256")
        signed = signer.sign_pdf(pdf, signer=HEAD, reason="Penetapan izin", location="Bagansiapiapi")
        stubber.assert_no_pending_responses()  # exactly one kms:Sign (the dry run does not call KMS)

    (digest,) = matcher.digests
    assert len(digest) == 32
    assert digest == signed_attributes_digest(signed)  # the exact digest pyHanko had signed
    assert digest != hashlib.sha256(pdf).digest()
    assert signed.startswith(pdf)  # incremental update

    report = verify_signed_pdf(signed, [ec_pki.root_pem])
    assert report.valid, report.reasons
    assert report.signer_name == HEAD.name
    assert report.signer_title == HEAD.title
    assert signer.trust_roots_pem() == [ec_pki.root_pem]
    assert verify_signed_pdf(signed, signer.trust_roots_pem()).valid


def test_rsa_certificate_selects_pkcs1_v15(rsa_pki: Pki, pdf: bytes, kms: Any) -> None:
    signer = KmsSigner(KEY_ARN, rsa_pki.certificate_pem + rsa_pki.root_pem, kms_client=kms)
    assert signer.signing_algorithm == "RSASSA_PKCS1_V1_5_SHA_256"
    with Stubber(kms) as stubber:
        matcher = stub_sign(stubber, rsa_pki, "RSASSA_PKCS1_V1_5_SHA_256")
        signed = signer.sign_pdf(pdf, signer=HEAD, reason="Penetapan izin", location="Bagansiapiapi")
        stubber.assert_no_pending_responses()
    assert matcher.digests == [signed_attributes_digest(signed)]
    report = verify_signed_pdf(signed, signer.trust_roots_pem())
    assert report.valid, report.reasons


def test_second_signature_uses_next_field_and_keeps_first_valid(ec_pki: Pki, pdf: bytes, kms: Any) -> None:
    signer = KmsSigner(KEY_ARN, ec_pki.certificate_pem, [ec_pki.root_pem], kms_client=kms)
    with Stubber(kms) as stubber:
        stub_sign(stubber, ec_pki, "ECDSA_SHA_256")
        stub_sign(stubber, ec_pki, "ECDSA_SHA_256")
        once = signer.sign_pdf(pdf, signer=HEAD, reason="Paraf", location="Bagansiapiapi")
        twice = signer.sign_pdf(once, signer=HEAD, reason="Penetapan izin", location="Bagansiapiapi")
        stubber.assert_no_pending_responses()
    names = [s.field_name for s in PdfFileReader(io.BytesIO(twice), strict=False).embedded_signatures]
    assert names == ["TTE1", "TTE2"]
    assert verify_signed_pdf(twice, [ec_pki.root_pem]).valid


def test_kms_error_raises_signing_error_and_no_pdf(ec_pki: Pki, pdf: bytes, kms: Any) -> None:
    signer = KmsSigner(KEY_ARN, ec_pki.certificate_pem, [ec_pki.root_pem], kms_client=kms)
    result: bytes | None = None
    with Stubber(kms) as stubber:
        stubber.add_client_error(
            "sign",
            service_error_code="KMSInvalidStateException",
            service_message=f"{KEY_ARN} is pending deletion.",
            http_status_code=400,
        )
        with pytest.raises(SigningError, match="KMSInvalidStateException") as caught:
            result = signer.sign_pdf(pdf, signer=HEAD, reason="Penetapan izin", location="Bagansiapiapi")
        stubber.assert_no_pending_responses()
    assert result is None
    assert KEY_ARN in str(caught.value)
    assert type(caught.value) is SigningError  # the port's error, not pyHanko's or botocore's


def test_key_not_matching_certificate_is_refused(ec_pki: Pki, pdf: bytes, kms: Any) -> None:
    other = Pki(ec.generate_private_key(ec.SECP256R1()))
    signer = KmsSigner(KEY_ARN, ec_pki.certificate_pem, [ec_pki.root_pem], kms_client=kms)
    with Stubber(kms) as stubber:
        stub_sign(stubber, ec_pki, "ECDSA_SHA_256", signer_pki=other)
        with pytest.raises(SigningError, match="does not match the configured certificate"):
            signer.sign_pdf(pdf, signer=HEAD, reason="Penetapan izin", location="Bagansiapiapi")


def test_unreadable_pdf_never_reaches_kms(ec_pki: Pki, kms: Any) -> None:
    signer = KmsSigner(KEY_ARN, ec_pki.certificate_pem, [ec_pki.root_pem], kms_client=kms)
    with Stubber(kms), pytest.raises(SigningError, match="cannot sign PDF"):
        # no response queued: any kms:Sign call would fail with UnStubbedResponseError
        signer.sign_pdf(b"%PDF-1.7 garbage", signer=HEAD, reason="x", location="y")


def test_signature_does_not_verify_against_a_foreign_root(ec_pki: Pki, pdf: bytes, kms: Any) -> None:
    signer = KmsSigner(KEY_ARN, ec_pki.certificate_pem, [ec_pki.root_pem], kms_client=kms)
    with Stubber(kms) as stubber:
        stub_sign(stubber, ec_pki, "ECDSA_SHA_256")
        signed = signer.sign_pdf(pdf, signer=HEAD, reason="Penetapan izin", location="Bagansiapiapi")
    foreign = Pki(ec.generate_private_key(ec.SECP256R1()))
    assert verify_signed_pdf(signed, [foreign.root_pem]).reasons == [UNTRUSTED_SIGNER]
    tampered = signed.replace(b"/Reason (Penetapan izin)", b"/Reason (Penetapan izim)")
    assert tampered != signed
    assert DIGEST_MISMATCH in verify_signed_pdf(tampered, [ec_pki.root_pem]).reasons


def test_unsupported_keys_are_rejected_at_construction(kms: Any) -> None:
    p384 = Pki(ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ValueError, match="ECC_NIST_P256"):
        KmsSigner(KEY_ARN, p384.certificate_pem, kms_client=kms)
    with pytest.raises(ValueError, match="unreadable certificate"):
        KmsSigner(KEY_ARN, b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", kms_client=kms)
    with pytest.raises(ValueError, match="key_id"):
        KmsSigner("", p384.certificate_pem, kms_client=kms)
