"""``silastri check-pdf FILE...``: run the upload validation pipeline on local files."""

from __future__ import annotations

import sys
from typing import TextIO

from silastri.adapters.pdf_check import PdfLimits, check_pdf


def run(paths: list[str], out: TextIO | None = None, limits: PdfLimits | None = None) -> int:
    """Print ``<path>: ACCEPT`` or ``<path>: REJECT <reason-code>`` per file; return 1 if any is rejected.

    A file that cannot be opened or read is reported as ``REJECT not-found``. ``out`` defaults to the
    current ``sys.stdout`` (looked up at call time, so redirection and capture work).
    """
    stream = out if out is not None else sys.stdout
    limits = limits or PdfLimits()
    rejected = False
    for path in paths:
        try:
            # Read one byte past the limit: enough to know the file is too large without loading all of it.
            with open(path, "rb") as handle:
                data = handle.read(limits.max_bytes + 1)
        except (OSError, ValueError):
            verdict = "REJECT not-found"
        else:
            result = check_pdf(data, limits)
            verdict = "ACCEPT" if result.accepted else f"REJECT {result.reason_code}"
        rejected = rejected or verdict != "ACCEPT"
        print(f"{path}: {verdict}", file=stream, flush=True)
    return 1 if rejected else 0
