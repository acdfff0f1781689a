"""The national working-day calendar pinned on 2026 (SKB 1497/2/5 Tahun 2025) and office hours."""

from datetime import UTC, date, datetime, timedelta

import holidays
import pytest
from silastri.domain import sla, steps
from silastri.domain.calendar import (
    CalendarYearError,
    Closure,
    OfficeHours,
    WorkingCalendar,
    cuti_bersama_data,
)
from silastri.domain.catalog import default_catalog
from silastri.domain.clock import WIB


@pytest.fixture(scope="module")
def cal():
    return default_catalog().office("rokan-hilir").calendar()


def wib(*args):
    return datetime(*args, tzinfo=WIB)


def test_imlek_2026_cuti_bersama_monday_and_the_holiday_tuesday(cal):
    monday, tuesday = cal.day_info(date(2026, 2, 16)), cal.day_info(date(2026, 2, 17))
    assert not monday.working and "Cuti bersama Tahun Baru Imlek" in monday.reason and "1497 Tahun 2025" in monday.reason
    assert not tuesday.working and "hari libur nasional" in tuesday.reason
    assert cal.is_working_day(date(2026, 2, 13)) and cal.is_working_day(date(2026, 2, 18))
    assert cal.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 18)


def test_nyepi_and_idul_fitri_week_2026(cal):
    closed = [date(2026, 3, d) for d in (18, 19, 20, 21, 22, 23, 24)]
    assert not any(cal.is_working_day(d) for d in closed)
    assert cal.add_working_days(date(2026, 3, 16), 2) == date(2026, 3, 25)
    # a 14-working-day revision deadline set on Monday 16 March: 13 April (Mon–Fri only would say 3 April)
    assert cal.add_working_days(date(2026, 3, 16), 14) == date(2026, 4, 13)
    assert cal.working_days_between(date(2026, 3, 16), date(2026, 4, 13)) == 14
    assert cal.working_days_between(date(2026, 4, 13), date(2026, 3, 16)) == -14


def test_weekends_and_other_2026_days(cal):
    assert "akhir pekan" in cal.day_info(date(2026, 2, 14)).reason
    assert not cal.is_working_day(date(2026, 12, 24)) and not cal.is_working_day(date(2026, 12, 25))
    assert cal.is_working_day(date(2026, 12, 23))
    assert not cal.is_working_day(date(2025, 8, 18))  # the 2025 amendment (HUT ke-80 RI)


def test_our_cuti_bersama_matches_the_holidays_packages_government_category():
    for year, data in cuti_bersama_data().items():
        joint = {d for d, name in holidays.country_holidays("ID", years=year, categories=("government",)).items()
                 if "Joint" in name}
        assert set(data.days) == joint, year


def test_years_without_a_published_decree_are_an_error_not_a_guess(cal):
    with pytest.raises(CalendarYearError, match="2027"):
        cal.is_working_day(date(2027, 1, 4))
    with pytest.raises(CalendarYearError):
        cal.add_working_days(date(2026, 12, 30), 5)
    with pytest.raises(CalendarYearError):
        cal.is_working_day(date(2024, 6, 3))


def test_office_closures_and_hours_are_per_office():
    hours = OfficeHours(hours={"mon": ("08:00", "15:00"), "tue": ("08:00", "15:00")},
                        closures=[Closure(date=date(2026, 2, 10), reason="pindah gedung")])
    cal = WorkingCalendar(hours)
    assert "pindah gedung" in cal.day_info(date(2026, 2, 10)).reason
    assert not cal.is_working_day(date(2026, 2, 11))  # no hours on Wednesday
    assert cal.office_window(date(2026, 2, 9))[1] == wib(2026, 2, 9, 15, 0)
    with pytest.raises(ValueError):
        OfficeHours(hours={"mon": ("16:00", "07:30")})


def test_office_hours_mon_thu_to_1600_friday_to_1630(cal):
    assert cal.office_window(date(2026, 2, 12)) == (wib(2026, 2, 12, 7, 30), wib(2026, 2, 12, 16, 0))
    assert cal.office_window(date(2026, 2, 13)) == (wib(2026, 2, 13, 7, 30), wib(2026, 2, 13, 16, 30))
    assert cal.office_hours.weekly_minutes() == 4 * 510 + 540


def test_office_minutes_skip_nights_weekends_and_holidays(cal):
    # Friday 13 Feb 16:25 + 15 office minutes: 5 on Friday, then Mon (cuti) and Tue (Imlek) are closed
    due = cal.add_office_minutes(wib(2026, 2, 13, 16, 25), 15)
    assert due == wib(2026, 2, 18, 7, 40).astimezone(UTC)
    assert cal.office_minutes_between(wib(2026, 2, 13, 16, 25), due) == 15
    assert cal.add_office_minutes(wib(2026, 2, 12, 6, 0), 10) == wib(2026, 2, 12, 7, 40).astimezone(UTC)
    assert cal.add_office_minutes(wib(2026, 2, 12, 20, 0), 0) == wib(2026, 2, 13, 7, 30).astimezone(UTC)
    with pytest.raises(ValueError):
        cal.add_office_minutes(datetime(2026, 2, 12, 8, 0), 10)  # naive


def test_working_day_standard_ends_at_closing_time_and_the_reminder_is_at_80_percent(cal):
    clock = sla.open_clock(cal, wib(2026, 3, 16, 9, 0), sla.StandardTime(working_days=2))
    assert clock.due_at == wib(2026, 3, 25, 16, 0).astimezone(UTC)
    assert clock.budget_minutes == 420 + 510 + 510  # rest of Mon 16, Tue 17, Wed 25
    assert clock.remind_at == cal.add_office_minutes(wib(2026, 3, 16, 9, 0), 0.8 * clock.budget_minutes)
    minutes = sla.open_clock(cal, wib(2026, 2, 12, 10, 0), sla.standard_time(steps.StepId.COMPLETENESS_CHECK.value))
    assert minutes.due_at == wib(2026, 2, 12, 10, 15).astimezone(UTC)
    assert minutes.remind_at == wib(2026, 2, 12, 10, 12).astimezone(UTC)


def test_a_resumed_clock_deducts_the_minutes_already_spent(cal):
    clock = sla.open_clock(cal, wib(2026, 2, 12, 10, 0), sla.StandardTime(minutes=15), consumed_minutes=10)
    assert clock.due_at == wib(2026, 2, 12, 10, 5).astimezone(UTC)
    assert clock.remind_at == wib(2026, 2, 12, 10, 2).astimezone(UTC)


def test_permit_types_override_standard_times():
    orsos = default_catalog().permit_type("rokan-hilir", "izin-operasional-orsos")
    assert sla.standard_time("technical_review", orsos.standard_times).label == "7 hari kerja"
    assert sla.standard_time("verification", orsos.standard_times).label == "10 menit"


def test_escalation_chain_is_configurable_per_office():
    office = default_catalog().office("rokan-hilir")
    assert [office.supervisor_of(r) for r in ("back_office", "verifier", "approver", "head", "technical_team")] == [
        "verifier", "approver", "head", None, "verifier"]


def test_cli_calendar_commands(capsys):
    from silastri_local.cli import main

    assert main(["calendar", "is-working-day", "2026-02-16"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no") and "Imlek" in out and "1497 Tahun 2025" in out
    assert main(["calendar", "is-working-day", "2026-02-18"]) == 0 and capsys.readouterr().out.startswith("yes")
    assert main(["calendar", "add-working-days", "2026-03-16", "14"]) == 0
    assert capsys.readouterr().out.strip() == "2026-04-13"
    assert main(["calendar", "working-days-between", "2026-02-13", "2026-02-18"]) == 0
    assert capsys.readouterr().out.strip() == "1"
    assert main(["calendar", "is-working-day", "2027-01-04"]) == 2 and "2027" in capsys.readouterr().err
    assert main(["calendar", "is-working-day", "16-02-2026"]) == 2 and "tanggal tidak valid" in capsys.readouterr().err
    assert main(["calendar", "add-working-days", "2026-03-16", "-1"]) == 2
    assert main(["calendar", "--office", "nowhere", "is-working-day", "2026-02-16"]) == 2


def test_a_provisional_calendar_answers_for_an_unconfirmed_year_and_says_so():
    """A deadline that reaches a year without a published SKB is computed provisionally (candidate days count
    as leave, so the applicant never gets less time); the strict calendar still refuses that year."""
    from silastri.domain.calendar import CalendarYearError, WorkingCalendar, cuti_bersama_provisional

    unconfirmed = sorted(cuti_bersama_provisional())
    if not unconfirmed:
        pytest.skip("every year on file has its decree")  # nothing provisional left to check
    year = unconfirmed[0]
    strict, provisional = WorkingCalendar(), WorkingCalendar(provisional=True)
    with pytest.raises(CalendarYearError):
        strict.add_working_days(date(year, 1, 4), 1)
    assert year in provisional.provisional_years
    for day in cuti_bersama_provisional()[year].days:
        info = provisional.day_info(day)
        assert not info.working and "belum terbit" in info.reason
    start = date(year - 1, 12, 20)
    assert provisional.add_working_days(start, 14) > start + timedelta(days=14)
