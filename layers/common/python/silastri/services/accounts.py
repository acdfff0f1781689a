"""Applicant accounts: registration, activation by a WhatsApp code, login."""

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

CODE_SECONDS = 600
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,}$")


def normalise_phone(phone: str) -> str:
    """Indonesian mobile number to E.164 (`08…`, `628…`, `+628…` → `+628…`)."""
    digits = re.sub(r"[\s-]", "", phone or "")
    if digits.startswith("08"):
        digits = "+62" + digits[1:]
    elif digits.startswith("62"):
        digits = "+" + digits
    if not re.fullmatch(r"\+628\d{7,12}", digits):
        raise ValidationError("nomor WhatsApp tidak valid (contoh: 081234567890)", field="phone")
    return digits


def _hash(code: str, code_id: str) -> str:
    return hashlib.sha256(f"{code_id}:{code}".encode()).hexdigest()


def _code_id(email: str) -> str:
    return "activation#" + hashlib.sha256(email.lower().encode()).hexdigest()


def register(name: str, email: str, phone: str, password: str) -> dict[str, Any]:
    """Create the (inactive) account and send the activation code by WhatsApp."""
    if not isinstance(name, str) or not 2 <= len(name.strip()) <= 200:
        raise ValidationError("nama wajib diisi", field="name")
    if not isinstance(email, str) or not _EMAIL.match(email):
        raise ValidationError("alamat email tidak valid", field="email")
    if not isinstance(password, str) or len(password) < 10:
        raise ValidationError("kata sandi minimal 10 karakter", field="password")
    phone = normalise_phone(phone)
    user_id = identity.register(email.lower(), password, name.strip(), phone)
    _send_code(email.lower(), phone)
    return {"user_id": user_id, "activation": "code sent by WhatsApp"}


def _send_code(email: str, phone: str) -> None:
    bind_tables()
    code = f"{secrets.randbelow(1_000_000):06d}"
    code_id = _code_id(email)
    now = int(time.time())
    CodeItem(code_id=code_id, code_hash=_hash(code, code_id), expires_epoch=now + CODE_SECONDS, attempts=0,
             sent_epoch=now, subject=email).save()
    text = (f"SILASTRI RV: kode aktivasi akun Anda {code}. Berlaku 10 menit. "
            "Jangan berikan kode ini kepada siapa pun.")
    messaging.channels()["whatsapp"].send(messaging.OutgoingMessage(
        channel="whatsapp", to=phone, subject="Kode aktivasi SILASTRI RV", text=text))


def activate(email: str, code: str) -> None:
    """Check the code (hash, expiry, bounded attempts) and activate the account."""
    bind_tables()
    if not isinstance(email, str) or not isinstance(code, str) or not re.fullmatch(r"\d{6}", code):
        raise ValidationError("kode aktivasi terdiri dari 6 angka", field="code")
    code_id = _code_id(email)
    try:
        item = CodeItem.get(code_id, consistent_read=True)
    except DoesNotExist:
        raise ValidationError("kode aktivasi tidak ditemukan; minta kode baru", field="code") from None
    if item.expires_epoch < time.time():
        raise ValidationError("kode aktivasi sudah kedaluwarsa; minta kode baru", field="code")
    if item.attempts >= MAX_ATTEMPTS:
        raise ConflictError("terlalu banyak percobaan; minta kode baru", field="code")
    item.update(actions=[CodeItem.attempts.add(1)])
    if not hmac.compare_digest(item.code_hash, _hash(code, code_id)):
        raise ValidationError("kode aktivasi salah", field="code")
    identity.activate(email.lower())
    item.delete()


def resend(email: str) -> None:
    """A new code, at most once a minute."""
    bind_tables()
    code_id = _code_id(email)
    try:
        item = CodeItem.get(code_id, consistent_read=True)
    except DoesNotExist:
        raise ValidationError("tidak ada aktivasi yang menunggu untuk email ini", field="email") from None
    if time.time() - item.sent_epoch < RESEND_SECONDS:
        raise ConflictError("tunggu satu menit sebelum meminta kode baru", field="email")
    phone = identity.contact_by_email(email.lower()).get("phone_number")
    if not phone:
        raise ValidationError("akun tidak memiliki nomor WhatsApp", field="email")
    _send_code(email.lower(), phone)
