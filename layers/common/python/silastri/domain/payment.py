"""The payment stage (pure): a retribution or fee assessed (fixed by the permit type, or entered by the technical
team with its basis), a payment reference the applicant pays against (bank transfer to a virtual account, or
QRIS), the proof, and the back office's confirmation before the permit is numbered and signed.

Amounts are whole Rupiah (IDR has no minor unit in practice). The applicant's deadline is the closing time of
the N-th working day after the reference is issued (`due_working_days` of the permit type); an unpaid
application lapses at it, like an unrevised one. While the back office checks a proof the applicant's clock
stops: a rejected proof gives back the time the applicant had left when uploading it (`due_after_rejection`).

What is stored on the application (`Application.payment`, JSON) is a `PaymentRecord`."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from .errors import ValidationError
from .validation import clean_text

PaymentMode = Literal["none", "fixed", "assessed"]
PaymentMethod = Literal["transfer", "qris"]

MAX_AMOUNT = 10**12  # one trillion Rupiah: beyond any regency retribution, a typo guard
PROOF_REQUIREMENT = "bukti-pembayaran"  # the proof travels the upload path as this pseudo-requirement
MIN_WAIT_AFTER_REJECTION = timedelta(hours=1)  # a proof rejected in the last minute still leaves time to act

METHOD_NAMES = {"transfer": "Transfer bank (virtual account)", "qris": "QRIS"}


class Assessment(BaseModel):
    """How much is to be paid and why: amount in whole Rupiah (> 0), its basis (the regulation and the
    calculation), who assessed it (a user id, or "system" for a fixed amount) and when (UTC)."""

    mode: Literal["fixed", "assessed"]
    amount: int = Field(gt=0, le=MAX_AMOUNT)
    basis: str = Field(min_length=1, max_length=1000)
    name: str
    assessed_by: str
    assessed_at: datetime


class PaymentReference(BaseModel):
    """What the applicant pays against, as the payment provider issued it."""

    reference_number: str
    method: str
    instructions: str
    expires_at: datetime


class PaymentRecord(BaseModel):
    """The payment stage of one application (`Application.payment`)."""

    assessment: Assessment | None = None
    reference: PaymentReference | None = None
    due_at: datetime | None = None             # the applicant's deadline (UTC); moves only after a rejected proof
    proof_upload_id: str | None = None         # the accepted proof (a document of PROOF_REQUIREMENT)
    provider_confirmed: bool = False           # the provider reported the reference paid (no proof needed)
    proof_submitted_at: datetime | None = None
    remaining_seconds: float | None = None     # the applicant's time left when the proof came in
    rejections: int = 0
    last_rejection_note: str | None = None
    confirmed_at: datetime | None = None
    confirmed_by: str | None = None


_AMOUNT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{3}){1,4}|[0-9]{1,13}")


def parse_assessment(amount: object, basis: object) -> tuple[int, str]:
    """The technical team's entry: `amount` a whole number of Rupiah (int, or digits with optional dots as
    thousands separators: "1.250.000"), `basis` the text that justifies it. Raises ValidationError(field=...)."""
    value: int | None = None
    if isinstance(amount, bool):
        value = None
    elif isinstance(amount, int):
        value = amount
    elif isinstance(amount, str):
        written = amount.strip().removeprefix("Rp").strip()
        # ASCII digits, grouped by dots in threes or not at all: "1.5" or "15.00.000" is a typo, not Rp 15
        value = int(written.replace(".", "")) if _AMOUNT.fullmatch(written) else None
    if value is None:
        raise ValidationError("besaran retribusi harus berupa bilangan bulat Rupiah", field="amount")
    if value <= 0:
        raise ValidationError("besaran retribusi harus lebih dari 0", field="amount")
    if value > MAX_AMOUNT:
        raise ValidationError("besaran retribusi terlalu besar", field="amount")
    text = clean_text(basis, "basis", 1000, label="dasar perhitungan", multiline=True)
    return value, text


def format_rupiah(amount: int) -> str:
    """`1250000` → `Rp 1.250.000` (Indonesian thousands separator)."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def reference_number(method: str, seed: str, bank_code: str = "8808") -> str:
    """A deterministic reference for `seed` (the application id): a 16-digit virtual account
    (`bank_code` + 12 digits) for "transfer", or a QRIS bill number `QRIS` + 12 digits for "qris".
    Raises ValidationError for another method."""
    digits = f"{int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 10**12:012d}"
    if method == "transfer":
        if not (bank_code.isdigit() and len(bank_code) == 4):
            raise ValidationError("kode bank virtual account harus 4 angka", field="bank_code")
        return bank_code + digits
    if method == "qris":
        return "QRIS" + digits
    raise ValidationError(f"metode pembayaran '{method}' tidak dikenal", field="method")


def instructions(method: str, reference: str, amount: int, name: str) -> str:
    """How to pay, in Bahasa Indonesia, for the status page and the message."""
    if method == "qris":
        return (f"Bayar {format_rupiah(amount)} ({name}) dengan aplikasi pembayaran yang mendukung QRIS; "
                f"masukkan nomor tagihan {reference} pada menu pembayaran tagihan daerah.")
    return (f"Transfer tepat {format_rupiah(amount)} ({name}) ke nomor virtual account {reference} melalui "
            "ATM, mobile banking atau teller bank.")


def timeout_seconds(due_at: datetime, now: datetime) -> int:
    """Seconds the run waits for the payment (at least 1: a deadline already passed lapses at once)."""
    return max(1, int((due_at - now).total_seconds()))


def due_after_rejection(record: PaymentRecord, now: datetime) -> datetime:
    """The new deadline after the back office rejected a proof: the applicant gets back the time they had left
    when they uploaded it (the clock stood still while the office checked), at least MIN_WAIT_AFTER_REJECTION."""
    left = timedelta(seconds=record.remaining_seconds or 0)
    return now + max(left, MIN_WAIT_AFTER_REJECTION)
