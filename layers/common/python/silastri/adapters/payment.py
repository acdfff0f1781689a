"""The payment-provider port and its adapters.

`PaymentProvider` issues the reference the applicant pays against (a bank virtual account or a QRIS bill) and
reports whether it has been paid. Adapters:
- `LocalPaymentProvider` (the local runtime and tests): deterministic reference numbers
  (`domain.payment.reference_number`), no money moves; a reference is marked paid by hand (`mark_paid`, the
  local page `/lokal/pembayaran`), kept as marker files under the data directory.
- A real gateway (the regional bank's virtual-account API, or a QRIS acquirer) belongs in
  `adapters/payment_gateway.py` as a class with the same two methods, selected by `Settings.payment_provider`.
  None is written yet: `provider()` refuses any mode but "local" rather than pretend.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal, Protocol

from ..domain import payment
from ..domain.payment import PaymentReference

PaymentStatus = Literal["pending", "paid", "expired"]


class PaymentProviderUnavailable(RuntimeError):
    """The configured payment provider has no adapter (a deployment error: fail loudly)."""


class PaymentProvider(Protocol):
    def create_reference(self, bill_id: str, amount: int, name: str, due_at: datetime,
                         method: str = "transfer") -> PaymentReference:
        """Issue (or return again, idempotently per bill) the reference to pay `amount` Rupiah for `name` (the
        retribution's name) by `due_at` (UTC). `bill_id` names one bill of one application: after a rejected
        proof the application is billed again under a new id, so a payment reported for the old reference
        cannot settle the new one."""
        ...

    def status(self, reference: PaymentReference, now: datetime) -> PaymentStatus:
        """Whether the reference has been paid ("paid"), is still open ("pending") or has expired."""
        ...


_REFERENCE = re.compile(r"^[A-Z0-9]{8,32}$")


class LocalPaymentProvider:
    """No money moves: references are derived from the bill id; an issued reference is a marker file
    `<data_dir>/local-payments/<reference>.issued`, a paid one `<reference>.paid` written by `mark_paid`."""

    def __init__(self, data_dir: Path | str) -> None:
        self.directory = Path(data_dir) / "local-payments"

    def create_reference(self, bill_id: str, amount: int, name: str, due_at: datetime,
                         method: str = "transfer") -> PaymentReference:
        number = payment.reference_number(method, bill_id)
        issued = self.directory / f"{number}.issued"
        issued.parent.mkdir(parents=True, exist_ok=True)
        issued.touch()
        return PaymentReference(reference_number=number, method=method,
                                instructions=payment.instructions(method, number, amount, name), expires_at=due_at)

    def _marker(self, reference_number: str) -> Path:
        if not _REFERENCE.match(reference_number):
            raise ValueError("not a reference number")
        return self.directory / f"{reference_number}.paid"

    def mark_paid(self, reference_number: str) -> None:
        """Simulate the bank's payment notification for `reference_number` (local runtime only). Raises
        ValueError for a number that is not a reference this provider issued."""
        marker = self._marker(reference_number)
        if not (self.directory / f"{reference_number}.issued").exists():
            raise ValueError("no such reference issued")
        marker.touch()

    def status(self, reference: PaymentReference, now: datetime) -> PaymentStatus:
        if self._marker(reference.reference_number).exists():
            return "paid"
        return "expired" if now > reference.expires_at else "pending"


@lru_cache(maxsize=1)
def provider() -> PaymentProvider:
    """The configured provider (Settings.payment_provider). Raises PaymentProviderUnavailable for a mode with
    no adapter."""
    from ..settings import get_settings

    settings = get_settings()
    if settings.payment_provider == "local":
        return LocalPaymentProvider(settings.data_dir)
    raise PaymentProviderUnavailable(f"no adapter for payment provider '{settings.payment_provider}'")


def local_provider() -> LocalPaymentProvider | None:
    """The local provider when it is the configured one (for the local 'paid' simulation), else None."""
    chosen = provider()
    return chosen if isinstance(chosen, LocalPaymentProvider) else None
