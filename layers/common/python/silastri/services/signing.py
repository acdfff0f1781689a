"""The head's signing flow around the signer adapter: certificate status first, TOTP by e-mail, attempts kept in
the audit trail, and an explicit re-sign after an outcome that is unknown (issue 13).

BSrE's Esign Client Service API v2 has no request id and no sign-status endpoint (its endpoints: sign/pdf,
sign/get/totp, seal/*, user/check/status, user/registration, verify/pdf — BSrE's technical guide v2.0, January
2024, as summarised in issue 13). So after a timeout, a dropped connection or a 5xx the adapter raises
`SigningOutcomeUnknownError` and nothing here can find out whether BSrE signed: the attempt is recorded as
`signing_outcome_unknown`, the application carries `signing_unknown_at`, and a later signing decision is refused
until the head confirms (`details.confirm_resign`) and types a NEW passphrase/TOTP. No secret and no NIK is ever
stored, logged or put in the audit trail: the NIK and the passphrase/TOTP pass through in memory only."""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from ..adapters import dynamo
from ..adapters.identity import Principal
from ..domain import steps
from ..domain.clock import now_utc
from ..domain.errors import ConflictError, DomainError, ForbiddenError, ValidationError
from ..domain.models import Application
from ..observability import logger
from ..settings import get_settings
from . import timeline

if TYPE_CHECKING:
    from ..adapters.signing import Signer
    from .ratelimit import Policy

T = TypeVar("T")

SIGNING_STEPS = frozenset({steps.StepId.SIGNING.value, steps.StepId.REJECTION_SIGNING.value})
_NIK = re.compile(r"[0-9]{16}")  # ASCII digits only (\d would take any Unicode digit)

# Throttles (services/ratelimit.py): every call counts, also the ones BSrE answers, because each one reaches the
# office's Esign Client (and a TOTP request sends an e-mail). Per account and per client address; never per NIK.
# (name, limit, window seconds, message, field); ratelimit is imported where used: only the API throttles, and
# the workflow functions that import this module (through tasks) derive no keys.
_WAIT = "coba lagi dalam {minutes} menit"
_LIMITS: dict[str, tuple[str, int, int, str, str]] = {
    "status-account": ("tte-status-akun", 20, 900, "terlalu banyak pemeriksaan sertifikat; " + _WAIT, "nik"),
    "status-address": ("tte-status-alamat", 60, 900,
                       "terlalu banyak pemeriksaan sertifikat dari alamat Anda; " + _WAIT, "nik"),
    "totp-account": ("tte-totp-akun", 5, 3600, "terlalu banyak permintaan kode TOTP; " + _WAIT, "nik"),
    "totp-address": ("tte-totp-alamat", 20, 3600, "terlalu banyak permintaan kode TOTP dari alamat Anda; " + _WAIT,
                     "nik"),
    # failed signing attempts (wrong passphrase/TOTP, refusals) per account: online guessing, BSrE lockouts
    "sign-account": ("tte-tanda-tangan-akun", 10, 900, "terlalu banyak percobaan tanda tangan yang gagal; " + _WAIT,
                     "passphrase"),
}


def policy(name: str) -> Policy:
    """One of this flow's throttles (`status-account`, `status-address`, `totp-account`, `totp-address`)."""
    from .ratelimit import Policy

    return Policy(*_LIMITS[name])


def throttle_signing(principal: Principal) -> Any:
    """Reserve one signing attempt for the head's account (10 failed ones per 15 minutes); returns the
    reservation, to be given back (`succeeded()`) when the signature went through. TooManyRequestsError (429)."""
    from . import ratelimit

    return ratelimit.attempt((policy("sign-account"), principal.user_id))


def _throttle(kind: str, principal: Principal, client_address: str) -> None:
    from . import ratelimit

    ratelimit.attempt((policy(f"{kind}-account"), principal.user_id), (policy(f"{kind}-address"), client_address))

UNKNOWN_MESSAGE = (
    "hasil penandatanganan di BSrE tidak diketahui: koneksi terputus atau layanan tidak menjawab setelah dokumen "
    "dikirim, sehingga dokumen mungkin sudah atau belum ditandatangani di sana. Tidak ada yang diterbitkan. "
    "Tanyakan kepada operator Esign Client BSrE di kantor Anda. Untuk menandatangani ulang, centang konfirmasi "
    "dan masukkan passphrase atau kode TOTP yang BARU")
CONFIRM_MESSAGE = (
    "penandatanganan sebelumnya untuk permohonan ini hasilnya tidak diketahui (dokumen mungkin sudah ditandatangani "
    "di BSrE). Untuk menandatangani ulang, centang konfirmasi \"Saya mengerti; tandatangani ulang dengan "
    "passphrase/TOTP baru\" dan masukkan passphrase atau kode TOTP yang baru")
TOTP_SENT = "Kode TOTP telah dikirim ke e-mail yang terdaftar di BSrE"
UNENCRYPTED_WARNING = (
    "Koneksi ke BSrE tidak terenkripsi: alamat layanan Esign Client memakai http:// ke alamat yang bukan alamat "
    "jaringan privat, sehingga NIK dan passphrase dapat terbaca di jalan. Minta kantor menyediakan HTTPS, atau "
    "hubungkan melalui VPN ke jaringan kantor (lihat README, bagian BSrE).")


# ----------------------------------------------------------------------------- errors (with stable codes)

class SigningOutcomeUnknown(ConflictError):
    """409: BSrE may or may not have signed (no way to ask: the v2 API has no status endpoint)."""

    code = "signing_outcome_unknown"


class ResignNotConfirmed(ConflictError):
    """409: an earlier attempt's outcome is unknown; signing again needs `details.confirm_resign` = true."""

    code = "confirm_resign_required"


class CertificateNotUsable(ConflictError):
    """409: the signer's certificate status at BSrE is not ISSUE (expired, revoked, not registered, …)."""

    code = "certificate_not_usable"

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message, field="signer_nik")
        self.certificate_status = status


class SigningRefused(DomainError):
    """BSrE refused (nothing was signed): a wrong passphrase/TOTP (400, field `passphrase`) or another refusal
    (422)."""

    status = 422
    code = "bsre_rejected"


class WrongSigningCredentials(SigningRefused):
    status = 400
    code = "bsre_wrong_credentials"


class SigningServiceUnavailable(DomainError):
    """503: the Esign Client could not be reached, or did not take the request; nothing was signed."""

    status = 503
    code = "bsre_unavailable"


class SignatureSettingUnusable(DomainError):
    """422: the office's visible-signature setting cannot be used for this document (image, page); nothing sent."""

    status = 422
    code = "signature_appearance_invalid"


class SignedDocumentRejected(DomainError):
    """502: the signer returned a file that is not a valid signed version of the document; nothing published."""

    status = 502
    code = "signed_document_invalid"


class NotBsre(ConflictError):
    """409: certificate status and TOTP exist only in BSrE mode."""

    code = "not_bsre"


# ----------------------------------------------------------------------------- the adapter, as this flow uses it

class CertificateStatusView(Protocol):
    """What `BsreSigner.certificate_status` answers (adapters/signing_bsre.CertificateStatus)."""

    status: str
    label: str
    may_sign: bool


class BsreService(Protocol):
    """The part of `adapters.signing_bsre.BsreSigner` this flow calls (the issue-13 interface)."""

    def certificate_status(self, nik: str) -> CertificateStatusView: ...

    def request_totp(self, nik: str) -> None: ...

    def with_credentials(self, nik: str, *, passphrase: str | None = None, totp: str | None = None) -> Signer: ...


def bsre_service() -> BsreService:
    """The configured BSrE Esign Client (settings BSRE_URL, BSRE_USERNAME, the password secret).

    Raises RuntimeError when BSRE_URL is not set (a deployment error)."""
    from ..adapters.signing_bsre import BsreSigner
    from . import permits

    settings = get_settings()
    if not settings.bsre_url:
        raise RuntimeError("signer_mode=bsre needs BSRE_URL")
    warn_if_unencrypted()
    return cast(BsreService, BsreSigner(settings.bsre_url, settings.bsre_username, settings.bsre_password,
                                        trust_roots_pem=permits.signer_trust_roots()))


def is_bsre() -> bool:
    return get_settings().signer_mode == "bsre"


def mode_label() -> str:
    """Who signs, for the signing page (Bahasa Indonesia)."""
    mode = get_settings().signer_mode
    return {"bsre": "BSrE (sertifikat elektronik BSSN)", "kms": "KMS"}.get(mode, "sertifikat pengembangan")


# RFC 1918, shared address space (RFC 6598, used by VPNs and carrier NAT) and unique local IPv6 (RFC 4193)
_PRIVATE_NETWORKS = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
                                                              "100.64.0.0/10", "fc00::/7"))


def unencrypted_url(url: str) -> bool:
    """True when `url` is plain http:// to something other than a loopback, link-local or private-network IP
    literal (a private network is reached through the VPC or a VPN, never the internet).

    A host name counts as non-private: it cannot be told without resolving it (which may differ in Lambda)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http":
        return False
    host = parts.hostname or ""
    if host == "localhost":
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    return not (address.is_loopback or address.is_link_local or any(address in net for net in _PRIVATE_NETWORKS))


def connection_warning() -> str | None:
    """The warning the head sees on the signing page when the BSrE connection is unencrypted; None otherwise."""
    settings = get_settings()
    if settings.signer_mode == "bsre" and unencrypted_url(settings.bsre_url):
        warn_if_unencrypted()
        return UNENCRYPTED_WARNING
    return None


@lru_cache(maxsize=4)
def _warn_once(url_scheme_host: str) -> None:
    logger.warning("BSrE connection is not encrypted (http:// to a non-private address)", bsre=url_scheme_host)


def warn_if_unencrypted() -> None:
    """Log once per process (and address) that BSRE_URL is plain http:// to a non-private address."""
    settings = get_settings()
    if settings.signer_mode == "bsre" and unencrypted_url(settings.bsre_url):
        parts = urllib.parse.urlsplit(settings.bsre_url)
        _warn_once(f"{parts.scheme}://{parts.hostname}")


# ----------------------------------------------------------------------------- certificate status and TOTP

def require_head(principal: Principal) -> None:
    """Only the head or the acting head (Plt.) of an office signs. Raises ForbiddenError (403)."""
    if "head" not in principal.roles or not principal.office_id:
        raise ForbiddenError("hanya Kepala Dinas atau Plt. Kepala Dinas yang menandatangani", field="role")


def checked_nik(value: Any) -> str:
    """A NIK as typed (16 digits; spaces ignored). Raises ValidationError (400, field `nik`), naming no value."""
    text = re.sub(r"\s+", "", value) if isinstance(value, str) else ""
    if not _NIK.fullmatch(text):
        raise ValidationError("NIK harus 16 digit angka", field="nik")
    return text


def _require_bsre() -> None:
    if not is_bsre():
        raise NotBsre(f"penandatanganan tidak memakai BSrE (penanda tangan: {mode_label()})", field="signer_mode")


def _unavailable(exc: Exception) -> SigningServiceUnavailable:
    logger.warning("BSrE unavailable", error=exc.__class__.__name__)
    return SigningServiceUnavailable("layanan Esign Client BSrE tidak dapat dihubungi; tidak ada yang dikirim "
                                     "untuk ditandatangani. Coba lagi sebentar lagi atau hubungi operator BSrE "
                                     "kantor", field="bsre")


def certificate_status(principal: Principal, nik: Any, *, client_address: str) -> dict[str, Any]:
    """`POST /api/v2/user/check/status` for the head's NIK: {"status", "label" (Bahasa), "may_sign"}.

    Heads/acting heads only (403), BSrE mode only (409 `not_bsre`), NIK 16 digits (400), throttled (429);
    503 when the Esign Client cannot be reached. The NIK is not stored or logged."""
    require_head(principal)
    _require_bsre()
    value = checked_nik(nik)
    _throttle("status", principal, client_address)
    from ..adapters.signing import SigningError

    try:
        status = bsre_service().certificate_status(value)
    except SigningError as exc:  # SigningUnavailableError and anything else that is not an answer
        raise _unavailable(exc) from None
    logger.info("BSrE certificate status checked", status=status.status, may_sign=status.may_sign)
    return {"status": status.status, "label": status.label, "may_sign": bool(status.may_sign)}


def request_totp(principal: Principal, nik: Any, *, client_address: str) -> None:
    """`POST /api/v2/sign/get/totp`: BSrE e-mails a one-time code to the address registered for the NIK.

    Heads/acting heads only (403), BSrE mode only (409), NIK 16 digits (400), throttled (429); a refusal by BSrE
    is 422 (`bsre_rejected`), an unreachable service 503."""
    require_head(principal)
    _require_bsre()
    value = checked_nik(nik)
    _throttle("totp", principal, client_address)
    from ..adapters.signing import SigningError
    from ..adapters.signing_bsre import SigningRejectedError

    try:
        bsre_service().request_totp(value)
    except SigningRejectedError as exc:
        logger.warning("BSrE refused a TOTP request", reason=str(getattr(exc, "reason", "rejected")))
        raise SigningRefused("BSrE menolak mengirim kode TOTP untuk NIK ini (periksa NIK dan status sertifikat)",
                             field="nik") from None
    except SigningError as exc:
        raise _unavailable(exc) from None
    logger.info("BSrE TOTP requested")


def check_certificate(nik: str | None) -> None:
    """Before a BSrE signature: refuse early (before the passphrase/TOTP is sent) unless the status is ISSUE.

    Raises ValidationError (no NIK), CertificateNotUsable (409, with BSrE's label), SigningServiceUnavailable."""
    from ..adapters.signing import SigningError

    if not nik:
        raise ValidationError("NIK penanda tangan wajib diisi; periksa sertifikat terlebih dahulu", field="signer_nik")
    value = checked_nik(nik)
    try:
        status = bsre_service().certificate_status(value)
    except SigningError as exc:
        raise _unavailable(exc) from None
    if not status.may_sign:
        logger.info("signing refused: certificate not usable", status=status.status)
        raise CertificateNotUsable(f"sertifikat elektronik tidak dapat dipakai untuk menandatangani: {status.label}",
                                   status=status.status)


# ----------------------------------------------------------------------------- attempts and the unknown outcome

def require_resign_confirmation(app: Application, step: str, outcome: str, details: dict[str, Any]) -> None:
    """Before the claim: an application whose earlier signature attempt ended unknown is signed again only with
    `details.confirm_resign` true (409 `confirm_resign_required` otherwise). Raises ValidationError when
    `confirm_resign` is not a boolean."""
    if step not in SIGNING_STEPS or outcome != "signed":
        return
    confirm = details.get("confirm_resign", False)
    if not isinstance(confirm, bool):
        raise ValidationError("confirm_resign harus true atau false", field="confirm_resign")
    if app.signing_unknown_at is not None and not confirm:
        raise ResignNotConfirmed(CONFIRM_MESSAGE, field="confirm_resign")


def attempts_of(application_id: str, step: str) -> list[dict[str, Any]]:
    """The application's signing attempts at `step`, oldest first: attempt number, time, result
    (`unknown`, `rejected`, `unavailable`, `failed` or None while/if it succeeded)."""
    results = {"signing_outcome_unknown": "unknown", "signing_rejected": "rejected",
               "signing_unavailable": "unavailable", "signing_failed": "failed"}
    attempts: dict[int, dict[str, Any]] = {}
    for event in dynamo.timeline(application_id):
        number = event.details.get("attempt")
        if event.step != step or not isinstance(number, int):
            continue
        if event.action == "signing_attempt":
            attempts[number] = {"attempt": number, "at": event.at, "result": None,
                                "confirmed_resign": bool(event.details.get("confirm_resign"))}
        elif event.action in results and number in attempts:
            attempts[number]["result"] = results[event.action]
    return [attempts[n] for n in sorted(attempts)]


def attempt(app: Application, task_id: str, step: str, principal: Principal, *, confirm_resign: bool,
            sign: Callable[[], T]) -> T:
    """One numbered signing attempt (BSrE): `signing_attempt` in the audit trail, then `sign()`; its failure is
    recorded too (`signing_outcome_unknown`, `signing_rejected`, `signing_unavailable`, `signing_failed`: attempt
    number, time, signer role; never a secret or a NIK) and raised as a DomainError with a stable `code`.

    An unknown outcome also marks the application (`signing_unknown_at`): the next attempt needs an explicit
    confirmation (`require_resign_confirmation`)."""
    from ..adapters.signing import SigningError
    from ..adapters.signing_bsre import (
        SignedDocumentInvalidError,
        SigningOutcomeUnknownError,
        SigningRejectedError,
        SigningUnavailableError,
    )

    number = len(attempts_of(app.application_id, step)) + 1
    role = "head_acting" if principal.acting else "head"
    common: dict[str, Any] = {"attempt": number, "task_id": task_id, "signer_role": role}
    timeline.record(app.application_id, step, "signing_attempt", steps.Role.HEAD.value, principal.user_id,
                    confirm_resign=confirm_resign, **common)
    try:
        return sign()
    except SigningOutcomeUnknownError:
        at = now_utc()

        def mark(target: Application) -> None:
            target.signing_unknown_at = at

        dynamo.update_application(app.application_id, mark, documents=False)
        # no note: the applicant's page shows officers' notes, and this one is for the office
        timeline.record(app.application_id, step, "signing_outcome_unknown", steps.Role.HEAD.value, principal.user_id,
                        **common)
        logger.warning("BSrE signing outcome unknown", application_id=app.application_id, step=step, attempt=number)
        raise SigningOutcomeUnknown(UNKNOWN_MESSAGE, field="confirm_resign") from None
    except SigningRejectedError as exc:
        reason = str(getattr(exc, "reason", "rejected"))
        wrong = bool(getattr(exc, "wrong_credentials", False)) or reason == "wrong-credentials"
        timeline.record(app.application_id, step, "signing_rejected", steps.Role.HEAD.value, principal.user_id,
                        reason=reason, **common)
        if wrong:
            raise WrongSigningCredentials("passphrase atau kode TOTP salah; tidak ada yang ditandatangani. Masukkan "
                                          "lagi (kode TOTP hanya berlaku sekali)", field="passphrase") from None
        label = getattr(exc, "label", None)  # the adapter's Bahasa sentence for the head, when it gives one
        raise SigningRefused(f"{label or f'BSrE menolak menandatangani ({reason})'}; tidak ada yang ditandatangani",
                             field="signer_nik") from None
    except SigningUnavailableError as exc:
        timeline.record(app.application_id, step, "signing_unavailable", steps.Role.HEAD.value, principal.user_id,
                        **common)
        raise _unavailable(exc) from None
    except SignedDocumentInvalidError:
        timeline.record(app.application_id, step, "signing_failed", steps.Role.HEAD.value, principal.user_id,
                        reason="signed-document-invalid", **common)
        raise SignedDocumentRejected("berkas yang dikembalikan BSrE bukan versi bertanda tangan yang sah dari dokumen "
                                     "ini; tidak ada yang diterbitkan. Hubungi operator BSrE", field="bsre") from None
    except SigningError:
        timeline.record(app.application_id, step, "signing_failed", steps.Role.HEAD.value, principal.user_id,
                        reason="signing-error", **common)
        raise
    except ValueError as exc:  # the office's visible-signature setting cannot be used: refused before sending
        timeline.record(app.application_id, step, "signing_failed", steps.Role.HEAD.value, principal.user_id,
                        reason="appearance-invalid", **common)
        logger.warning("signature appearance unusable", application_id=app.application_id, reason=str(exc)[:200])
        raise SignatureSettingUnusable("pengaturan tanda tangan tampak (spesimen) kantor tidak dapat dipakai: "
                                       f"{exc}; tidak ada yang dikirim ke BSrE. Hubungi administrator",
                                       field="signature_appearance") from None


def clear_unknown(application_id: str) -> None:
    """A signature was published: the earlier unknown outcome no longer blocks anything (idempotent)."""
    def change(target: Application) -> None:
        target.signing_unknown_at = None

    dynamo.update_application(application_id, change, documents=False)
