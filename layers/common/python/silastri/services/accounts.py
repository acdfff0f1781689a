"""Applicant accounts: registration, activation by a WhatsApp code, password reset by WhatsApp code, and
verification of the e-mail address by a code sent to it (the plan e-mails applicants only once verified).

Codes are six digits, stored only as a keyed hash, expire after ten minutes, allow five attempts and
can be re-sent once a minute. NIK is kept only as a keyed hash and a masked form."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from ..adapters import identity
from ..adapters.dynamo import CodeItem, bind_tables
from ..adapters.identity import Principal
from ..domain import steps
from ..domain.errors import ConflictError, ForbiddenError, TooManyRequestsError, ValidationError
from ..domain.validation import clean_text
from ..settings import derived_key
from . import notifier, ratelimit

CODE_SECONDS = 600
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")
ACTIVATION, RESET, EMAIL = "activation", "reset", "email"


def normalise_phone(phone: str) -> str:
    """Indonesian mobile number to E.164 (`08…`, `628…`, `+628…` → `+628…`); ValidationError(field="phone")."""
    if not isinstance(phone, str) or len(phone) > 40:
        raise ValidationError("nomor WhatsApp tidak valid (contoh: 081234567890)", field="phone")
    digits = re.sub(r"[\s().-]", "", phone)
    if digits.startswith("08"):
        digits = "+62" + digits[1:]
    elif digits.startswith("62"):
        digits = "+" + digits
    if not re.fullmatch(r"\+628[0-9]{7,11}", digits):
        raise ValidationError("nomor WhatsApp tidak valid (contoh: 081234567890)", field="phone")
    return digits


def check_nik(nik: str) -> str:
    """A NIK is 16 digits; the first six name a real region code (not all zeros). ValidationError(field="nik")."""
    value = re.sub(r"\s", "", nik) if isinstance(nik, str) and len(nik) <= 40 else ""
    if not re.fullmatch(r"[0-9]{16}", value) or value[:6] == "000000":
        raise ValidationError("NIK harus 16 angka sesuai KTP", field="nik")
    return value


def mask_nik(nik: str) -> str:
    """`****…1234`: only the last four digits of a (checked) NIK are ever shown."""
    return "*" * 12 + nik[-4:]


def nik_hash(nik: str) -> str:
    """Keyed SHA-256 (hex) of a NIK: how the NIK is kept, never in clear."""
    return hmac.new(derived_key("nik"), nik.encode(), hashlib.sha256).hexdigest()


def check_password(password: str, field: str = "password") -> str:
    """10–256 characters with upper case, lower case and a digit; ValidationError(field) otherwise."""
    if not isinstance(password, str) or not 10 <= len(password) <= 256 or not (
            re.search(r"[a-z]", password) and re.search(r"[A-Z]", password) and re.search(r"\d", password)):
        raise ValidationError("kata sandi minimal 10 karakter dengan huruf besar, huruf kecil dan angka", field=field)
    return password


def check_email(email: str) -> str:
    """A plausible e-mail address (at most 254 characters), trimmed and lower-cased; ValidationError("email")."""
    if not isinstance(email, str) or len(email) > 254 or not _EMAIL.match(email.strip()):
        raise ValidationError("alamat email tidak valid", field="email")
    return email.strip().lower()


def check_name(name: str) -> str:
    """A person's name: 2–200 characters of one line, without `< > { }`; ValidationError(field="name")."""
    name = clean_text(name, "name", 200, label="nama")
    if len(name) < 2 or re.search(r"[<>{}]", name):
        raise ValidationError("nama wajib diisi (2–200 karakter, tanpa < > { })", field="name")
    return name


def register(name: str, email: str, phone: str, password: str, nik: str) -> dict[str, Any]:
    """Create the (inactive) account and send the activation code by WhatsApp. Nothing is created
    if any field is invalid."""
    name = check_name(name)
    email = check_email(email)
    phone = normalise_phone(phone)
    nik = check_nik(nik)
    check_password(password)
    user_id = identity.register(email, password, name, phone,
                                {"custom:nik_masked": mask_nik(nik), "custom:nik_hash": nik_hash(nik)})
    sent = _send_code(ACTIVATION, email, {"sub": user_id, "phone_number": phone, "email": email})
    return {"user_id": user_id, "code_sent": sent,
            "activation": "kode dikirim melalui WhatsApp" if sent else CODE_NOT_SENT}


def _code_id(purpose: str, email: str) -> str:
    return f"{purpose}#" + hashlib.sha256(email.lower().encode()).hexdigest()


def _hash(code: str, code_id: str) -> str:
    return hmac.new(derived_key("codes"), f"{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


_EVENTS = {ACTIVATION: "activation_code", RESET: "reset_code", EMAIL: "email_code"}
CODE_NOT_SENT = ("kode belum dapat dikirim karena layanan WhatsApp sedang terganggu; "
                 "minta kode baru dalam beberapa menit")
EMAIL_CODE_NOT_SENT = ("kode belum dapat dikirim karena layanan email sedang terganggu; "
                       "minta kode baru dalam beberapa menit")


def _send_code(purpose: str, email: str, contact: dict[str, str]) -> bool:
    """Store a new code (hashed) and send it with the plan's template for the purpose's event (`_EVENTS`:
    activation and reset by WhatsApp, the e-mail verification code by e-mail).

    Sent directly, not through the notification queue, so codes never sit in a queue or its DLQ. A channel
    failure is recorded in the message log and answered False (the account stays as it is; the user asks for
    a new code); it never fails the request."""
    bind_tables()
    code = f"{secrets.randbelow(1_000_000):06d}"
    code_id = _code_id(purpose, email)
    now = int(time.time())
    code_hash = _hash(code, code_id)
    CodeItem(code_id=code_id, code_hash=code_hash, expires_epoch=now + CODE_SECONDS, attempts=0,
             sent_epoch=now, subject=purpose).save()
    # one message per code: two codes in the same second (a resend right after a failed send) are two events
    event_id = f"{_EVENTS[purpose]}:{code_id.split('#', 1)[1][:24]}:{now}:{code_hash[:12]}"
    status = notifier.send_now(_EVENTS[purpose], contact, {"code": code}, event_id)
    return status not in ("failed", "skipped")


def _code_format(code: str) -> str:
    if not isinstance(code, str) or not re.fullmatch(r"[0-9]{6}", code.strip()):
        raise ValidationError("kode terdiri dari 6 angka", field="code")
    return code.strip()


def _conditional(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def _consume_code(purpose: str, email: str, code: str) -> None:
    """Check a code: known, not expired, attempts left, matching; deleted once used.

    The attempt is counted by one conditional increment (`attempts < MAX_ATTEMPTS`, same code) *before* the
    comparison, so however many guesses arrive in parallel, at most MAX_ATTEMPTS are ever compared, and a
    used code is deleted by a conditional delete, so it works once only."""
    bind_tables()
    code = _code_format(code)
    code_id = _code_id(purpose, email)
    try:
        item = CodeItem.get(code_id, consistent_read=True)
    except DoesNotExist:
        raise ValidationError("kode tidak ditemukan; minta kode baru", field="code") from None
    if item.expires_epoch < time.time():
        raise ValidationError("kode sudah kedaluwarsa; minta kode baru", field="code")
    stored = item.code_hash
    try:
        item.update(actions=[CodeItem.attempts.add(1)],
                    condition=(CodeItem.attempts < MAX_ATTEMPTS) & (CodeItem.code_hash == stored))
    except UpdateError as exc:
        if not _conditional(exc):
            raise
        raise ConflictError("terlalu banyak percobaan; minta kode baru", field="code") from None
    if not hmac.compare_digest(stored.encode(), _hash(code, code_id).encode()):
        raise ValidationError("kode salah", field="code")
    try:
        item.delete(condition=CodeItem.code_hash == stored)
    except DeleteError as exc:
        if not _conditional(exc):
            raise
        raise ValidationError("kode sudah dipakai; minta kode baru", field="code") from None


def _code_attempt(email: str, client_address: str) -> ratelimit.Reservation:
    return ratelimit.attempt((ratelimit.CODE_ACCOUNT, email), (ratelimit.CODE_ADDRESS, client_address))


def _send_attempt(email: str, client_address: str) -> None:
    ratelimit.attempt((ratelimit.SEND_ACCOUNT, email), (ratelimit.SEND_ADDRESS, client_address))


def login(email: str, password: str, *, client_address: str) -> dict[str, Any]:
    """Log in (Cognito) under the login limits per account and per client address.

    Raises ValidationError for malformed input, TooManyRequestsError (429) when throttled — before the password
    is checked — and AuthError (401) for wrong credentials. A successful login does not count."""
    email = clean_text(email, "email", 254, label="email").lower()
    if not isinstance(password, str) or not 1 <= len(password) <= 256:
        raise ValidationError("kata sandi wajib diisi (maksimal 256 karakter)", field="password")
    reservation = ratelimit.attempt((ratelimit.LOGIN_ACCOUNT, email), (ratelimit.LOGIN_ADDRESS, client_address))
    tokens = identity.login(email, password)
    reservation.succeeded()
    return tokens


def activate(email: str, code: str, *, client_address: str) -> None:
    """Check the WhatsApp code and activate the account (applicant group).

    Wrong codes count against the code limits per account and per client address (429 when exceeded)."""
    email = check_email(email)
    _code_format(code)
    reservation = _code_attempt(email, client_address)
    _consume_code(ACTIVATION, email, code)
    identity.activate(email)
    reservation.succeeded()


def _resend_wait(purpose: str, email: str) -> int:
    """Whole seconds until a new code may be sent for (purpose, email); 0 when it may be sent now."""
    bind_tables()
    try:
        item = CodeItem.get(_code_id(purpose, email), consistent_read=True)
    except DoesNotExist:
        return 0
    return max(0, int(item.sent_epoch + RESEND_SECONDS - time.time()))


def _resend_allowed(purpose: str, email: str) -> None:
    if _resend_wait(purpose, email):
        raise ConflictError("tunggu satu menit sebelum meminta kode baru", field="email")


def resend(email: str, *, client_address: str) -> bool:
    """A new activation code, at most once a minute, for an account that is not active yet (and within the
    sending limits per account and per client address: 429 beyond them). False when the channel is down
    (the caller shows CODE_NOT_SENT; nothing else changes)."""
    email = check_email(email)
    _resend_allowed(ACTIVATION, email)
    _send_attempt(email, client_address)
    contact = identity.contact_by_email(email)
    if not contact.get("phone_number") or contact.get("status") != "UNCONFIRMED":
        raise ValidationError("tidak ada aktivasi yang menunggu untuk email ini", field="email")
    return _send_code(ACTIVATION, email, contact)


def request_password_reset(email: str, *, client_address: str) -> None:
    """Send a reset code by WhatsApp if an active account exists. The answer is the same either way,
    so the form cannot be used to find out who has an account. Sending limits as for `resend`."""
    email = check_email(email)
    _resend_allowed(RESET, email)
    _send_attempt(email, client_address)
    contact = identity.contact_by_email(email)
    if contact.get("phone_number") and contact.get("status") == "CONFIRMED":
        _send_code(RESET, email, contact)


def reset_password(email: str, code: str, new_password: str, *, client_address: str) -> None:
    """Set a new password with the WhatsApp reset code (code limits as for `activate`)."""
    email = check_email(email)
    check_password(new_password, field="new_password")
    _code_format(code)
    reservation = _code_attempt(email, client_address)
    _consume_code(RESET, email, code)
    identity.set_password(email, new_password)
    reservation.succeeded()


# ----------------------------------------------------------------------------- e-mail verification


def _applicant_contact(principal: Principal) -> dict[str, str]:
    """The signed-in applicant's own account attributes (Cognito); ForbiddenError for officers."""
    if steps.Role.APPLICANT.value not in principal.roles:
        raise ForbiddenError("halaman akun ini khusus untuk pemohon", field="role")
    contact = identity.contact_of(principal.user_id)
    if not contact.get("email"):
        raise ValidationError("akun ini tidak memiliki alamat email", field="email")
    return contact


def account_view(principal: Principal) -> dict[str, Any]:
    """What the applicant sees of their account: {"name", "email", "email_verified" (bool), "nik_masked"}."""
    contact = _applicant_contact(principal)
    return {"name": contact.get("name") or principal.name or "", "email": contact["email"],
            "email_verified": contact.get("email_verified") == "true",
            "nik_masked": contact.get("custom:nik_masked") or principal.nik_masked or ""}


def send_email_code(principal: Principal, *, client_address: str) -> bool:
    """Send a code to the applicant's e-mail address to prove they own it (one code per address, ten minutes).

    At most once a minute (TooManyRequestsError with the seconds left) and within the sending limits per account
    and per client address (429). ConflictError(field="email") when already verified. Returns False when the
    e-mail channel is down (EMAIL_CODE_NOT_SENT; the applicant asks again later)."""
    contact = _applicant_contact(principal)
    if contact.get("email_verified") == "true":
        raise ConflictError("alamat email ini sudah terverifikasi", field="email")
    email = contact["email"].lower()
    wait = _resend_wait(EMAIL, email)
    if wait:
        raise TooManyRequestsError("tunggu satu menit sebelum meminta kode baru", field="email", retry_after=wait)
    _send_attempt(email, client_address)
    return _send_code(EMAIL, email, {"sub": principal.user_id, "email": email})


def verify_email(principal: Principal, code: str, *, client_address: str) -> None:
    """Check the e-mail code and mark the address verified (`email_verified=true`, admin API).

    Errors as for `activate`: ValidationError(field="code") for a malformed, unknown, expired or wrong code,
    ConflictError after five attempts on one code, TooManyRequestsError beyond the code limits."""
    contact = _applicant_contact(principal)
    email = contact["email"].lower()
    _code_format(code)
    reservation = _code_attempt(email, client_address)
    _consume_code(EMAIL, email, code)
    identity.mark_email_verified(email)
    reservation.succeeded()
