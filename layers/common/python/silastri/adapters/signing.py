"""Electronic signatures (TTE) on issued PDFs: the signer port, a development PKI, verification.

Production signatures come from a certified authority (BSrE); this module provides the port
(:class:`Signer`), the local adapter (:class:`DevPkiSigner`, a self-made development CA whose
certificates say "DEVELOPMENT" everywhere) and :func:`verify_signed_pdf`, which checks any PAdES
signature against explicitly given trust roots: the signer's chain (root → intermediate → signer
as BSrE issues it, or a one-level development chain) and, when present, the RFC 3161 timestamp of
the signature (PAdES-BASELINE-T, as BSrE produces) or a document timestamp, whose TSA must chain
to the same roots. pyHanko and cryptography are imported inside the functions that need them so
that importing this module stays cheap.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pathlib
import re
import tempfile
import threading
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from cryptography import x509 as cx509
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey

DEV_ORGANISATION = "SILASTRI (DEVELOPMENT)"
DEV_ROOT_COMMON_NAME = "SILASTRI Development Root CA — NOT FOR PRODUCTION"
ROOT_VALIDITY = timedelta(days=20 * 365)
SIGNER_VALIDITY = timedelta(days=5 * 365)
SIGNER_RENEW_BEFORE = timedelta(days=30)
BACKDATE = timedelta(days=1)
ACTING_PREFIX = "Plt. "

_ROOT_BUNDLE = "root-ca.pem"
_ROOT_CERT = "root-ca.crt"
_SIGNERS_DIR = "signers"
_CERT_END = b"-----END CERTIFICATE-----"
_OID_DOCUMENT_SIGNING = "1.3.6.1.5.5.7.3.36"  # id-kp-documentSigning, RFC 9336

# Reason codes reported by verify_signed_pdf.
NO_SIGNATURE = "no-signature"
DIGEST_MISMATCH = "digest-mismatch"
SIGNATURE_INVALID = "signature-invalid"
UNTRUSTED_SIGNER = "untrusted-signer"
NOT_WHOLE_FILE = "not-whole-file"
MALFORMED = "malformed"
TIMESTAMP_INVALID = "timestamp-invalid"


class SigningError(Exception):
    """A PDF could not be signed (unreadable input or a failing signing backend)."""


class SignerIdentity(BaseModel):
    """The person who signs: name and position as they must appear in the certificate."""

    name: str = Field(min_length=1)
    title: str = Field(min_length=1)
    acting: bool = False

    @property
    def display_title(self) -> str:
        """The title as signed: prefixed with "Plt. " when the signer is acting."""
        if self.acting and not self.title.lower().startswith("plt."):
            return ACTING_PREFIX + self.title
        return self.title


class SignatureAppearance(BaseModel):
    """Where the visible TTE specimen goes (an office setting); visible=False (default) = invisible signature."""

    visible: bool = False
    image_png: bytes | None = None  # specimen / QR image (PNG or JPEG bytes)
    page: int = -1  # 1-based; -1 = last page
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0  # PDF points from the page's lower-left corner


class SignatureReport(BaseModel):
    """Outcome of :func:`verify_signed_pdf`; ``reasons`` holds machine codes when not valid.

    The timestamp fields describe the RFC 3161 timestamp of the last signature (PAdES-T) or, when a
    document timestamp follows it, the last document timestamp: ``timestamp_at`` is the TSA's time
    (UTC), ``timestamp_valid`` whether the token is intact and its TSA chains to the trust roots
    (``None`` = no timestamp), ``timestamp_authority`` the TSA certificate's common name.
    """

    valid: bool
    reasons: list[str] = Field(default_factory=list)
    signer_name: str | None = None
    signer_title: str | None = None
    signed_at: datetime | None = None
    timestamp_at: datetime | None = None
    timestamp_valid: bool | None = None
    timestamp_authority: str | None = None


@runtime_checkable
class Signer(Protocol):
    """Port: applies a PAdES signature to a PDF on behalf of a named signer."""

    def sign_pdf(
        self,
        pdf: bytes,
        *,
        signer: SignerIdentity,
        reason: str,
        location: str,
        appearance: SignatureAppearance | None = None,
    ) -> bytes:
        """Return ``pdf`` with a PAdES signature appended as an incremental update.

        ``appearance`` places a visible specimen; ``None`` or ``visible=False`` signs invisibly.

        Raises:
            SigningError: the document could not be signed.
        """
        ...

    def trust_roots_pem(self) -> list[bytes]:
        """PEM certificates a verifier must trust to accept this signer's signatures."""
        ...


class _Credentials:
    """A loaded key pair with its certificate (cryptography objects)."""

    __slots__ = ("certificate", "key")

    def __init__(self, certificate: cx509.Certificate, key: EllipticCurvePrivateKey) -> None:
        self.certificate = certificate
        self.key = key


class DevPkiSigner:
    """Development signer backed by a local, self-made CA (never use it for real permits).

    On first use it creates ``directory/root-ca.pem`` (root key and certificate, mode 0600),
    ``directory/root-ca.crt`` (root certificate only, to import into a PDF reader) and one
    ``directory/signers/<name>-<hash>.pem`` per signer name and title. Files are published with
    an atomic create-if-absent (hard link from a private temporary file), so concurrent processes
    agree on one root; loaded credentials are cached in memory per instance.
    """

    def __init__(self, directory: pathlib.Path) -> None:
        self._directory = pathlib.Path(directory)
        self._lock = threading.RLock()
        self._root: _Credentials | None = None
        self._signers: dict[tuple[str, str], Any] = {}

    @property
    def directory(self) -> pathlib.Path:
        """Where the PKI files live."""
        return self._directory

    def trust_roots_pem(self) -> list[bytes]:
        """The development root certificate, PEM encoded."""
        from cryptography.hazmat.primitives.serialization import Encoding

        return [self._root_credentials().certificate.public_bytes(Encoding.PEM)]

    def sign_pdf(
        self,
        pdf: bytes,
        *,
        signer: SignerIdentity,
        reason: str,
        location: str,
        appearance: SignatureAppearance | None = None,
    ) -> bytes:
        """Sign ``pdf`` (PAdES-B-B) as ``signer``; invisible unless ``appearance.visible``.

        Raises:
            SigningError: ``pdf`` cannot be parsed or signed, or the appearance does not fit it.
        """
        return pades_sign(
            pdf,
            self._pades_signer(signer),
            name=signer.name,
            reason=reason,
            location=location,
            appearance=appearance,
        )

    # -- credentials -------------------------------------------------------------------------

    def _pades_signer(self, identity: SignerIdentity) -> Any:
        """The cached pyHanko SimpleSigner for ``identity`` (issued on first use)."""
        key = (identity.name, identity.display_title)
        with self._lock:
            cached = self._signers.get(key)
            if cached is not None:
                return cached
            from asn1crypto import keys as asn1_keys
            from asn1crypto import x509 as asn1_x509
            from cryptography.hazmat.primitives.serialization import (
                Encoding,
                NoEncryption,
                PrivateFormat,
            )
            from pyhanko.sign import signers
            from pyhanko_certvalidator.registry import SimpleCertificateStore

            root = self._root_credentials()
            credentials = self._signer_credentials(root, identity.name, identity.display_title)
            cert = asn1_x509.Certificate.load(credentials.certificate.public_bytes(Encoding.DER))
            root_cert = asn1_x509.Certificate.load(root.certificate.public_bytes(Encoding.DER))
            private_key = asn1_keys.PrivateKeyInfo.load(
                credentials.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
            )
            pades_signer = signers.SimpleSigner(
                signing_cert=cert,
                signing_key=private_key,
                cert_registry=SimpleCertificateStore.from_certs([cert, root_cert]),
            )
            self._signers[key] = pades_signer
            return pades_signer

    def _root_credentials(self) -> _Credentials:
        with self._lock:
            if self._root is None:
                self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                bundle = self._directory / _ROOT_BUNDLE
                if not bundle.exists():
                    _publish_if_absent(bundle, _to_bundle(_new_root()))
                root = _from_bundle(bundle.read_bytes())
                self._write_public_root(root)
                self._root = root
            return self._root

    def _write_public_root(self, root: _Credentials) -> None:
        from cryptography.hazmat.primitives.serialization import Encoding

        pem = root.certificate.public_bytes(Encoding.PEM)
        target = self._directory / _ROOT_CERT
        if not target.exists() or target.read_bytes() != pem:
            _atomic_write(target, pem, mode=0o644)

    def _signer_credentials(self, root: _Credentials, name: str, title: str) -> _Credentials:
        folder = self._directory / _SIGNERS_DIR
        folder.mkdir(mode=0o700, exist_ok=True)
        path = folder / _signer_file_name(name, title)
        if not path.exists():
            _publish_if_absent(path, _to_bundle(_new_signer(root, name, title)))
        credentials = _from_bundle(path.read_bytes())
        if not _is_current(credentials.certificate, root.certificate):
            _atomic_write(path, _to_bundle(_new_signer(root, name, title)), mode=0o600)
            credentials = _from_bundle(path.read_bytes())
        return credentials


def pades_sign(
    pdf: bytes,
    pades_signer: Any,
    *,
    name: str,
    reason: str,
    location: str,
    appearance: SignatureAppearance | None = None,
    timestamper: Any = None,
) -> bytes:
    """Add a PAdES signature made by a pyHanko signer, as an incremental update, in the next free
    `TTE<n>` field. Every adapter signs through here.

    Invisible by default; with ``appearance.visible`` the field is a widget on ``appearance.page``
    (1-based, -1 = last) in the rectangle ``x, y, width, height`` (PDF points from the lower-left
    corner) showing ``appearance.image_png`` (or the signer's name and time when there is no
    image). With a pyHanko ``timestamper`` the signature gets an RFC 3161 signature timestamp
    (PAdES-BASELINE-T).

    Raises:
        SigningError: ``pdf`` cannot be parsed or signed, or the appearance does not fit it (a
            SigningError from the signer passes through).
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers
    from pyhanko.sign.fields import SigFieldSpec, SigSeedSubFilter, enumerate_sig_fields

    try:
        _sign_with_encoded_certificate_attribute(pades_signer)
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        taken = {field for field, _, _ in enumerate_sig_fields(writer.prev)}
        field_name = next(f"TTE{n}" for n in range(1, len(taken) + 2) if f"TTE{n}" not in taken)
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
            name=name,
        )
        field_spec = None
        stamp_style = None
        if appearance is not None and appearance.visible:
            page_count = int(writer.root["/Pages"]["/Count"])
            index = _page_index(appearance, page_count)
            box = (
                int(round(appearance.x)),
                int(round(appearance.y)),
                int(round(appearance.x + appearance.width)),
                int(round(appearance.y + appearance.height)),
            )
            field_spec = SigFieldSpec(sig_field_name=field_name, on_page=index, box=box)
            stamp_style = _stamp_style(appearance)
        pdf_signer = signers.PdfSigner(
            metadata,
            pades_signer,
            timestamper=timestamper,
            stamp_style=stamp_style,
            new_field_spec=field_spec,
        )
        reserved = _reserved_for(pades_signer) if timestamper is None else None
        if reserved is None:
            output = pdf_signer.sign_pdf(writer)
            if timestamper is None:
                _remember_reserved(pades_signer, output.getvalue())
        else:
            try:
                output = pdf_signer.sign_pdf(writer, bytes_reserved=reserved)
            except SigningError:  # the signer's own refusal (e.g. KMS): never signed twice
                raise
            except Exception:  # the signature outgrew the remembered room: sign afresh with pyHanko's estimate
                _forget_reserved(pades_signer)
                return pades_sign(pdf, pades_signer, name=name, reason=reason, location=location,
                                  appearance=appearance, timestamper=timestamper)
    except SigningError:
        raise
    except Exception as exc:
        raise SigningError(f"cannot sign PDF: {type(exc).__name__}: {exc}") from exc
    return bytes(output.getvalue())


# pyHanko sizes the room for the signature (CMS) by making a whole dummy signature first: nearly half the cost of a
# signing. Without a timestamp the CMS of one signer keeps its size (same certificates, fixed-size attributes), so the
# room pyHanko reserved the first time is remembered per signer object and given again (an overflow falls back to a
# fresh estimate). Signatures with a timestamp (its token varies) are always estimated.
_RESERVED: dict[int, tuple[Any, int]] = {}
_RESERVED_LOCK = threading.Lock()
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def _reserved_for(pades_signer: Any) -> int | None:
    with _RESERVED_LOCK:
        found = _RESERVED.get(id(pades_signer))
    return found[1] if found is not None and found[0] is pades_signer else None


def _remember_reserved(pades_signer: Any, signed: bytes) -> None:
    """Record the room pyHanko reserved in `signed`: the gap of its last /ByteRange, less the hex string's brackets
    (pyHanko counts the placeholder in file bytes, an even number)."""
    matches = list(_BYTE_RANGE.finditer(signed))
    if not matches:
        return
    _, first_length, second_start, _ = (int(group) for group in matches[-1].groups())
    room = second_start - first_length - 2
    if room > 0 and room % 2 == 0:
        with _RESERVED_LOCK:
            if len(_RESERVED) >= 256:  # signers are long-lived and few; never let the memo grow without bound
                _RESERVED.clear()
            _RESERVED[id(pades_signer)] = (pades_signer, room)


def _forget_reserved(pades_signer: Any) -> None:
    with _RESERVED_LOCK:
        _RESERVED.pop(id(pades_signer), None)


def _sign_with_encoded_certificate_attribute(pades_signer: Any) -> None:
    """Give a pyHanko signer (once) the PAdES signed attributes pyHanko would give it, with the one that names the
    signer's certificate (ESS signing-certificate-v2, RFC 5035) encoded once instead of for every signature.

    pyHanko builds that attribute afresh from the certificate for each signature, and asn1crypto then encodes it
    again at each of the several times the attributes are serialised (hashed, signed, packed): two thirds of a
    signing's CPU time. A PAdES signature's signed attributes are exactly content-type, message-digest and this one
    (no signing-time, no CAdES extras here: `pades_sign` asks for none), so the same bytes are signed. Signers
    with their own attribute setting, or without a certificate yet, are left as they are."""
    if getattr(pades_signer, "signed_attr_prov_spec", True) is not None or pades_signer.signing_cert is None:
        return
    from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute

    encoded = simple_cms_attribute("signing_certificate_v2", as_signing_certificate_v2(pades_signer.signing_cert))
    pades_signer.signed_attr_prov_spec = _encoded_attribute_classes()[1](encoded.dump())


@functools.cache
def _encoded_attribute_classes() -> tuple[type, type]:
    """pyHanko's attribute-provider classes for `_sign_with_encoded_certificate_attribute` (defined on first use,
    so that importing this module does not import pyHanko)."""
    from asn1crypto import cms
    from pyhanko.sign.attributes import CMSAttributeProvider, SignedAttributeProviderSpec

    class EncodedAttribute(CMSAttributeProvider):
        """A signed attribute given once as DER; each signature reads it back (lazily parsed, so it is serialised
        by copying these bytes)."""

        attribute_type = "signing_certificate_v2"

        def __init__(self, encoded: bytes) -> None:
            self.encoded = encoded

        async def get_attribute(self, dry_run: bool = False) -> Any:
            return cms.CMSAttribute.load(self.encoded)

    class PadesAttributes(SignedAttributeProviderSpec):
        """pyHanko's PAdES signed attributes (its `CAdESSignedAttributeProviderSpec` with `is_pades` and no CAdES
        extras): the signing certificate, given encoded; pyHanko adds content-type and message-digest itself."""

        def __init__(self, encoded: bytes) -> None:
            self.encoded = encoded

        def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str) -> Any:
            yield EncodedAttribute(self.encoded)

    return EncodedAttribute, PadesAttributes


def _page_index(appearance: SignatureAppearance, page_count: int) -> int:
    """0-based page index of a visible appearance; raises SigningError when it does not fit."""
    if appearance.width <= 0 or appearance.height <= 0:
        raise SigningError("visible signature needs a positive width and height")
    if appearance.page == -1:
        return page_count - 1
    if not 1 <= appearance.page <= page_count:
        raise SigningError(f"visible signature on page {appearance.page}, but the document has {page_count}")
    return appearance.page - 1


def _stamp_style(appearance: SignatureAppearance) -> Any:
    """pyHanko stamp style: the specimen image filling the box, or a text stamp without one."""
    from pyhanko import stamp

    if not appearance.image_png:
        return stamp.TextStampStyle(stamp_text="Ditandatangani secara elektronik oleh\n%(signer)s\n%(ts)s")
    from PIL import Image
    from pyhanko.pdf_utils.images import PdfImage

    try:
        image = Image.open(io.BytesIO(appearance.image_png))
        image.load()
    except Exception as exc:
        raise SigningError(f"specimen image cannot be read: {type(exc).__name__}") from None
    return stamp.StaticStampStyle(background=PdfImage(image), border_width=0, background_opacity=1.0)


def verify_signed_pdf(pdf: bytes, trust_roots_pem: list[bytes]) -> SignatureReport:
    """Verify every PAdES/PKCS#7 signature and document timestamp in ``pdf`` against
    ``trust_roots_pem``; never raises.

    The document is valid when each signature is intact, cryptographically valid and chains to
    one of the roots (intermediate certificates are taken from the signature itself), every
    timestamp present (signature timestamp or document timestamp) is intact and its TSA chains to
    one of the roots, and the last revision covers the entire file (earlier ones may only be
    followed by further signatures or timestamps). Signer fields describe the last signature;
    timestamp fields see :class:`SignatureReport`.
    """
    try:
        return _off_the_event_loop(_verify, pdf, trust_roots_pem)
    except Exception:
        return SignatureReport(valid=False, reasons=[MALFORMED])


def _off_the_event_loop(function: Any, *args: Any) -> Any:
    """pyHanko's sync API runs its own asyncio loop: inside a thread that already runs one (e.g. a
    Playwright or async web host), do the work on a short-lived worker thread instead."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def _verify(pdf: bytes, trust_roots_pem: list[bytes]) -> SignatureReport:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
    except Exception:
        return SignatureReport(valid=False, reasons=[MALFORMED])
    if not signatures:
        return SignatureReport(valid=False, reasons=[NO_SIGNATURE])

    roots = _load_trust_roots(trust_roots_pem)
    reasons: list[str] = []
    report = SignatureReport(valid=False)
    for index, embedded in enumerate(signatures):
        is_last = index == len(signatures) - 1
        is_document_timestamp = embedded.sig_object_type == "/DocTimeStamp"
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        ts_context = ValidationContext(trust_roots=roots, allow_fetching=False)
        try:
            if is_document_timestamp:
                status: Any = validate_pdf_timestamp(embedded, validation_context=ts_context)
            else:
                status = validate_pdf_signature(
                    embedded, signer_validation_context=context, ts_validation_context=ts_context
                )
        except Exception:
            reasons.append(MALFORMED)
            continue
        if is_document_timestamp:
            ok = _timestamp_ok(status)
            if not ok:
                reasons.append(TIMESTAMP_INVALID)
            report.timestamp_at = status.timestamp
            report.timestamp_valid = ok
            report.timestamp_authority = _common_name(status.signing_cert)
        else:
            if not status.intact:
                reasons.append(DIGEST_MISMATCH)
            elif not status.valid:
                reasons.append(SIGNATURE_INVALID)
            # judged apart from integrity: pyHanko's ``trusted`` is also False for a broken digest
            if status.validation_path is None or status.trust_problem_indic is not None or status.revoked:
                reasons.append(UNTRUSTED_SIGNER)
            token = status.timestamp_validity
            if token is not None and not _timestamp_ok(token):
                reasons.append(TIMESTAMP_INVALID)
            name, title = _subject_name_and_title(embedded.signer_cert)
            report.signer_name = name
            report.signer_title = title
            report.signed_at = status.signer_reported_dt
            report.timestamp_at = token.timestamp if token is not None else None
            report.timestamp_valid = _timestamp_ok(token) if token is not None else None
            report.timestamp_authority = _common_name(token.signing_cert) if token is not None else None
        if is_last:
            if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
                reasons.append(NOT_WHOLE_FILE)
        elif not (
            status.coverage >= SignatureCoverageLevel.ENTIRE_REVISION
            and status.modification_level is not None
            and status.modification_level <= ModificationLevel.FORM_FILLING
            and (is_document_timestamp or status.docmdp_ok)
        ):
            reasons.append(NOT_WHOLE_FILE)
    report.reasons = list(dict.fromkeys(reasons))
    report.valid = not report.reasons
    return report


def _timestamp_ok(status: Any) -> bool:
    """An RFC 3161 token is accepted when intact, valid and its TSA chains to a trust root."""
    return bool(
        status.intact
        and status.valid
        and status.validation_path is not None
        and status.trust_problem_indic is None
        and not getattr(status, "revoked", False)
    )


def _common_name(certificate: Any) -> str | None:
    try:
        name = certificate.subject.native.get("common_name")
    except Exception:
        return None
    return str(name) if name else None


def _load_trust_roots(trust_roots_pem: list[bytes]) -> list[Any]:
    """Parse PEM (or DER) certificates; unreadable entries are skipped, so they trust nothing."""
    from asn1crypto import pem
    from asn1crypto import x509 as asn1_x509

    roots: list[Any] = []
    for data in trust_roots_pem:
        try:
            if pem.detect(data):
                roots.extend(
                    asn1_x509.Certificate.load(der) for _, _, der in pem.unarmor(data, multiple=True)
                )
            else:
                roots.append(asn1_x509.Certificate.load(data))
        except Exception:  # noqa: S112 - a broken root must not break verification
            continue
    return roots


def _subject_name_and_title(certificate: Any) -> tuple[str | None, str | None]:
    subject = certificate.subject.native
    name = subject.get("common_name")
    title = subject.get("title")
    return (str(name) if name else None, str(title) if title else None)


# -- key and certificate generation --------------------------------------------------------------


def _new_key() -> EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _new_root() -> _Credentials:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, DEV_ROOT_COMMON_NAME),
        ]
    )
    now = datetime.now(UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + ROOT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return _Credentials(certificate, key)


def _new_signer(root: _Credentials, name: str, title: str) -> _Credentials:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = _new_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "ID"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEV_ORGANISATION),
            x509.NameAttribute(NameOID.TITLE, title),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    now = datetime.now(UTC)
    not_after = min(now + SIGNER_VALIDITY, root.certificate.not_valid_after_utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(root.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [x509.ObjectIdentifier(_OID_DOCUMENT_SIGNING), ExtendedKeyUsageOID.EMAIL_PROTECTION]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), critical=False
        )
        .sign(root.key, hashes.SHA256())
    )
    return _Credentials(certificate, key)


def _is_current(certificate: cx509.Certificate, root: cx509.Certificate) -> bool:
    """Issued by ``root`` and not about to expire."""
    try:
        certificate.verify_directly_issued_by(root)
    except Exception:
        return False
    return certificate.not_valid_after_utc - datetime.now(UTC) > SIGNER_RENEW_BEFORE


def _signer_file_name(name: str, title: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or "signer"
    digest = hashlib.sha256(f"{name}\x00{title}".encode()).hexdigest()[:12]
    return f"{slug}-{digest}.pem"


# -- files -------------------------------------------------------------------------------------


def _to_bundle(credentials: _Credentials) -> bytes:
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    return credentials.certificate.public_bytes(Encoding.PEM) + credentials.key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )


def _from_bundle(data: bytes) -> _Credentials:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    cert_pem, separator, key_pem = data.partition(_CERT_END)
    if not separator:
        raise ValueError("PKI bundle holds no certificate")
    certificate = x509.load_pem_x509_certificate(cert_pem + separator + b"\n")
    key = load_pem_private_key(key_pem.strip() + b"\n", password=None)
    if not isinstance(key, EllipticCurvePrivateKey):
        raise ValueError("PKI bundle holds an unexpected key type")
    return _Credentials(certificate, key)


def _write_temp(target: pathlib.Path, data: bytes, mode: int) -> pathlib.Path:
    """Write ``data`` to a fresh private file next to ``target`` and return its path."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    temp = pathlib.Path(name)
    try:
        os.write(fd, data)
        os.fsync(fd)
        os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return temp


def _publish_if_absent(target: pathlib.Path, data: bytes) -> None:
    """Atomically create ``target`` with ``data`` (mode 0600) unless another writer won the race."""
    temp = _write_temp(target, data, 0o600)
    try:
        os.link(temp, target)
    except FileExistsError:
        pass
    except OSError:
        # a file system without hard links: fall back to rename, atomic but last-writer-wins
        if not target.exists():
            os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _atomic_write(target: pathlib.Path, data: bytes, *, mode: int) -> None:
    """Replace ``target`` atomically (last writer wins)."""
    temp = _write_temp(target, data, mode)
    try:
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
