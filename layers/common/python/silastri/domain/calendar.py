"""The national working-day calendar and office hours (pure: no I/O beyond reading packaged data).

A *working day* (hari kerja) is Monday–Friday that is not
- a public holiday (hari libur nasional) — from the kept `holidays` package, country ``ID``;
- a collective-leave day (cuti bersama) — from ``data/cuti_bersama.json``, one entry per year with the
  SKB 3 Menteri that fixed it (and its amendments);
- an office closure configured for the office (``OfficeHours.closures``);
- a weekday without office hours for that office.

Units and zones
- Dates (``datetime.date``) are calendar days in WIB (Asia/Jakarta, UTC+7, no daylight saving).
- Moments (``datetime.datetime``) must be timezone-aware; any zone is accepted, results are returned in UTC
  (store UTC, show WIB with ``clock.format_datetime_wib``).
- SOP standard times in *minutes* count office minutes (inside the office hours of working days);
  standard times in *days* count working days.

Errors
- ``CalendarYearError`` (a ``ValidationError``) for any day in a year without published cuti-bersama data:
  the calendar never guesses a year it has no decree for.
- ``ValueError`` for naive datetimes or negative amounts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from pydantic import BaseModel, Field, field_validator

from .clock import WIB
from .errors import ValidationError

WEEKDAYS_ID = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
_WEEKDAY_KEYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class CalendarYearError(ValidationError):
    """A day in a year for which no published cuti-bersama decree is on file."""


class Closure(BaseModel):
    """One office-specific closure day (e.g. a regional holiday or a move of premises)."""

    date: date
    reason: str


class OfficeHours(BaseModel):
    """An office's opening hours per weekday (WIB) and its own closure days.

    ``hours`` maps ``mon``..``sun`` to ``["HH:MM", "HH:MM"]`` (open, close); a weekday that is absent is closed.
    The default is the common government schedule: Mon–Thu 07:30–16:00, Fri 07:30–16:30 (37.5 hours a week)."""

    hours: dict[str, tuple[str, str]] = Field(default_factory=lambda: {
        "mon": ("07:30", "16:00"), "tue": ("07:30", "16:00"), "wed": ("07:30", "16:00"),
        "thu": ("07:30", "16:00"), "fri": ("07:30", "16:30"),
    })
    closures: list[Closure] = Field(default_factory=list)

    @field_validator("hours")
    @classmethod
    def _check_hours(cls, value: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        for key, (start, end) in value.items():
            if key not in _WEEKDAY_KEYS:
                raise ValueError(f"unknown weekday '{key}' (use {', '.join(_WEEKDAY_KEYS)})")
            if time.fromisoformat(start) >= time.fromisoformat(end):
                raise ValueError(f"office hours of {key} must open before they close")
        return value

    def window(self, weekday: int) -> tuple[time, time] | None:
        """Opening and closing time (WIB) of a weekday (0 = Monday), or None when closed."""
        pair = self.hours.get(_WEEKDAY_KEYS[weekday])
        return (time.fromisoformat(pair[0]), time.fromisoformat(pair[1])) if pair else None

    def weekly_minutes(self) -> int:
        total = 0
        for weekday in range(7):
            window = self.window(weekday)
            if window:
                total += (window[1].hour * 60 + window[1].minute) - (window[0].hour * 60 + window[0].minute)
        return total


@dataclass(frozen=True)
class DayInfo:
    """Whether a day is a working day and why (``reason`` in Bahasa Indonesia)."""

    day: date
    working: bool
    reason: str


@dataclass(frozen=True)
class YearData:
    year: int
    days: dict[date, str]
    decree: str


def _decree_label(entry: dict[str, Any]) -> str:
    decree = entry["decree"]
    label = f"SKB 3 Menteri Nomor {', '.join(decree['numbers'])} ({decree['signed_on']})"
    for amendment in entry.get("amendments", []):
        label += f", diubah dengan Nomor {', '.join(amendment['numbers'])} ({amendment['signed_on']})"
    return label


@lru_cache(maxsize=1)
def cuti_bersama_data() -> dict[int, YearData]:
    """The published cuti-bersama years from ``data/cuti_bersama.json`` (years not `published` are left out)."""
    raw = json.loads(resources.files("silastri.domain").joinpath("data", "cuti_bersama.json").read_text("utf-8"))
    years: dict[int, YearData] = {}
    for key, entry in raw["years"].items():
        if entry.get("status") != "published" or not entry.get("decree"):
            continue
        days = {date.fromisoformat(d["date"]): d["name"] for d in entry["days"]}
        if any(d.year != int(key) for d in days):
            raise ValueError(f"cuti_bersama.json: a day of {key} lies in another year")
        years[int(key)] = YearData(year=int(key), days=days, decree=_decree_label(entry))
    return years


@lru_cache(maxsize=1)
def cuti_bersama_provisional() -> dict[int, YearData]:
    """Years whose decree is not confirmed yet (`status` other than `published`), with their candidate days.

    Only for a *provisional* calendar (`WorkingCalendar(provisional=True)`), whose every answer in such a year
    says so; never used to decide silently."""
    raw = json.loads(resources.files("silastri.domain").joinpath("data", "cuti_bersama.json").read_text("utf-8"))
    years: dict[int, YearData] = {}
    for key, entry in raw["years"].items():
        if entry.get("status") == "published" and entry.get("decree"):
            continue
        days = {date.fromisoformat(d): "Calon cuti bersama (SKB belum terbit)"
                for d in entry.get("candidate_days_unconfirmed", [])}
        years[int(key)] = YearData(year=int(key), days=days,
                                   decree=f"SKB cuti bersama {key} belum terbit: perhitungan sementara")
    return years


@lru_cache(maxsize=8)
def _public_holidays(year: int) -> dict[date, str]:
    import holidays  # only where working days are counted: other cold starts do not pay for it

    return dict(holidays.country_holidays("ID", years=year, language="id").items())


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a timezone-aware datetime is required (store UTC, show WIB)")
    return moment


class WorkingCalendar:
    """Working days and office minutes for one office (national calendar + the office's hours and closures)."""

    def __init__(self, office_hours: OfficeHours | None = None,
                 years: dict[int, YearData] | None = None, provisional: bool = False) -> None:
        """`provisional`: also answer for years whose cuti-bersama decree is not confirmed yet, counting their
        candidate days as leave (the applicant never gets less time) — for deadlines that cannot wait for the
        decree; callers must say the result is provisional (`provisional_years`)."""
        self.office_hours = office_hours or OfficeHours()
        self._years = dict(years if years is not None else cuti_bersama_data())
        self.provisional_years: frozenset[int] = frozenset()
        if provisional:
            extra = {y: d for y, d in cuti_bersama_provisional().items() if y not in self._years}
            self._years.update(extra)
            self.provisional_years = frozenset(extra)
        self._closures = {c.date: c.reason for c in self.office_hours.closures}

    # ------------------------------------------------------------------ days

    def covered_years(self) -> list[int]:
        return sorted(self._years)

    def _year(self, year: int) -> YearData:
        try:
            return self._years[year]
        except KeyError:
            covered = ", ".join(str(y) for y in self.covered_years()) or "-"
            raise CalendarYearError(
                f"kalender hari kerja tahun {year} belum tersedia (SKB cuti bersama belum dicatat; "
                f"tahun yang tersedia: {covered})", field="date") from None

    def day_info(self, day: date) -> DayInfo:
        """Classify one WIB calendar day. Raises CalendarYearError for a year without data."""
        data = self._year(day.year)
        name = WEEKDAYS_ID[day.weekday()]
        if day in self._closures:
            return DayInfo(day, False, f"{name}: kantor tutup ({self._closures[day]})")
        public = _public_holidays(day.year).get(day)
        if public:
            return DayInfo(day, False, f"{name}: hari libur nasional ({public})")
        if day in data.days:
            return DayInfo(day, False, f"{name}: {data.days[day]} — {data.decree}")
        if day.weekday() >= 5:
            return DayInfo(day, False, f"{name}: akhir pekan")
        if self.office_hours.window(day.weekday()) is None:
            return DayInfo(day, False, f"{name}: kantor tidak buka pada hari ini")
        return DayInfo(day, True, f"{name}: hari kerja")

    def is_working_day(self, day: date) -> bool:
        return self.day_info(day).working

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself never counts); 0 → ``start``."""
        if days < 0:
            raise ValueError("days must be ≥ 0")
        current, remaining = start, days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative when ``end`` is earlier)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for offset in range(1, (end - start).days + 1)
                   if self.is_working_day(start + timedelta(days=offset)))

    def working_days_in(self, days: Iterable[date]) -> int:
        return sum(1 for d in days if self.is_working_day(d))

    # ------------------------------------------------------------------ office minutes

    def office_window(self, day: date) -> tuple[datetime, datetime] | None:
        """Opening and closing moment (WIB-aware) of a working day; None when the office is closed."""
        if not self.is_working_day(day):
            return None
        window = self.office_hours.window(day.weekday())
        if window is None:
            return None
        return datetime.combine(day, window[0], WIB), datetime.combine(day, window[1], WIB)

    def add_office_minutes(self, start: datetime, minutes: float) -> datetime:
        """The moment (UTC) when ``minutes`` office minutes have passed since ``start``.

        Counting starts at ``start`` if the office is open then, else at the next opening; 0 minutes
        from outside office hours is the next opening."""
        if minutes < 0:
            raise ValueError("minutes must be ≥ 0")
        local = _aware(start).astimezone(WIB)
        remaining = timedelta(minutes=minutes)
        day = local.date()
        while True:
            window = self.office_window(day)
            if window is not None:
                begin = max(window[0], local)
                if begin < window[1]:
                    available = window[1] - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)

    def office_minutes_between(self, start: datetime, end: datetime) -> float:
        """Office minutes between two moments (0 when ``end`` ≤ ``start``)."""
        a, b = _aware(start).astimezone(WIB), _aware(end).astimezone(WIB)
        if b <= a:
            return 0.0
        total = timedelta()
        day = a.date()
        while day <= b.date():
            window = self.office_window(day)
            if window is not None:
                lo, hi = max(window[0], a), min(window[1], b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total.total_seconds() / 60

    def end_of_working_day(self, start: datetime, days: int) -> datetime:
        """Closing time (UTC) of the ``days``-th working day after the WIB date of ``start``."""
        target = self.add_working_days(_aware(start).astimezone(WIB).date(), days)
        window = self.office_window(target)
        assert window is not None  # a working day always has office hours
        return window[1].astimezone(UTC)

    def due(self, start: datetime, *, minutes: float | None = None, working_days: int | None = None) -> datetime:
        """Due moment (UTC) of a standard time from ``start``: office minutes or working days (closing time)."""
        if working_days:
            return self.end_of_working_day(start, working_days)
        return self.add_office_minutes(start, minutes or 0)
