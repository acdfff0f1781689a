"""Time in Indonesia's western zone (WIB). Working days and office hours: `domain.calendar`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

_D = TypeVar("_D", date, datetime)

WIB = ZoneInfo("Asia/Jakarta")

MONTHS_ID = [
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
]
ROMAN_MONTHS = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]


_offset = timedelta(0)


def now_utc() -> datetime:
    """The current moment in UTC, shifted by `set_offset` (set only by the local runtime and tests)."""
    return datetime.now(UTC) + _offset


def set_offset(offset: timedelta) -> None:
    """Shift the service clock (local runtime: env SILASTRI_CLOCK_OFFSET, seconds). Never called on AWS."""
    global _offset
    _offset = offset


def to_wib(moment: datetime) -> datetime:
    return moment.astimezone(WIB)


def format_date_id(day: date) -> str:
    """`28 November 2026`."""
    return f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"


def format_datetime_wib(moment: datetime) -> str:
    """`28 November 2026 10:24 WIB`."""
    local = to_wib(moment)
    return f"{format_date_id(local.date())} {local:%H:%M} WIB"


def add_years(moment: _D, years: int) -> _D:
    """Same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)
