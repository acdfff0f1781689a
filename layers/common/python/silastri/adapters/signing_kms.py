"""PAdES signatures whose private key lives in AWS KMS (adapter for the :class:`Signer` port).

The head of office's signing key is an asymmetric KMS key (``SIGN_VERIFY``), either
``ECC_NIST_P256`` (signed with ``ECDSA_SHA_256``) or RSA (signed with
``RSASSA_PKCS1_V1_5_SHA_256``); the algorithm follows the key type of the configured certificate.
pyHanko builds the CMS structure and its signed attributes; only the SHA-256 digest of the DER
encoded signed attributes (32 bytes) is sent to ``kms:Sign`` with ``MessageType="DIGEST"``. The
document itself never leaves the process.

Before the signature value is embedded it is checked against the certificate's public key, so a
KMS key that does not belong to the certificate fails loudly instead of producing a PDF that no
verifier accepts. pyHanko's size-estimation pass (``dry_run``) is answered with a placeholder of
the maximal signature length and never calls KMS, so each signed PDF costs exactly one
``kms:Sign`` request.

boto3, pyHanko and cryptography are imported lazily, when a document is signed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from silastri.adapters.signing import SignatureAppearance, SignerIdentity, SigningError, pades_sign

if TYPE_CHECKING:
    from cryptography import x509 as cx509

__all__ = ["ECDSA_SHA_256", "RSASSA_PKCS1_V1_5_SHA_256", "KmsSigner"]

logger = logging.getLogger(__name__)

ECDSA_SHA_256 = "ECDSA_SHA_256"
RSASSA_PKCS1_V1_5_SHA_256 = "RSASSA_PKCS1_V1_5_SHA_256"
_ECDSA_P256_MAX_DER_LEN = 72  # SEQUENCE { INTEGER r (<= 33 bytes), INTEGER s (<= 33 bytes) }
_MIN_RSA_BITS = 2048


class KmsSigner:
    """Signs PDFs (PAdES-B-B; invisible unless an appearance is given) with a private key held in AWS KMS.

    Args:
        key_id: KMS key id, key ARN, alias name (``alias/...``) or alias ARN of an asymmetric
            ``SIGN_VERIFY`` key whose public key is the one in ``certificate_pem``.
        certificate_pem: the signer's certificate, PEM (or DER). Further PEM certificates after
            the first one are treated as part of the chain.
        chain_pem: intermediate and root certificates (PEM or DER, one per entry or several per
            PEM entry). They are embedded in the signature; the self-signed ones are the trust
            roots reported by :meth:`trust_roots_pem`.
        kms_client: a boto3 KMS client; by default the process-wide client of
            :func:`silastri.adapters.aws.client` is created on first use.

    Raises:
        ValueError: the certificate cannot be read or its key is neither EC P-256 nor RSA
            (at least 2048 bits).
    """

    def __init__(
        self,
        key_id: str,
        certificate_pem: bytes,
        chain_pem: Sequence[bytes] = (),
        kms_client: Any = None,
    ) -> None:
        if not key_id:
            raise ValueError("key_id is required")
        certificates = _load_certificates(certificate_pem)
        if not certificates:
            raise ValueError("certificate_pem holds no certificate")
        chain = certificates[1:]
        for entry in chain_pem:
            chain.extend(_load_certificates(entry))
        self._key_id = key_id
        self._certificate = certificates[0]
        self._chain = chain
        self._algorithm, self._placeholder_len = _kms_algorithm_for(self._certificate)
        self._kms = kms_client
        self._lock = threading.Lock()
        self._pades_signer: Any = None

    def __repr__(self) -> str:
        return f"KmsSigner(key_id={self._key_id!r}, algorithm={self._algorithm!r})"

    @property
    def key_id(self) -> str:
        """The configured KMS key identifier."""
        return self._key_id

    @property
    def signing_algorithm(self) -> str:
        """The KMS ``SigningAlgorithm`` used (``ECDSA_SHA_256`` or ``RSASSA_PKCS1_V1_5_SHA_256``)."""
        return self._algorithm

    def trust_roots_pem(self) -> list[bytes]:
        """The self-signed certificates of the configured chain, PEM encoded.

        When the chain holds no self-signed certificate, the top-most certificate (the one
        whose issuer is not in the chain) is returned instead; configure the full chain up to
        the root to avoid trusting an intermediate directly.
        """
        from cryptography.hazmat.primitives.serialization import Encoding

        everything = [self._certificate, *self._chain]
        roots = [c for c in everything if _is_self_signed(c)]
        if not roots:
            subjects = {c.subject for c in everything}
            roots = [c for c in everything if c.issuer not in subjects] or [everything[-1]]
        unique: dict[bytes, bytes] = {}
        for certificate in roots:
            unique.setdefault(certificate.fingerprint(_sha256()), certificate.public_bytes(Encoding.PEM))
        return list(unique.values())

    def sign_pdf(
        self,
        pdf: bytes,
        *,
        signer: SignerIdentity,
        reason: str,
        location: str,
        appearance: SignatureAppearance | None = None,
    ) -> bytes:
        """Return ``pdf`` with a PAdES signature made by the KMS key, as an incremental update.

        ``signer`` provides the informational ``/Name`` entry; the legal identity is the one in
        the configured certificate. ``appearance`` is honoured as by
        :func:`~silastri.adapters.signing.pades_sign` (the specimen is drawn locally; KMS only
        signs the digest); ``None`` or ``visible=False`` signs invisibly.

        Raises:
            SigningError: ``pdf`` cannot be parsed, KMS refused or failed (the KMS error code is
                in the message), or KMS returned a signature that does not match the
                certificate. No document is produced in any of these cases.
        """
        return pades_sign(
            pdf,
            self._pyhanko_signer(),
            name=signer.name,
            reason=reason,
            location=location,
            appearance=appearance,
        )

    # -- KMS ---------------------------------------------------------------------------------

    def _client(self) -> Any:
        if self._kms is None:
            from silastri.adapters import aws

            self._kms = aws.client("kms")
        return self._kms

    def _sign_digest(self, digest: bytes) -> bytes:
        """One ``kms:Sign`` call over a SHA-256 digest; the result is checked before use."""
        from botocore.exceptions import BotoCoreError, ClientError

        if len(digest) != 32:
            raise SigningError("refusing to send anything but a SHA-256 digest to KMS")
        try:
            response = self._client().sign(
                KeyId=self._key_id,
                Message=digest,
                MessageType="DIGEST",
                SigningAlgorithm=self._algorithm,
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code") or "Unknown"
            message = error.get("Message") or ""
            logger.warning("kms:Sign refused for key %s: %s", self._key_id, code)
            raise SigningError(f"KMS refused to sign with key {self._key_id}: {code}: {message}") from exc
        except BotoCoreError as exc:
            logger.warning("kms:Sign failed for key %s: %s", self._key_id, type(exc).__name__)
            raise SigningError(f"KMS signing failed for key {self._key_id}: {exc}") from exc
        signature = response.get("Signature")
        if not isinstance(signature, bytes | bytearray) or not signature:
            raise SigningError(f"KMS returned no signature for key {self._key_id}")
        signature = bytes(signature)
        if not _signature_matches(self._certificate, self._algorithm, digest, signature):
            raise SigningError(
                f"the signature from KMS key {self._key_id} does not match the configured certificate"
            )
        return signature

    def _pyhanko_signer(self) -> Any:
        with self._lock:
            if self._pades_signer is None:
                self._pades_signer = _build_pyhanko_signer(self)
            return self._pades_signer


def _build_pyhanko_signer(owner: KmsSigner) -> Any:
    """A pyHanko ``Signer`` whose raw signatures come from ``owner``'s KMS key."""
    from asn1crypto import algos
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.serialization import Encoding
    from pyhanko.sign.signers import Signer as PyHankoSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    certificate = asn1_x509.Certificate.load(owner._certificate.public_bytes(Encoding.DER))
    chain = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in owner._chain]
    mechanism = "sha256_ecdsa" if owner._algorithm == ECDSA_SHA_256 else "sha256_rsa"

    class _KmsPyHankoSigner(PyHankoSigner):
        async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
            if digest_algorithm.lower() != "sha256":
                raise SigningError(f"unsupported digest algorithm {digest_algorithm!r}")
            if dry_run:
                return bytes(owner._placeholder_len)
            return owner._sign_digest(hashlib.sha256(data).digest())

    return _KmsPyHankoSigner(
        signing_cert=certificate,
        cert_registry=SimpleCertificateStore.from_certs([certificate, *chain]),
        signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": mechanism}),
    )


# -- helpers -----------------------------------------------------------------------------------


def _sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _load_certificates(data: bytes) -> list[cx509.Certificate]:
    from cryptography import x509

    try:
        if b"-----BEGIN" in data:
            return list(x509.load_pem_x509_certificates(data))
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ValueError(f"unreadable certificate: {exc}") from exc


def _kms_algorithm_for(certificate: cx509.Certificate) -> tuple[str, int]:
    """KMS signing algorithm and the maximal raw signature length for the certificate's key."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = certificate.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError(f"unsupported EC curve {key.curve.name}; the KMS key must be ECC_NIST_P256")
        return ECDSA_SHA_256, _ECDSA_P256_MAX_DER_LEN
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < _MIN_RSA_BITS:
            raise ValueError(f"RSA key of {key.key_size} bits is too small")
        return RSASSA_PKCS1_V1_5_SHA_256, (key.key_size + 7) // 8
    raise ValueError(f"unsupported key type {type(key).__name__}; use ECC_NIST_P256 or RSA")


def _signature_matches(
    certificate: cx509.Certificate, algorithm: str, digest: bytes, signature: bytes
) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    key = certificate.public_key()
    prehashed = Prehashed(_sha256())
    try:
        if algorithm == ECDSA_SHA_256 and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, digest, ec.ECDSA(prehashed))
        elif algorithm == RSASSA_PKCS1_V1_5_SHA_256 and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, digest, padding.PKCS1v15(), prehashed)
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


def _is_self_signed(certificate: cx509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except Exception:
        return False
    return True
