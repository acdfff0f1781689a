"""Rate limits on login, code checks, code sending and public tracking: per account and per client address.

Fixed windows counted in DynamoDB (`adapters.limits`): an attempt first *reserves* one hit in every bucket that
applies, each by one conditional increment (`hits < limit`), and is evaluated only when every reservation
succeeded. So however many requests arrive in parallel, never more than `limit` are evaluated per window.
Attempts that succeed give their hits back (`Reservation.succeeded`), so the limits count failures — a user who
knows the password or the code is never slowed down by their own successes. A refused attempt gives back
what it had reserved and answers 429 with the seconds until the window ends (Retry-After)."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field

from ..adapters import limits
from ..domain.errors import TooManyRequestsError
from ..settings import derived_key


@dataclass(frozen=True)
class Policy:
    """At most `limit` counted attempts per subject in each window of `window_seconds` seconds."""

    name: str
    limit: int
    window_seconds: int
    message: str
    field: str | None = None


_WAIT = "coba lagi dalam {minutes} menit"
LOGIN_ACCOUNT = Policy("login-akun", 10, 900, "terlalu banyak percobaan masuk untuk akun ini; " + _WAIT, "email")
LOGIN_ADDRESS = Policy("login-alamat", 50, 900, "terlalu banyak percobaan masuk dari alamat Anda; " + _WAIT)
CODE_ACCOUNT = Policy("kode-akun", 10, 3600, "terlalu banyak kode salah untuk akun ini; " + _WAIT, "code")
CODE_ADDRESS = Policy("kode-alamat", 50, 900, "terlalu banyak kode salah dari alamat Anda; " + _WAIT, "code")
SEND_ACCOUNT = Policy("kirim-akun", 5, 3600, "terlalu banyak permintaan kode untuk akun ini; " + _WAIT, "email")
SEND_ADDRESS = Policy("kirim-alamat", 30, 3600, "terlalu banyak permintaan kode dari alamat Anda; " + _WAIT, "email")
TRACK_NUMBER = Policy("lacak-nomor", 10, 900, "terlalu banyak pencarian untuk nomor registrasi ini; " + _WAIT,
                      "registration_number")
TRACK_ADDRESS = Policy("lacak-alamat", 30, 900, "terlalu banyak pencarian dari alamat Anda; " + _WAIT,
                       "registration_number")


def _bucket(policy: Policy, subject: str, now: float) -> tuple[str, int]:
    """The bucket id (subject kept only as a keyed hash) and the end of the current window (epoch seconds)."""
    start = int(now) // policy.window_seconds * policy.window_seconds
    digest = hmac.new(derived_key("limits"), f"{policy.name}:{subject}".encode("utf-8", "surrogatepass"),
                      hashlib.sha256).hexdigest()[:40]
    return f"limit#{policy.name}#{digest}#{start}", start + policy.window_seconds


@dataclass
class Reservation:
    """The hits one attempt holds; give them back with `succeeded()` once the attempt proved legitimate."""

    buckets: list[str] = field(default_factory=list)

    def succeeded(self) -> None:
        """The attempt succeeded (right password, code or phone number): its hits do not count."""
        for bucket_id in self.buckets:
            limits.give_back(bucket_id)
        self.buckets = []


def attempt(*checks: tuple[Policy, str], now: float | None = None) -> Reservation:
    """Reserve one hit under every (policy, subject) before the attempt is evaluated.

    Raises TooManyRequestsError (429, `retry_after` in seconds, message in Bahasa Indonesia) when any bucket is
    full; the hits already reserved for this attempt are then given back."""
    moment = time.time() if now is None else now
    reservation = Reservation()
    for policy, subject in checks:
        bucket_id, window_end = _bucket(policy, subject, moment)
        if not limits.take(bucket_id, policy.limit, window_end + 60):
            reservation.succeeded()  # not evaluated: nothing of this attempt counts
            wait = max(1, window_end - int(moment))
            raise TooManyRequestsError(policy.message.format(minutes=max(1, -(-wait // 60))), field=policy.field,
                                       retry_after=wait)
        reservation.buckets.append(bucket_id)
    return reservation


def counted(policy: Policy, subject: str, now: float | None = None) -> int:
    """Hits counted for a subject in the current window (for tests and operators)."""
    return limits.hits(_bucket(policy, subject, time.time() if now is None else now)[0])
