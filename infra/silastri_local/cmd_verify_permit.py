"""`silastri verify-permit FILE.pdf`: VALID, or INVALID with the reasons.

Checks the PAdES signature (integrity, whole file covered, signer certificate chaining to a trusted
root through any intermediate, and the RFC 3161 timestamp when there is one: a BSrE signature is
PAdES-BASELINE-T), that the permit is in the registry, that the file is byte-for-byte the issued one (SHA-256),
and that the permit is not revoked. The registry entry is found by the permit's public id, the one in its QR code
(read from the QR's verification link in the file, never by parsing the permit number: every office numbers its
permits in its own format). When the signature carries a timestamp, a line gives its time in WIB and the
timestamp authority; a timestamp that does not validate makes the file INVALID (`signature:timestamp-invalid`).
A last line names the permit found and the office that issued it."""

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

VERIFY_LINK = re.compile(r"/verifikasi/([0-9a-f]{32})\b")


def permit_id_in(pdf: bytes) -> str | None:
    """The permit's public id (the QR code's `/verifikasi/<id>` link), from the decree's link annotations, else
    from its text; None when the file has none (not a SILASTRI decree, or unreadable)."""
    from pypdf import PdfReader

    try:
        pages = PdfReader(io.BytesIO(pdf)).pages
        for page in pages:
            for annotation in page.get("/Annots") or []:
                uri = (annotation.get_object().get("/A") or {}).get("/URI")
                found = VERIFY_LINK.search(str(uri)) if uri else None
                if found:
                    return found.group(1)
        text = " ".join(page.extract_text() or "" for page in pages)
    except Exception:  # an unreadable file simply has no readable id
        return None
    found = VERIFY_LINK.search(re.sub(r"\s+", "", text))
    return found.group(1) if found else None


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
    permit_id = permit_id_in(pdf)
    entry = registry(permit_id) if permit_id else None
    if entry is None:
        reasons.append("permit-unknown")
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

    found: dict[str, Any] = {}

    def registry(permit_id: str) -> dict[str, Any] | None:
        try:
            found.update(api.get("/api/registry?permit_id=" + urllib.parse.quote(permit_id, safe="")))
        except ApiError as exc:
            if exc.status in (400, 404):
                return None
            raise
        return found

    reasons, report = check(pdf, trust_roots, registry)
    print("VALID" if not reasons else "INVALID " + " ".join(reasons), file=out)
    line = timestamp_line(report)
    if line is not None:
        print(line, file=out)
    if found:
        print(f"Izin: {found.get('permit_number')} — diterbitkan oleh {found.get('office_name')}", file=out)
    return 0 if not reasons else 1
