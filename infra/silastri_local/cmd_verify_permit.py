"""`silastri verify-permit FILE.pdf`: VALID, or INVALID with the reasons.

Checks the PAdES signature (integrity, whole file covered, signer certificate chaining to a trusted
root), that the permit number printed in it is known to the registry, that the file is byte-for-byte the
issued one (SHA-256), and that the permit is not revoked."""

from __future__ import annotations

import hashlib
import io
import re
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from .client import ApiClient, ApiError

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
    return reasons


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

    reasons = reasons_for(pdf, trust_roots, registry)
    print("VALID" if not reasons else "INVALID " + " ".join(reasons), file=out)
    return 0 if not reasons else 1
