"""Applicant accounts: registration, activation by a WhatsApp code, password reset by WhatsApp code.

Codes are six digits, stored only as a keyed hash, expire after ten minutes, allow five attempts and
can be re-sent once a minute. NIK is kept only as a keyed hash and a masked form."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any

from pynamodb.exceptions import DoesNotExist

from ..adapters import identity, messaging
from ..adapters.dynamo import CodeItem, bind_tables
from ..domain.errors import ConflictError, ValidationError
from ..settings import derived_key

CODE_SECONDS = 600
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")
ACTIVATION, RESET = "activation", "reset"
_TEXTS = {
    ACTIVATION: "SILASTRI RV: kode aktivasi akun Anda {code}. Berlaku 10 menit. Jangan berikan kode ini kepada siapa pun.",
    RESET: "SILASTRI RV: kode untuk mengatur ulang kata sandi Anda {code}. Berlaku 10 menit. "
           "Abaikan pesan ini jika Anda tidak memintanya.",
}


def normalise_phone(phone: str) -> str:
    """Indonesian mobile number to E.164 (`08…`, `628…`, `+628…` → `+628…`)."""
    digits = re.sub(r"[\s().-]", "", phone or "")
    if digits.startswith("08"):
        digits = "+62" + digits[1:]
    elif digits.startswith("62"):
        digits = "+" + digits
    if not re.fullmatch(r"\+628\d{7,11}", digits):
        raise ValidationError("nomor WhatsApp tidak valid (contoh: 081234567890)", field="phone")
    return digits


def check_nik(nik: str) -> str:
    """A NIK is 16 digits; the first six name a real region code (not all zeros)."""
    value = re.sub(r"\s", "", nik or "")
    if not re.fullmatch(r"\d{16}", value) or value[:6] == "000000":
        raise ValidationError("NIK harus 16 angka sesuai KTP", field="nik")
    return value


def mask_nik(nik: str) -> str:
    return "*" * 12 + nik[-4:]


def nik_hash(nik: str) -> str:
    return hmac.new(derived_key("nik"), nik.encode(), hashlib.sha256).hexdigest()


def check_password(password: str, field: str = "password") -> str:
    if not isinstance(password, str) or len(password) < 10 or not (
            re.search(r"[a-z]", password) and re.search(r"[A-Z]", password) and re.search(r"\d", password)):
        raise ValidationError("kata sandi minimal 10 karakter dengan huruf besar, huruf kecil dan angka", field=field)
    return password


def check_email(email: str) -> str:
    if not isinstance(email, str) or not _EMAIL.match(email.strip()):
        raise ValidationError("alamat email tidak valid", field="email")
    return email.strip().lower()


def register(name: str, email: str, phone: str, password: str, nik: str) -> dict[str, Any]:
    """Create the (inactive) account and send the activation code by WhatsApp. Nothing is created
    if any field is invalid."""
    if not isinstance(name, str) or not 2 <= len(name.strip()) <= 200 or re.search(r"[<>{}]", name):
        raise ValidationError("nama wajib diisi (2–200 karakter)", field="name")
    email = check_email(email)
    phone = normalise_phone(phone)
    nik = check_nik(nik)
    check_password(password)
    user_id = identity.register(email, password, name.strip(), phone,
                                {"custom:nik_masked": mask_nik(nik), "custom:nik_hash": nik_hash(nik)})
    _send_code(ACTIVATION, email, phone)
    return {"user_id": user_id, "activation": "kode dikirim melalui WhatsApp"}


def _code_id(purpose: str, email: str) -> str:
    return f"{purpose}#" + hashlib.sha256(email.lower().encode()).hexdigest()


def _hash(code: str, code_id: str) -> str:
    return hmac.new(derived_key("codes"), f"{code_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _send_code(purpose: str, email: str, phone: str) -> None:
    bind_tables()
    code = f"{secrets.randbelow(1_000_000):06d}"
    code_id = _code_id(purpose, email)
    now = int(time.time())
    CodeItem(code_id=code_id, code_hash=_hash(code, code_id), expires_epoch=now + CODE_SECONDS, attempts=0,
             sent_epoch=now, subject=purpose).save()
    # sent directly (not through the notification queue), so codes never sit in a queue or its DLQ
    messaging.channels()["whatsapp"].send(messaging.OutgoingMessage(
        channel="whatsapp", to=phone, subject="SILASTRI RV", text=_TEXTS[purpose].format(code=code),
        template=messaging.WhatsAppTemplate(name=f"silastri_kode_{purpose}", body_parameters=[code],
                                            button_parameter=code)))


def _consume_code(purpose: str, email: str, code: str) -> None:
    """Check a code: known, not expired, attempts left, matching. Deleted once used."""
    bind_tables()
    if not isinstance(code, str) or not re.fullmatch(r"\d{6}", code.strip()):
        raise ValidationError("kode terdiri dari 6 angka", field="code")
    code_id = _code_id(purpose, email)
    try:
        item = CodeItem.get(code_id, consistent_read=True)
    except DoesNotExist:
        raise ValidationError("kode tidak ditemukan; minta kode baru", field="code") from None
    if item.expires_epoch < time.time():
        raise ValidationError("kode sudah kedaluwarsa; minta kode baru", field="code")
    if item.attempts >= MAX_ATTEMPTS:
        raise ConflictError("terlalu banyak percobaan; minta kode baru", field="code")
    item.update(actions=[CodeItem.attempts.add(1)])
    if not hmac.compare_digest(item.code_hash, _hash(code.strip(), code_id)):
        raise ValidationError("kode salah", field="code")
    item.delete()


def activate(email: str, code: str) -> None:
    """Check the WhatsApp code and activate the account (applicant group)."""
    email = check_email(email)
    _consume_code(ACTIVATION, email, code)
    identity.activate(email)


def _resend_allowed(purpose: str, email: str) -> None:
    bind_tables()
    try:
        item = CodeItem.get(_code_id(purpose, email), consistent_read=True)
    except DoesNotExist:
        return
    if time.time() - item.sent_epoch < RESEND_SECONDS:
        raise ConflictError("tunggu satu menit sebelum meminta kode baru", field="email")


def resend(email: str) -> None:
    """A new activation code, at most once a minute, for an account that is not active yet."""
    email = check_email(email)
    _resend_allowed(ACTIVATION, email)
    contact = identity.contact_by_email(email)
    if not contact.get("phone_number") or contact.get("status") == "CONFIRMED":
        raise ValidationError("tidak ada aktivasi yang menunggu untuk email ini", field="email")
    _send_code(ACTIVATION, email, contact["phone_number"])


def request_password_reset(email: str) -> None:
    """Send a reset code by WhatsApp if an active account exists. The answer is the same either way,
    so the form cannot be used to find out who has an account."""
    email = check_email(email)
    _resend_allowed(RESET, email)
    contact = identity.contact_by_email(email)
    if contact.get("phone_number") and contact.get("status") == "CONFIRMED":
        _send_code(RESET, email, contact["phone_number"])


def reset_password(email: str, code: str, new_password: str) -> None:
    email = check_email(email)
    check_password(new_password, field="new_password")
    _consume_code(RESET, email, code)
    identity.set_password(email, new_password)
