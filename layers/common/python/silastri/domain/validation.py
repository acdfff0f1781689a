"""Plausibility checks for user input, shared by the API, the pages and the services (pure, no I/O).

Every check either returns the cleaned value or raises `ValidationError` (HTTP 400) naming the field, with a
message in Bahasa Indonesia. Nothing here ever raises anything else for any input, whatever its type:
`tests/unit/test_validation*.py` checks that property with hypothesis."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from .clock import now_utc, to_wib
from .errors import NotFoundError, ValidationError

#: JSON bodies nested deeper than this are refused (objects and arrays count one level each).
MAX_JSON_DEPTH = 32
#: Copies of a permit printed in one printing decision.
MAX_COPIES = 10
#: A visit or other event date may lie at most this long before the submission (and never after today, WIB).
DATE_WINDOW = timedelta(days=366)

# Unicode categories refused in every text: controls (Cc: NUL, CR, LF, ESC, DEL, C1…), format characters
# (Cf: bidi overrides and isolates U+202A–U+202E / U+2066–U+2069, zero-width joiners, BOM…), surrogates,
# private use and unassigned code points; line/paragraph separators (Zl, Zp) too.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_IDENTIFIER = re.compile(r"[A-Za-z0-9._:-]{1,128}")
#: More combining marks than this on one letter is no writing system's need ("Zalgo" text that overprints the
#: lines of a decree); Vietnamese, the most, stacks two.
MAX_COMBINING_RUN = 3


def _refused(char: str, multiline: bool) -> bool:
    if multiline and char in "\n\t":
        return False
    return unicodedata.category(char) in _REFUSED_CATEGORIES


def clean_text(value: Any, field: str, max_len: int, *, label: str | None = None, required: bool = True,
               multiline: bool = False) -> str:
    """A text as it may appear on a letter or decree: NFC-normalised, trimmed, at most `max_len` characters.

    Refuses non-strings, control characters (NUL, CR/LF unless `multiline`, which keeps `\\n` and tabs and turns
    CR/LF into LF), bidi overrides and other invisible format characters. An empty text is refused when
    `required`, otherwise returned as "". Raises ValidationError(field)."""
    name = label or field
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{name} harus berupa teks", field=field)
    text = unicodedata.normalize("NFC", value)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.strip()
    if not text:
        if required:
            raise ValidationError(f"{name} wajib diisi", field=field)
        return ""
    if len(text) > max_len:
        raise ValidationError(f"{name} maksimal {max_len} karakter", field=field)
    if any(_refused(c, multiline) for c in text):
        raise ValidationError(f"{name} mengandung karakter yang tidak diizinkan (karakter kendali, baris baru "
                              "atau pengarah teks)", field=field)
    if _longest_combining_run(text) > MAX_COMBINING_RUN:
        raise ValidationError(f"{name} mengandung tanda diakritik bertumpuk yang tidak wajar", field=field)
    return text


def _longest_combining_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if unicodedata.combining(char) else 0
        longest = max(longest, run)
    return longest


def copies(value: Any, field: str = "copies") -> int:
    """The number of printed copies: an integer 1–10 (JSON `true` is not a number). Raises ValidationError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COPIES:
        raise ValidationError(f"jumlah cetak harus bilangan bulat 1 sampai {MAX_COPIES}", field=field)
    return value


def today_wib(now: datetime | None = None) -> date:
    """Today's date in WIB (Asia/Jakarta)."""
    return to_wib(now or now_utc()).date()


def plausible_date(value: Any, field: str, *, submitted_at: datetime | None = None,
                   now: datetime | None = None) -> date | None:
    """A date given as `YYYY-MM-DD`, from one year before the submission (or before today, when there is no
    submission yet) up to today in WIB. None or "" gives None (the date is optional). Raises ValidationError."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        raise ValidationError("gunakan format tanggal YYYY-MM-DD", field=field)
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError("tanggal tidak ada di kalender", field=field) from None
    today = today_wib(now)
    earliest = (to_wib(submitted_at).date() if submitted_at else today) - DATE_WINDOW
    if parsed > today:
        raise ValidationError("tanggal tidak boleh setelah hari ini", field=field)
    if parsed < earliest:
        raise ValidationError(f"tanggal tidak boleh sebelum {earliest.isoformat()} "
                              "(satu tahun sebelum permohonan dikirim)", field=field)
    return parsed


def plausible_visit_date(value: Any, field: str = "visited_on", *, submitted_at: datetime | None = None,
                         now: datetime | None = None) -> date | None:
    """The technical team's field-visit date: see `plausible_date` (optional; None when not given)."""
    return plausible_date(value, field, submitted_at=submitted_at, now=now)


def identifier(value: Any, field: str) -> str:
    """An id taken from a URL path (application, task, permit, upload): 1–128 of `A-Z a-z 0-9 . _ : -`.

    Anything else cannot name a record, so it is answered like an unknown id: NotFoundError(field)."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise NotFoundError("tidak ditemukan", field=field)
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(data: Any) -> int:
    """Nesting depth of parsed JSON, iteratively (deep input cannot overflow the stack here)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in node.values())
        elif isinstance(node, list):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in node)
    return deepest


def json_object(raw: bytes | str | None, *, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """A request body as a JSON object ({} when empty). Refuses invalid UTF-8 or JSON, NaN/Infinity, nesting
    deeper than `max_depth` and anything but an object with ValidationError(field="body")."""
    if not raw:
        return {}
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationError("isi permintaan bukan JSON yang valid", field="body") from None
    if not isinstance(data, dict):
        raise ValidationError("isi permintaan harus berupa objek JSON", field="body")
    if _depth(data) > max_depth:
        raise ValidationError(f"isi permintaan bersarang lebih dari {max_depth} tingkat", field="body")
    return data
