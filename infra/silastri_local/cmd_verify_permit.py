"""`silastri verify-permit FILE.pdf`: VALID, or INVALID with the reasons.

Checks the PAdES signature (integrity, whole file covered, signer certificate chaining to a trusted
root through any intermediate, and the RFC 3161 timestamp when there is one: a BSrE signature is
PAdES-BASELINE-T), that the permit number printed in it is known to the registry, that the file is
byte-for-byte the issued one (SHA-256), and that the permit is not revoked. When the signature carries
a timestamp, a second line gives its time in WIB and the timestamp authority; a timestamp that does not
validate makes the file INVALID (`signature:timestamp-invalid`)."""

from __future__ import annotations

import hashlib
import io
import re
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .client import ApiClient, ApiError

if TYPE_CHECKING:
    from silastri.adapters.signing import SignatureReport

NUMBER = re.compile(r"\b\d{1,4}/[A-Z0-9.-]+/\d{4}/[IVXLC]+/\d{4}\b")


def permit_number_in(pdf: bytes) -> str | None:
    """The permit number printed on the decree, if one can be read."""
    from pypdf import PdfReader

    try:
        text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages[:3])
    except Exception:  # an unreadable file simply has no readable number
        return None
    found = NUMBER.search(re.sub(r"\s+", " ", text))
    return found.group(0) if found else None


def reasons_for(pdf: bytes, trust_roots: list[bytes], registry: Callable[[str], dict[str, Any] | None]) -> list[str]:
    """Why ``pdf`` is not a valid issued permit (empty list: it is)."""
    return check(pdf, trust_roots, registry)[0]


def timestamp_line(report: SignatureReport) -> str | None:
    """`Stempel waktu: <date time> WIB — <TSA> — sah|TIDAK SAH`, or None without a timestamp."""
    from silastri.domain.clock import format_date_id, to_wib

    if report.timestamp_at is None:
        return None
    local = to_wib(report.timestamp_at)
    authority = report.timestamp_authority or "otoritas tidak dikenal"
    verdict = "sah" if report.timestamp_valid else "TIDAK SAH"
    return f"Stempel waktu: {format_date_id(local.date())} {local:%H:%M:%S} WIB — {authority} — {verdict}"


def check(
    pdf: bytes, trust_roots: list[bytes], registry: Callable[[str], dict[str, Any] | None]
) -> tuple[list[str], SignatureReport]:
    """The reasons (as :func:`reasons_for`) and the signature report they were drawn from."""
    from silastri.adapters.signing import verify_signed_pdf

    report = verify_signed_pdf(pdf, trust_roots)
    reasons = [f"signature:{r}" for r in report.reasons]
    number = permit_number_in(pdf)
    entry = registry(number) if number else None
    if entry is None:
        reasons.append("number-unknown")
    else:
        if entry.get("sha256") != hashlib.sha256(pdf).hexdigest():
            reasons.append("hash-mismatch")
        if entry.get("revoked"):
            reasons.append("revoked")
    return reasons, report


def run(path: str, trust_roots: list[bytes], api: ApiClient, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        pdf = Path(path).read_bytes()
    except OSError:
        print("INVALID file-not-found", file=out)
        return 2

    def registry(number: str) -> dict[str, Any] | None:
        try:
            return dict(api.get("/api/registry?number=" + urllib.parse.quote(number, safe="")))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    reasons, report = check(pdf, trust_roots, registry)
    print("VALID" if not reasons else "INVALID " + " ".join(reasons), file=out)
    line = timestamp_line(report)
    if line is not None:
        print(line, file=out)
    return 0 if not reasons else 1
