"""Certified electronic signatures (TTE) through BSrE eSign (Balai Sertifikasi Elektronik, BSSN).

:class:`BsreSigner` talks to the office's *Esign Client Service* (API v2), which relays to BSrE,
over HTTP(S) with the standard library only (``urllib``; the Lambda layer carries no
``requests``). The signer's certificate and key stay at BSrE: the signer is identified by NIK and
authorises each call with a passphrase or a TOTP that the head of office types in. That secret is
a parameter of the one call that uses it and is never stored: not on the signer object, not in
logs, not in exception messages or arguments, and not in the local variables of this module's
frames that a raised exception's traceback keeps alive.

Sources
-------
[G]  BSrE, "Petunjuk Teknis Penggunaan API Esign Client Service", versi 2.0 (Januari 2024), as
     published in ``rsuppersahabatan/esign-bsre`` at
     ``DOC/pdf-petunjuk-teknis-api-esign-client-service-v221-sign-2_compress.pdf``; section numbers
     below are the guide's (§6 = API version 2).
[S]  ``ajung5/CekUser-BSrE`` ``cek_nik_bsre_spreadseheet_merge.py``: status strings ISSUE, REVOKE,
     RENEW, NO_CERTIFICATE, EXPIRED, NOT_REGISTERED answered with HTTP 200 (v1 status call).
[V1] ``dptsi/laravel-esign-bsre`` ``src/Core/EsignBsreManager.php``: v1 visible signing
     (``tampilan``, ``image``/``imageTTD`` or ``linkQR``, ``page``, ``xAxis``/``yAxis``,
     ``width``/``height``); v2 renamed the axes ``originX``/``originY`` [G §6.2 item 8].
[O]  Public integrators' clients and test reports of v2 found in the code index without a
     resolvable repository name (so: observed, not documented): sign response
     ``{"time": <ms>, "file": ["<base64>"]}``; refusal ``HTTP 400 {"error": "Passphrase anda
     salah", "status_code": 2031}``, code 2011 "User tidak terdaftar"; ``user/check/status``
     answering ``HTTP 200 {"status_code", "message", "status"}`` also for refusals
     (``NOT_REGISTERED`` with 2011, ``NO_CERTIFICATE`` with 2021); HTTP 500 for an empty or
     invalid PDF; ``401 {"timestamp", "status", "error", "path"}`` for wrong client credentials;
     signed output PAdES-BASELINE-T with a three-certificate chain and a BSSN timestamp.

Contract (what this adapter sends and expects)
----------------------------------------------
All calls: HTTP Basic auth with the client credentials created in the Esign Client Service admin
page [G §4, §6.1], UTF-8 JSON bodies, standard base64 with padding. No request id header and no
status endpoint exist in v2 [G §6: sign/pdf, sign/get/totp, seal/*, user/check/status,
user/registration, verify/pdf]; this adapter calls nothing else.

``POST {base}/api/v2/sign/pdf`` [G §6.2]::

    {"nik": "<16 digits>", "passphrase": "<secret>"        (or "totp": "<code>", never both),
     "signatureProperties": [{"tampilan": "INVISIBLE", "reason": "...", "location": "..."}],
     "file": ["<base64 PDF>"]}

  with ``appearance.visible`` the property is ``{"tampilan": "VISIBLE", "imageBase64": "<png>",
  "page": <1-based>, "originX": x, "originY": y, "width": w, "height": h, "reason", "location"}``
  [G §6.2 items 4-12]. *Assumed*: origin and units are PDF points from the page's lower-left
  corner (the guide says "pixel" and shows the origin only in a figure); verify on the office's
  server before enabling visible signatures.

* ``200 {"time": <ms>, "file": ["<base64 signed PDF>"]}`` [O] — signed. The signed file must be
  an incremental update of the submitted one carrying one more signature (checked here) and,
  when trust roots are configured, valid against them including its timestamp.
* ``4xx`` with ``{"error": "...", "status_code": <code>}`` [O] — refused: 2031 wrong passphrase
  or TOTP, 2011 NIK not registered, 2021 no (active) certificate. *Assumed*: a wrong TOTP is
  reported like a wrong passphrase (2031). The same body with HTTP 200 and no ``file`` is also
  treated as a refusal (BSrE answers user-state refusals with HTTP 200 on check/status [O]).
* ``401`` [O] — wrong client credentials (the application's, not the head's).
* ``5xx`` — unknown. BSrE answers **HTTP 500 for a bad PDF too** [O], which cannot be told apart
  from a failure after signing, so every 5xx is an unknown outcome.

``POST {base}/api/v2/sign/get/totp`` ``{"nik": "...", "data": 1}`` — BSrE e-mails a TOTP to the
signer's registered address; ``data`` is the number of files the code will sign [G §6.3]. The
200 body is not documented; ``{"success": true, ...}`` was observed [O]; a body with
``"success": false`` or an error ``status_code`` is a refusal (*assumed*).

``POST {base}/api/v2/user/check/status`` ``{"nik": "..."}`` [G §6.7] — the status is one of
ISSUE, EXPIRED, RENEW, WAITING_FOR_VERIFICATION, NEW, NO_CERTIFICATE, NOT_REGISTERED, SUSPEND,
REVOKE; "only users with status ISSUE can sign" [G §6.7]. Response
``{"status_code", "message", "status"}`` [O][S].

``POST {base}/api/v2/verify/pdf`` ``{"file": "<base64 PDF>"}`` →
``200 {"conclusion": "VALID" | "WARNING" | "INVALID" | "NO_SIGNATURE", "description",
"signatureCount", "signatureInformations": [...]}`` [G §6.9].

Outcomes of a sign call
-----------------------
=====================================================  ==========================================
what happened                                          raised / returned
=====================================================  ==========================================
200 with a readable, matching signed file              the signed PDF
200 with a file that is not the signed original        :class:`SignedDocumentInvalidError`
4xx, or 200 with an error code and no file             :class:`SigningRejectedError`
could not connect (the request did not leave)          :class:`SigningUnavailableError`
timeout, connection dropped after sending, any 5xx     :class:`SigningOutcomeUnknownError`
(incl. 500 for a bad PDF), unreadable 200, 3xx
=====================================================  ==========================================

A sign call is never retried: after an unknown outcome the document may or may not have been
signed, and the documented API offers no way to ask (no request id, no status endpoint). The
caller tells the head so; signing again takes an explicit new action with a new passphrase or TOTP,
and both attempts stay in the audit trail.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel

from silastri.adapters.signing import (
    SignatureAppearance,
    SignerIdentity,
    SigningError,
    verify_signed_pdf,
)

__all__ = [
    "CERTIFICATE_LABELS",
    "CLIENT_UNAUTHORIZED",
    "NOT_REGISTERED",
    "NO_CERTIFICATE",
    "REJECTED",
    "WRONG_CREDENTIALS",
    "BsreOneShotSigner",
    "BsreSigner",
    "CertificateStatus",
    "HttpResponse",
    "HttpTransport",
    "RequestNotSentError",
    "ServiceVerification",
    "SignedDocumentInvalidError",
    "SigningOutcomeUnknownError",
    "SigningRejectedError",
    "SigningUnavailableError",
    "UrllibTransport",
]

logger = logging.getLogger(__name__)

SIGN_PATH = "/api/v2/sign/pdf"
TOTP_PATH = "/api/v2/sign/get/totp"
USER_STATUS_PATH = "/api/v2/user/check/status"
VERIFY_PATH = "/api/v2/verify/pdf"
DEFAULT_VERIFY_TIMEOUT = 120.0  # BSrE verification of a large multi-signature PDF can take ~40 s [O]

# Machine reasons of SigningRejectedError.
WRONG_CREDENTIALS = "wrong-credentials"
NOT_REGISTERED = "not-registered"
NO_CERTIFICATE = "no-certificate"
CLIENT_UNAUTHORIZED = "client-unauthorized"
REJECTED = "rejected"

_CODE_REASONS = {2031: WRONG_CREDENTIALS, 2011: NOT_REGISTERED, 2021: NO_CERTIFICATE}  # [O]
_CODE_STATUSES = {2011: "NOT_REGISTERED", 2021: "NO_CERTIFICATE"}  # check/status codes [O]

# What the head is told (Bahasa Indonesia).
_REJECTION_LABELS = {
    WRONG_CREDENTIALS: "Passphrase atau kode TOTP salah. Periksa lalu coba lagi.",
    NOT_REGISTERED: "NIK belum terdaftar di BSrE.",
    NO_CERTIFICATE: "Penanda tangan belum memiliki sertifikat elektronik yang aktif di BSrE.",
    CLIENT_UNAUTHORIZED: "Layanan Esign Client menolak kredensial aplikasi SILASTRI; hubungi admin.",
    REJECTED: "BSrE menolak permintaan tanda tangan.",
}

#: Bahasa label per ``user/check/status`` status [G §6.7].
CERTIFICATE_LABELS = {
    "ISSUE": "Sertifikat aktif — dapat menandatangani",
    "EXPIRED": "Sertifikat kedaluwarsa — perpanjang di BSrE",
    "RENEW": "Sertifikat sedang dalam proses pembaruan di BSrE",
    "WAITING_FOR_VERIFICATION": "Sertifikat sedang diverifikasi BSrE",
    "NEW": "Sertifikat belum diaktivasi — lakukan aktivasi di BSrE",
    "SUSPEND": "Sertifikat dibekukan — hubungi BSrE",
    "REVOKE": "Sertifikat dicabut — ajukan sertifikat baru di BSrE",
    "NO_CERTIFICATE": "Belum memiliki sertifikat elektronik — ajukan di BSrE",
    "NOT_REGISTERED": "NIK belum terdaftar di BSrE",
    "UNKNOWN": "Status sertifikat tidak dapat dibaca dari BSrE",
}

_NIK = re.compile(r"[0-9]{16}")  # ASCII digits only (\d would take any Unicode digit)
_STATUS_WORD = re.compile(r"[A-Z_]{2,40}")
_MAX_ERROR_TEXT = 200


# -- errors ------------------------------------------------------------------------------------


class SigningRejectedError(SigningError):
    """BSrE refused (4xx, or an error code in a 200). Nothing was signed; do not resend as is.

    ``str(error)`` starts with a Bahasa sentence for the head (also in :attr:`label`).

    Attributes:
        reason: machine code (``wrong-credentials``, ``not-registered``, ``no-certificate``,
            ``client-unauthorized`` or ``rejected``).
        http_status: the HTTP status of the refusal.
        code: BSrE's application ``status_code`` when given.
        label: the Bahasa message for the head.
    """

    def __init__(self, message: str, *, reason: str, http_status: int, code: int | None) -> None:
        super().__init__(message)
        self.reason = reason
        self.http_status = http_status
        self.code = code
        self.label = _REJECTION_LABELS.get(reason, _REJECTION_LABELS[REJECTED])

    @property
    def wrong_credentials(self) -> bool:
        """True when the passphrase or TOTP was wrong: ask the head to enter it again."""
        return self.reason == WRONG_CREDENTIALS


class SigningUnavailableError(SigningError):
    """The request did not reach BSrE: nothing was signed and trying again later is safe."""


class SigningOutcomeUnknownError(SigningError):
    """The sign request was sent but its outcome is unknown (timeout, dropped connection, 5xx).

    The documented v2 API offers no way to find out (no request id, no status endpoint), so the
    document may or may not have been signed. Tell the head plainly; only an explicit new action
    with a new passphrase or TOTP may sign again.
    """

    def __init__(self, detail: str = "") -> None:
        message = "outcome of the BSrE sign request is unknown"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.detail = detail


class SignedDocumentInvalidError(SigningError):
    """BSrE returned a file that is not a valid signed version of the submitted document."""


# -- transport ---------------------------------------------------------------------------------


class HttpResponse(NamedTuple):
    """An HTTP response of any status."""

    status: int
    body: bytes
    content_type: str = ""


class RequestNotSentError(Exception):
    """Raised by a transport when the request certainly did not reach the server."""


class HttpTransport(Protocol):
    """Sends one HTTP request without retrying or following redirects.

    Returns the response whatever its status. Raises :class:`RequestNotSentError` when the
    request certainly did not arrive (for example the connection was refused); any other
    exception means the request may have arrived. Must not keep or log ``body``.
    """

    def __call__(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> HttpResponse: ...


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class UrllibTransport:
    """:class:`HttpTransport` on ``urllib`` (one connection per request, redirects not followed).

    ``urllib`` wraps every error of connecting and sending in ``URLError``; errors while waiting
    for or reading the response propagate unwrapped. That boundary is what separates
    "not sent" from "outcome unknown".
    """

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect())

    def __call__(
        self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None, timeout: float
    ) -> HttpResponse:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise RequestNotSentError("only http and https URLs are supported")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, data=body, method=method, headers=dict(headers)
        )
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return HttpResponse(
                    response.status, response.read(), response.headers.get("Content-Type", "")
                )
        except urllib.error.HTTPError as exc:
            try:
                payload = exc.read()
            except Exception:  # the status is what matters; the body is informative only
                payload = b""
            finally:
                exc.close()
            return HttpResponse(exc.code, payload, exc.headers.get("Content-Type", "") if exc.headers else "")
        except urllib.error.URLError as exc:
            reason = exc.reason
            detail = type(reason).__name__ if isinstance(reason, BaseException) else "URLError"
            raise RequestNotSentError(detail) from None


# -- results -----------------------------------------------------------------------------------


class CertificateStatus(BaseModel):
    """The signer's certificate state from ``user/check/status`` [G §6.7], with a Bahasa label.

    ``status`` is BSrE's word (ISSUE, EXPIRED, RENEW, WAITING_FOR_VERIFICATION, NEW, SUSPEND,
    REVOKE, NO_CERTIFICATE, NOT_REGISTERED) or UNKNOWN when the answer could not be read;
    ``may_sign`` only for ISSUE.
    """

    status: str
    label: str
    may_sign: bool
    code: int | None = None


@dataclass(frozen=True)
class ServiceVerification:
    """BSrE's verdict on a PDF (``POST /api/v2/verify/pdf``)."""

    conclusion: str
    signature_count: int
    description: str = ""

    @property
    def valid(self) -> bool:
        """Only ``VALID`` counts; ``WARNING`` (for example an untrusted chain) does not."""
        return self.conclusion == "VALID" and self.signature_count > 0


class _Sent(NamedTuple):
    """What became of one request: a response, or why there is none."""

    response: HttpResponse | None
    not_sent: bool
    failure: str


# -- the signer --------------------------------------------------------------------------------


class BsreSigner:
    """Client of the BSrE Esign Client Service API v2 (see the module docstring for the contract).

    Args:
        base_url: the office's Esign Client Service, e.g. ``https://esign.example.go.id``.
        username: client (basic auth) user name created for SILASTRI in the service.
        password: client (basic auth) password.
        timeout: socket timeout of sign, TOTP and status calls, in seconds.
        http: the transport; :class:`UrllibTransport` by default.
        verify_timeout: socket timeout of verification calls (default 120 s or ``timeout``
            if larger).
        trust_roots_pem: BSrE's root certificates (PEM). Returned by :meth:`trust_roots_pem`;
            when given, every signed file is also verified locally against them (signature,
            chain and timestamp).
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        timeout: float = 30,
        http: HttpTransport | None = None,
        *,
        verify_timeout: float | None = None,
        trust_roots_pem: Sequence[bytes] = (),
    ) -> None:
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("base_url must be an http(s) URL")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._base_url = base_url.rstrip("/")
        self._username = username
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._authorization = f"Basic {token}"
        self._timeout = float(timeout)
        self._verify_timeout = float(verify_timeout or max(DEFAULT_VERIFY_TIMEOUT, timeout))
        self._http: HttpTransport = http or UrllibTransport()
        self._trust_roots = [bytes(root) for root in trust_roots_pem]

    def __repr__(self) -> str:
        return f"BsreSigner(base_url={self._base_url!r}, username={self._username!r})"

    @property
    def base_url(self) -> str:
        """The service address (without trailing slash)."""
        return self._base_url

    def trust_roots_pem(self) -> list[bytes]:
        """The configured BSrE root certificates (PEM)."""
        return list(self._trust_roots)

    def with_credentials(
        self, nik: str, *, passphrase: str | None = None, totp: str | None = None
    ) -> BsreOneShotSigner:
        """A :class:`~silastri.adapters.signing.Signer` for exactly one signature by ``nik``.

        The credential is held only until that one ``sign_pdf`` call (or :meth:`discard`).

        Raises:
            ValueError: ``nik`` is not 16 digits, or not exactly one of ``passphrase`` and
                ``totp`` is given.
        """
        try:
            kind = _check_credentials(nik, passphrase is not None, totp is not None, bool(passphrase or totp))
            return BsreOneShotSigner(self, nik, kind, (passphrase if kind == "passphrase" else totp) or "")
        finally:
            passphrase = totp = None

    # -- certificate status and TOTP -----------------------------------------------------------

    def certificate_status(self, nik: str) -> CertificateStatus:
        """The certificate state of ``nik`` (``POST /api/v2/user/check/status`` [G §6.7]).

        A refusal carried as a code (HTTP 200 or 400 with ``status_code`` 2011/2021 [O]) is
        mapped to NOT_REGISTERED / NO_CERTIFICATE; an unreadable answer is UNKNOWN.

        Raises:
            ValueError: ``nik`` is not 16 digits (nothing is sent).
            SigningRejectedError: the client credentials were refused (401/403).
            SigningUnavailableError: the service could not be reached or failed (timeout, 5xx).
        """
        if not isinstance(nik, str) or not _NIK.fullmatch(nik):
            raise ValueError("nik must be 16 digits")
        sent = self._send("POST", USER_STATUS_PATH, json.dumps({"nik": nik}).encode(), self._timeout)
        response = self._answered(sent, "certificate status")
        if response.status in (401, 403):
            raise _rejection(response, "certificate status")
        payload = _json(response.body) if response.status in (200, 400, 404) else None
        if not isinstance(payload, dict):
            if response.status >= 500:
                raise SigningUnavailableError(f"BSrE certificate status call answered HTTP {response.status}")
            return _certificate_status("UNKNOWN", None)
        code = _int_code(payload.get("status_code"))
        raw = payload.get("status")
        status = raw.strip().upper() if isinstance(raw, str) else ""
        if not _STATUS_WORD.fullmatch(status):
            status = _CODE_STATUSES.get(code or 0, "UNKNOWN")
        logger.info("BSrE certificate status: %s", status)
        return _certificate_status(status, code)

    def request_totp(self, nik: str) -> None:
        """Ask BSrE to e-mail a one-time code for one signature (``POST /api/v2/sign/get/totp``,
        ``data`` = 1 file [G §6.3]). The code itself never passes through SILASTRI.

        Raises:
            ValueError: ``nik`` is not 16 digits (nothing is sent).
            SigningRejectedError: BSrE refused (4xx, or an error in the body).
            SigningUnavailableError: the service could not be reached, timed out or failed
                (asking again is harmless: the newest code is the one to type).
        """
        if not isinstance(nik, str) or not _NIK.fullmatch(nik):
            raise ValueError("nik must be 16 digits")
        body = json.dumps({"nik": nik, "data": 1}).encode()
        response = self._answered(self._send("POST", TOTP_PATH, body, self._timeout), "TOTP request")
        if 400 <= response.status < 500:
            raise _rejection(response, "TOTP request")
        if response.status != 200:
            raise SigningUnavailableError(f"BSrE TOTP request answered HTTP {response.status}")
        payload = _json(response.body)
        if isinstance(payload, dict) and (
            payload.get("success") is False or _int_code(payload.get("status_code")) in _CODE_REASONS
        ):
            raise _rejection(response, "TOTP request")
        logger.info("BSrE TOTP requested")

    # -- signing -------------------------------------------------------------------------------

    def sign_pdf(
        self,
        pdf: bytes,
        *,
        signer: SignerIdentity,
        reason: str,
        location: str,
        nik: str,
        passphrase: str | None = None,
        totp: str | None = None,
        appearance: SignatureAppearance | None = None,
    ) -> bytes:
        """Have BSrE sign ``pdf`` (PAdES) with the certificate of ``nik``.

        ``signer`` is not sent: BSrE signs with the identity in ``nik``'s certificate. Exactly
        one of ``passphrase`` and ``totp`` authorises this single call; it is not kept.
        ``appearance.visible`` sends ``tampilan: VISIBLE`` with the specimen image, page and
        rectangle; otherwise ``INVISIBLE``.

        Raises:
            ValueError: bad arguments (nothing is sent).
            SigningRejectedError: BSrE refused (wrong passphrase/TOTP, unknown NIK, ...).
            SigningUnavailableError: the request did not reach BSrE; nothing was signed.
            SigningOutcomeUnknownError: the request was sent and its outcome is unknown.
            SignedDocumentInvalidError: BSrE answered with a file that is not the signed
                original.
        """
        try:
            kind = _check_credentials(nik, passphrase is not None, totp is not None, bool(passphrase or totp))
            if not pdf:
                raise ValueError("pdf is empty")
            properties = _signature_properties(pdf, reason, location, appearance)
            body = _sign_body(nik, kind, passphrase if kind == "passphrase" else totp, properties, pdf)
        finally:
            # No secret may stay reachable from this frame (tracebacks keep frames alive).
            passphrase = totp = None
        logger.info("BSrE sign request: sending (%s)", properties["tampilan"])
        sent = self._send("POST", SIGN_PATH, body, self._timeout)
        body = b""
        return self._signed_file(sent, pdf)

    def verify_with_service(self, pdf: bytes) -> ServiceVerification:
        """Ask BSrE to verify ``pdf`` (``POST /api/v2/verify/pdf`` [G §6.9]).

        Raises:
            SigningError: the call failed or the answer is unreadable.
        """
        body = json.dumps({"file": base64.b64encode(pdf).decode("ascii")}).encode()
        sent = self._send("POST", VERIFY_PATH, body, self._verify_timeout)
        response = sent.response
        if response is None:
            raise SigningError(f"BSrE verification call failed ({sent.failure})")
        if response.status != 200:
            raise SigningError(f"BSrE verification call answered HTTP {response.status}")
        payload = _json(response.body)
        if not isinstance(payload, dict) or not isinstance(payload.get("conclusion"), str):
            raise SigningError("unreadable BSrE verification response")
        informations = payload.get("signatureInformations")
        count = payload.get("signatureCount")
        if not isinstance(count, int):
            count = len(informations) if isinstance(informations, list) else 0
        description = payload.get("description")
        return ServiceVerification(
            conclusion=payload["conclusion"],
            signature_count=count,
            description=description if isinstance(description, str) else "",
        )

    # -- internals -----------------------------------------------------------------------------

    def _send(self, method: str, path: str, body: bytes | None, timeout: float) -> _Sent:
        """One request; never raises for transport failures (their exceptions are dropped here
        so that nothing reachable from a later exception holds the request body)."""
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        not_sent = False
        failure = ""
        try:
            return _Sent(
                self._http(method, self._base_url + path, headers=headers, body=body, timeout=timeout),
                False,
                "",
            )
        except RequestNotSentError as exc:
            not_sent, failure = True, f"not sent: {exc}"
        except Exception as exc:
            failure = type(exc).__name__
        finally:
            body = None
        return _Sent(None, not_sent, failure)

    @staticmethod
    def _answered(sent: _Sent, what: str) -> HttpResponse:
        """The response of a read-only call; no answer at all means the service is unavailable."""
        if sent.response is None:
            logger.warning("BSrE %s: no answer (%s)", what, sent.failure)
            raise SigningUnavailableError(f"BSrE {what} failed ({sent.failure})")
        return sent.response

    def _signed_file(self, sent: _Sent, pdf: bytes) -> bytes:
        response = sent.response
        if response is None:
            if sent.not_sent:
                logger.warning("BSrE sign request: %s", sent.failure)
                raise SigningUnavailableError(f"BSrE sign request did not reach the service ({sent.failure})")
            logger.warning("BSrE sign request: outcome unknown (%s)", sent.failure)
            raise SigningOutcomeUnknownError(sent.failure)
        status = response.status
        if status == 200:
            signed = _file_from(response)
            if signed is None:
                payload = _json(response.body)
                if isinstance(payload, dict) and _int_code(payload.get("status_code")) is not None:
                    raise _rejection(response, "sign request")
                logger.warning("BSrE sign request: unreadable 200 response")
                raise SigningOutcomeUnknownError("unreadable response")
            if not signed.startswith(pdf) or len(signed) == len(pdf):
                raise SignedDocumentInvalidError(
                    "BSrE returned a file that is not a signed version of the original"
                )
            if _signature_count(signed) <= _signature_count(pdf):
                raise SignedDocumentInvalidError("BSrE returned a file that carries no new signature")
            self._verify_locally(signed)
            logger.info("BSrE sign request: signed")
            return signed
        if 400 <= status < 500:
            raise _rejection(response, "sign request")
        # 5xx (BSrE also answers 500 for a bad PDF, indistinguishable from a late failure), 3xx
        logger.warning("BSrE sign request: outcome unknown (HTTP %s)", status)
        raise SigningOutcomeUnknownError(f"HTTP {status}")

    def _verify_locally(self, signed: bytes) -> None:
        if not self._trust_roots:
            return
        report = verify_signed_pdf(signed, self._trust_roots)
        if not report.valid:
            raise SignedDocumentInvalidError(
                f"BSrE signed file does not verify locally ({', '.join(report.reasons)})"
            )


class BsreOneShotSigner:
    """A :class:`~silastri.adapters.signing.Signer` that can sign once with one BSrE credential.

    Created by :meth:`BsreSigner.with_credentials`. The credential is removed from the object
    before the request is sent, whether the call then succeeds or fails; a second call raises
    :class:`~silastri.adapters.signing.SigningError` without contacting BSrE. Use it as a
    context manager (or call :meth:`discard`) to drop an unused credential. It cannot be pickled
    or copied.
    """

    def __init__(self, service: BsreSigner, nik: str, kind: str, secret: str) -> None:
        self._service = service
        self._pending: list[tuple[str, str, str]] = [(nik, kind, secret)]
        self._used = False

    def __repr__(self) -> str:
        state = "used" if self._used else ("armed" if self._pending else "discarded")
        return f"BsreOneShotSigner({self._service!r}, {state})"

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError("a one-shot signer holds a one-time credential and cannot be pickled or copied")

    def __enter__(self) -> BsreOneShotSigner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    @property
    def used(self) -> bool:
        """True once ``sign_pdf`` was called."""
        return self._used

    def discard(self) -> None:
        """Forget the credential without using it."""
        self._pending.clear()

    def trust_roots_pem(self) -> list[bytes]:
        """The BSrE roots configured on the underlying :class:`BsreSigner`."""
        return self._service.trust_roots_pem()

    def sign_pdf(
        self,
        pdf: bytes,
        *,
        signer: SignerIdentity,
        reason: str,
        location: str,
        appearance: SignatureAppearance | None = None,
    ) -> bytes:
        """Sign once, as :meth:`BsreSigner.sign_pdf` does, with the held credential.

        Raises:
            SigningError: the credential was already used or discarded, or any error of
                :meth:`BsreSigner.sign_pdf`.
        """
        if not self._pending:
            raise SigningError("the one-time BSrE credential was already used or discarded")
        nik, kind, secret = self._pending.pop()
        self._used = True
        credentials = {kind: secret}
        secret = ""
        try:
            return self._service.sign_pdf(
                pdf,
                signer=signer,
                reason=reason,
                location=location,
                nik=nik,
                appearance=appearance,
                **credentials,
            )
        finally:
            credentials.clear()  # before any exception leaves this frame


# -- helpers -----------------------------------------------------------------------------------


def _check_credentials(nik: str, has_passphrase: bool, has_totp: bool, non_empty: bool) -> str:
    """``"passphrase"`` or ``"totp"``; raises ValueError (naming no value) on bad arguments.

    Takes flags, not the secret: this frame may end up in a traceback.
    """
    if not isinstance(nik, str) or not _NIK.fullmatch(nik):
        raise ValueError("nik must be 16 digits")
    if has_passphrase == has_totp:
        raise ValueError("give exactly one of passphrase and totp")
    kind = "passphrase" if has_passphrase else "totp"
    if not non_empty:
        raise ValueError(f"{kind} is empty")
    return kind


def _signature_properties(
    pdf: bytes, reason: str, location: str, appearance: SignatureAppearance | None
) -> dict[str, Any]:
    """One ``signatureProperties`` element [G §6.2]; raises ValueError for an unusable appearance."""
    if appearance is None or not appearance.visible:
        return {"tampilan": "INVISIBLE", "reason": reason, "location": location}
    if not appearance.image_png:
        raise ValueError("a visible BSrE signature needs the specimen image (image_png)")
    if appearance.width <= 0 or appearance.height <= 0:
        raise ValueError("a visible signature needs a positive width and height")
    page = appearance.page
    pages = _page_count(pdf)
    if page == -1:
        page = pages  # BSrE takes a page number [G §6.2 item 6]
    if page < 1:
        raise ValueError("page must be 1-based or -1 (last page)")
    if page > pages:  # BSrE would answer 500 (an unknown outcome): refused here, before anything is sent
        raise ValueError(f"the visible signature's page {page} is beyond the document's {pages} pages")
    return {
        "tampilan": "VISIBLE",
        "imageBase64": base64.b64encode(appearance.image_png).decode("ascii"),
        "page": page,
        "originX": float(appearance.x),
        "originY": float(appearance.y),
        "width": float(appearance.width),
        "height": float(appearance.height),
        "reason": reason,
        "location": location,
    }


def _sign_body(nik: str, kind: str, secret: str | None, properties: dict[str, Any], pdf: bytes) -> bytes:
    payload = {
        "nik": nik,
        kind: secret,
        "signatureProperties": [properties],
        "file": [base64.b64encode(pdf).decode("ascii")],
    }
    try:
        return json.dumps(payload).encode()
    finally:
        payload.clear()


def _certificate_status(status: str, code: int | None) -> CertificateStatus:
    label = CERTIFICATE_LABELS.get(status) or f"Status sertifikat di BSrE: {status}"
    return CertificateStatus(status=status, label=label, may_sign=status == "ISSUE", code=code)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _int_code(raw: Any) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


def _file_from(response: HttpResponse) -> bytes | None:
    """The single base64 file of a sign response (``file`` as a list [O] or a string)."""
    payload = _json(response.body)
    if not isinstance(payload, dict):
        return None
    files = payload.get("file")
    if isinstance(files, list) and len(files) == 1:
        files = files[0]
    if not isinstance(files, str) or not files:
        return None
    try:
        return base64.b64decode(files, validate=True)
    except (binascii.Error, ValueError):
        return None


def _rejection(response: HttpResponse, what: str) -> SigningRejectedError:
    payload = _json(response.body)
    code: int | None = None
    text = ""
    if isinstance(payload, dict):
        code = _int_code(payload.get("status_code"))
        for key in ("error", "message"):
            if isinstance(payload.get(key), str):
                text = payload[key]
                break
    unauthorised = response.status in (401, 403)
    reason = CLIENT_UNAUTHORIZED if unauthorised else _CODE_REASONS.get(code or 0, REJECTED)
    text = _printable(text)[:_MAX_ERROR_TEXT]
    detail = f"HTTP {response.status}" + (f", kode {code}" if code is not None else "")
    label = _REJECTION_LABELS[reason]
    message = f"{label} (BSrE, {what}: {detail}" + (f": {text})" if text else ")")
    logger.warning("BSrE %s: refused (%s; %s)", what, reason, detail)
    return SigningRejectedError(message, reason=reason, http_status=response.status, code=code)


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def _page_count(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        return int(PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Count"])
    except Exception:
        raise ValueError("cannot read the page count of the PDF") from None


def _signature_count(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        return len(list(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures))
    except Exception:
        return 0
