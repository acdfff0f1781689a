"""Certified electronic signatures (TTE) through BSrE eSign (Balai Sertifikasi Elektronik, BSSN).

:class:`BsreSigner` talks to BSrE's eSign Client Service API v2 over HTTP(S) with the standard
library only (``urllib``; the Lambda layer carries no ``requests``). The signer's certificate and
key stay at BSrE: the signer is identified by NIK and authorises each call with a passphrase or a
TOTP that the head of office types in. That secret is a parameter of the one call that uses it and
is never stored: not on the signer object, not in logs, not in exception messages or arguments, and
not in the local variables of this module's frames that a raised exception's traceback keeps alive.

Contract
--------
Modelled on BSrE's public "Petunjuk Teknis Penggunaan API eSign Client Service" v2 and on
integrators' published observations of it (paths, body fields, ``tampilan``, error codes, response
keys). The request id header, the ``id`` in the sign response and the status endpoint are **this
adapter's assumption** for reconciliation: BSrE's published v2 material does not show them, so they
must be confirmed with BSrE (or replaced by its equivalent) before production. The fake server in
``tests/fixtures/fake_bsre.py`` implements exactly this contract.

All calls use HTTP basic auth with the client credentials of the eSign Client Service and UTF-8
JSON bodies; files are standard base64 with padding.

``POST {base}/api/v2/sign/pdf`` with header ``X-Request-ID: <uuid4>`` (new for every call)::

    {"nik": "<16 digits>", "passphrase": "<secret>"        (or "totp": "<code>", never both),
     "signatureProperties": [{"tampilan": "INVISIBLE", "reason": "...", "location": "..."}],
     "file": ["<base64 PDF>"]}

* ``200 {"file": ["<base64 signed PDF>"], "id": "<request id>", "time": <ms>}`` — signed. The
  signed file must be an incremental update of the submitted one (PAdES signers append a
  revision), which this adapter checks.
* ``400 {"status_code": 2031, "error": "Passphrase anda salah"}`` — wrong passphrase or TOTP;
  ``2011`` NIK not registered; ``2021`` no (valid) certificate; other 4xx likewise refusals.
* ``401 {"timestamp", "status": 401, "error": "Unauthorized", "path"}`` — wrong client credentials.
* ``503`` — the service did not take the request. Other ``5xx`` — failed somewhere, possibly after
  signing.

``GET {base}/api/v2/sign/status/{request_id}``:

* ``200 {"id": "<request id>", "file": ["<base64 signed PDF>"]}`` — that request was signed.
* ``202 {"id": "<request id>", "status": "IN_PROGRESS"}`` — still being processed.
* ``404 {"status_code": 404, "error": "..."}`` — never received, refused or failed: nothing signed.

``POST {base}/api/v2/verify/pdf`` with ``{"file": "<base64 PDF>"}`` →
``200 {"conclusion": "VALID" | "WARNING" | "INVALID" | "NO_SIGNATURE", "description": "...",
"signatureCount": <n>, "signatureInformations": [...]}``.

Outcomes of a sign call
-----------------------
=====================================================  ==========================================
what happened                                          raised / returned
=====================================================  ==========================================
200 with a readable, matching signed file              the signed PDF
200 with a file that is not the signed original        :class:`SignedDocumentInvalidError`
4xx                                                    :class:`SigningRejectedError` (never retried)
could not connect / send (request did not arrive), 503 :class:`SigningUnavailableError`
timeout, connection drop after sending, other 5xx,     :class:`SigningOutcomeUnknownError` with the
unreadable 200                                         request id — call :meth:`BsreSigner.reconcile`
=====================================================  ==========================================

A sign call is never retried automatically: a retry after an unknown outcome could sign twice,
and a one-time TOTP cannot be replayed anyway. :meth:`BsreSigner.reconcile` asks the service
what became of a request; ``None`` means nothing was signed and a new attempt (with a new
passphrase or TOTP from the head) is safe.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from silastri.adapters.signing import SignerIdentity, SigningError, verify_signed_pdf

__all__ = [
    "CLIENT_UNAUTHORIZED",
    "NOT_REGISTERED",
    "NO_CERTIFICATE",
    "REJECTED",
    "WRONG_CREDENTIALS",
    "BsreOneShotSigner",
    "BsreSigner",
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
STATUS_PATH = "/api/v2/sign/status/"
VERIFY_PATH = "/api/v2/verify/pdf"
REQUEST_ID_HEADER = "X-Request-ID"
DEFAULT_VERIFY_TIMEOUT = 120.0  # BSrE verification of a large multi-signature PDF can take ~40 s

# Machine reasons of SigningRejectedError.
WRONG_CREDENTIALS = "wrong-credentials"
NOT_REGISTERED = "not-registered"
NO_CERTIFICATE = "no-certificate"
CLIENT_UNAUTHORIZED = "client-unauthorized"
REJECTED = "rejected"

_CODE_REASONS = {2031: WRONG_CREDENTIALS, 2011: NOT_REGISTERED, 2021: NO_CERTIFICATE}
_NIK = re.compile(r"\d{16}")
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
_PDF_WHITESPACE = b"\x00\t\n\x0c\r "
_MAX_ERROR_TEXT = 200


# -- errors ------------------------------------------------------------------------------------


class SigningRejectedError(SigningError):
    """BSrE refused to sign (4xx). Nothing was signed; the same request must not be retried.

    Attributes:
        reason: machine code (``wrong-credentials``, ``not-registered``, ``no-certificate``,
            ``client-unauthorized`` or ``rejected``).
        http_status: the HTTP status of the refusal.
        code: BSrE's application ``status_code`` when given.
        request_id: the request id of the refused call.
    """

    def __init__(
        self, message: str, *, reason: str, http_status: int, code: int | None, request_id: str | None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.http_status = http_status
        self.code = code
        self.request_id = request_id

    @property
    def wrong_credentials(self) -> bool:
        """True when the passphrase or TOTP was wrong: ask the head to enter it again."""
        return self.reason == WRONG_CREDENTIALS


class SigningUnavailableError(SigningError):
    """The request did not reach BSrE (or BSrE did not take it): nothing was signed."""

    def __init__(self, message: str, *, request_id: str | None) -> None:
        super().__init__(message)
        self.request_id = request_id


class SigningOutcomeUnknownError(SigningError):
    """The sign request may or may not have been carried out; reconcile it by ``request_id``.

    Do not send the document again before :meth:`BsreSigner.reconcile` returned ``None``.
    """

    def __init__(self, request_id: str, detail: str = "") -> None:
        message = f"outcome of BSrE sign request {request_id} is unknown"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.request_id = request_id


class SignedDocumentInvalidError(SigningError):
    """BSrE returned a file that is not a valid signed version of the submitted document."""

    def __init__(self, message: str, *, request_id: str | None) -> None:
        super().__init__(message)
        self.request_id = request_id


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
    """Client of BSrE eSign API v2 (see the module docstring for the contract).

    Args:
        base_url: the eSign Client Service, e.g. ``https://esign.example.go.id``.
        username: client (basic auth) user name issued for the service.
        password: client (basic auth) password.
        timeout: socket timeout of sign and status calls, in seconds.
        http: the transport; :class:`UrllibTransport` by default.
        verify_timeout: socket timeout of verification calls (default 120 s or ``timeout``
            if larger).
        trust_roots_pem: BSrE's root certificates (PEM). Returned by :meth:`trust_roots_pem`;
            when given, every signed file is also verified locally against them.
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
    ) -> bytes:
        """Have BSrE sign ``pdf`` (invisible PAdES signature) with the certificate of ``nik``.

        ``signer`` is not sent: BSrE signs with the identity in ``nik``'s certificate. Exactly
        one of ``passphrase`` and ``totp`` authorises this single call; it is not kept.

        Raises:
            ValueError: bad arguments (nothing is sent).
            SigningRejectedError: BSrE refused (wrong passphrase/TOTP, unknown NIK, ...).
            SigningUnavailableError: the request did not reach BSrE; nothing was signed.
            SigningOutcomeUnknownError: the outcome is unknown; reconcile by its ``request_id``.
            SignedDocumentInvalidError: BSrE answered with a file that is not the signed
                original.
        """
        try:
            kind = _check_credentials(nik, passphrase is not None, totp is not None, bool(passphrase or totp))
            if not pdf:
                raise ValueError("pdf is empty")
            request_id = str(uuid.uuid4())
            body = _sign_body(nik, kind, passphrase if kind == "passphrase" else totp, reason, location, pdf)
        finally:
            # No secret may stay reachable from this frame (tracebacks keep frames alive).
            passphrase = totp = None
        logger.info("BSrE sign request %s: sending", request_id)
        sent = self._send("POST", SIGN_PATH, body, self._timeout, request_id=request_id)
        body = b""
        return self._signed_file(sent, pdf, request_id)

    def reconcile(self, request_id: str, original_pdf_sha256: str) -> bytes | None:
        """Settle a sign request whose outcome was unknown.

        Returns the signed PDF when BSrE signed it and the file checks out (an incremental update
        of the document whose SHA-256 is ``original_pdf_sha256``, ``VALID`` by BSrE's verify
        call, and valid against the configured trust roots if any). Returns ``None`` when BSrE
        reports the request as not signed: a new attempt, with new credentials, is then safe.

        Raises:
            ValueError: ``request_id`` is not a UUID or the digest is not 64 hex digits.
            SigningOutcomeUnknownError: still unknown (in progress, or the service could not be
                asked or could not verify); ask again later.
            SignedDocumentInvalidError: the service claims it signed, but the file it returns is
                not a valid signed version of the original; investigate, do not re-sign blindly.
        """
        request_id = str(uuid.UUID(request_id))
        if not _SHA256_HEX.fullmatch(original_pdf_sha256):
            raise ValueError("original_pdf_sha256 must be a hex SHA-256 digest")
        sent = self._send("GET", STATUS_PATH + request_id, None, self._timeout)
        response = sent.response
        if response is None:
            raise SigningOutcomeUnknownError(request_id, f"status query failed ({sent.failure})")
        if response.status == 404:
            logger.info("BSrE sign request %s: not signed", request_id)
            return None
        if response.status == 202:
            raise SigningOutcomeUnknownError(request_id, "still in progress")
        if response.status in (401, 403):
            raise SigningError(f"BSrE refused the status query (HTTP {response.status})")
        if response.status != 200:
            raise SigningOutcomeUnknownError(request_id, f"status query answered HTTP {response.status}")
        signed = _file_from(response)
        if signed is None:
            raise SigningOutcomeUnknownError(request_id, "unreadable status response")
        if not _is_incremental_update(signed, original_pdf_sha256.lower()):
            raise SignedDocumentInvalidError(
                f"BSrE sign request {request_id}: returned file is not a signed version of the original",
                request_id=request_id,
            )
        try:
            verdict = self.verify_with_service(signed)
        except SigningError as exc:
            raise SigningOutcomeUnknownError(request_id, f"verification failed: {exc}") from None
        if not verdict.valid:
            raise SignedDocumentInvalidError(
                f"BSrE sign request {request_id}: returned file does not verify ({verdict.conclusion})",
                request_id=request_id,
            )
        self._verify_locally(signed, request_id)
        logger.info("BSrE sign request %s: reconciled as signed", request_id)
        return signed

    def verify_with_service(self, pdf: bytes) -> ServiceVerification:
        """Ask BSrE to verify ``pdf`` (``POST /api/v2/verify/pdf``).

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

    def _send(
        self, method: str, path: str, body: bytes | None, timeout: float, *, request_id: str | None = None
    ) -> _Sent:
        """One request; never raises for transport failures (their exceptions are dropped here
        so that nothing reachable from a later exception holds the request body)."""
        headers = {"Authorization": self._authorization, "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
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

    def _signed_file(self, sent: _Sent, pdf: bytes, request_id: str) -> bytes:
        response = sent.response
        if response is None:
            if sent.not_sent:
                logger.warning("BSrE sign request %s: %s", request_id, sent.failure)
                raise SigningUnavailableError(
                    f"BSrE sign request {request_id} did not reach the service ({sent.failure})",
                    request_id=request_id,
                )
            logger.warning("BSrE sign request %s: outcome unknown (%s)", request_id, sent.failure)
            raise SigningOutcomeUnknownError(request_id, sent.failure)
        status = response.status
        if status == 200:
            signed = _file_from(response)
            if signed is None:
                logger.warning("BSrE sign request %s: unreadable 200 response", request_id)
                raise SigningOutcomeUnknownError(request_id, "unreadable response")
            if not signed.startswith(pdf) or len(signed) == len(pdf):
                raise SignedDocumentInvalidError(
                    f"BSrE sign request {request_id}: returned file is not a signed version of the original",
                    request_id=request_id,
                )
            if _signature_count(signed) <= _signature_count(pdf):
                raise SignedDocumentInvalidError(
                    f"BSrE sign request {request_id}: returned file carries no new signature",
                    request_id=request_id,
                )
            self._verify_locally(signed, request_id)
            logger.info("BSrE sign request %s: signed", request_id)
            return signed
        if 400 <= status < 500:
            raise _rejection(response, request_id)
        if status == 503:
            raise SigningUnavailableError(
                f"BSrE sign request {request_id}: service unavailable (HTTP 503)", request_id=request_id
            )
        logger.warning("BSrE sign request %s: outcome unknown (HTTP %s)", request_id, status)
        raise SigningOutcomeUnknownError(request_id, f"HTTP {status}")

    def _verify_locally(self, signed: bytes, request_id: str) -> None:
        if not self._trust_roots:
            return
        report = verify_signed_pdf(signed, self._trust_roots)
        if not report.valid:
            raise SignedDocumentInvalidError(
                f"BSrE sign request {request_id}: signed file does not verify locally "
                f"({', '.join(report.reasons)})",
                request_id=request_id,
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

    def sign_pdf(self, pdf: bytes, *, signer: SignerIdentity, reason: str, location: str) -> bytes:
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
                pdf, signer=signer, reason=reason, location=location, nik=nik, **credentials
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


def _sign_body(nik: str, kind: str, secret: str | None, reason: str, location: str, pdf: bytes) -> bytes:
    payload = {
        "nik": nik,
        kind: secret,
        "signatureProperties": [{"tampilan": "INVISIBLE", "reason": reason, "location": location}],
        "file": [base64.b64encode(pdf).decode("ascii")],
    }
    try:
        return json.dumps(payload).encode()
    finally:
        payload.clear()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _file_from(response: HttpResponse) -> bytes | None:
    """The single base64 file of a sign or status response (``file`` as a list or a string)."""
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


def _rejection(response: HttpResponse, request_id: str) -> SigningRejectedError:
    payload = _json(response.body)
    code: int | None = None
    text = ""
    if isinstance(payload, dict):
        raw_code = payload.get("status_code")
        if isinstance(raw_code, int) or (isinstance(raw_code, str) and raw_code.isdigit()):
            code = int(raw_code)
        for key in ("error", "message"):
            if isinstance(payload.get(key), str):
                text = payload[key]
                break
    reason = CLIENT_UNAUTHORIZED if response.status == 401 else _CODE_REASONS.get(code or 0, REJECTED)
    text = _printable(text)[:_MAX_ERROR_TEXT]
    detail = f"HTTP {response.status}" + (f", code {code}" if code is not None else "")
    message = f"BSrE refused sign request {request_id} ({reason}; {detail})" + (f": {text}" if text else "")
    logger.warning("BSrE sign request %s: refused (%s; %s)", request_id, reason, detail)
    return SigningRejectedError(
        message, reason=reason, http_status=response.status, code=code, request_id=request_id
    )


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def _is_incremental_update(signed: bytes, original_sha256: str) -> bool:
    """Does ``signed`` start with a complete earlier revision whose SHA-256 is ``original_sha256``?

    Candidate revision ends are the positions after each ``%%EOF`` marker and any PDF whitespace
    following it; the whole of ``signed`` is not a candidate (a signature must have been added).
    """
    candidates: set[int] = set()
    for match in re.finditer(rb"%%EOF", signed):
        end = match.end()
        candidates.add(end)
        while end < len(signed) and signed[end] in _PDF_WHITESPACE:
            end += 1
            candidates.add(end)
    candidates.discard(len(signed))
    return any(hashlib.sha256(signed[:end]).hexdigest() == original_sha256 for end in sorted(candidates))


def _signature_count(pdf: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        return len(list(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures))
    except Exception:
        return 0
