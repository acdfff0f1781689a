"""Time in Indonesia's western zone (WIB) and working-day arithmetic."""

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


def now_utc() -> datetime:
    return datetime.now(UTC)


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


def add_working_days(start: datetime, days: int, holidays: frozenset[date] = frozenset()) -> datetime:
    """Move `days` working days (Mon–Fri, not a holiday) forward from `start`, in WIB."""
    local = to_wib(start)
    remaining = days
    while remaining > 0:
        local += timedelta(days=1)
        if local.weekday() < 5 and local.date() not in holidays:
            remaining -= 1
    return local
