"""The office report's figures (domain/reports.py) on a small hand-made data set: counts, median and p90 in
office minutes and working days, SLA compliance, IKM with its grade, periods in WIB, the permit-type filter."""

from datetime import UTC, date, datetime, timedelta

import pytest
from silastri.domain import ikm, reports, sla
from silastri.domain.calendar import WorkingCalendar
from silastri.domain.clock import WIB
from silastri.domain.errors import ValidationError
from silastri.domain.reports import ApplicationRecord, Period, SurveyRecord, TaskRecord

CAL = WorkingCalendar()  # Mon–Thu 07:30–16:00, Fri 07:30–16:30 WIB
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30))
TEN_MIN = sla.StandardTime(minutes=10)
SEVEN_DAYS = sla.StandardTime(working_days=7)


def wib(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=WIB)


def verification(app_id: str, opened: datetime, minutes_later: float, due_after: float = 10,
                 status: str = "decided") -> TaskRecord:
    return TaskRecord(application_id=app_id, step="verification", status=status, opened_at=opened,
                      standard=TEN_MIN, outcome="verified", decided_at=opened + timedelta(minutes=minutes_later),
                      due_at=opened + timedelta(minutes=due_after), budget_minutes=10)


def survey(app_id: str, at: datetime | None, score: int) -> SurveyRecord:
    return SurveyRecord(app_id, at, ikm.SurveyAnswers(scores=dict.fromkeys(ikm.ELEMENT_IDS, score)))


APPS = [
    ApplicationRecord("a1", "izin-operasional-orsos", "completed", wib(2, 9), wib(20, 10)),
    ApplicationRecord("a2", "izin-operasional-orsos", "rejected", wib(3, 9), wib(10, 9)),
    ApplicationRecord("a3", "sip", "lapsed", wib(28, 9, month=10), wib(5, 9)),   # submitted in October
    ApplicationRecord("a4", "sip", "withdrawn", wib(4, 9), wib(30, 23, 59)),   # closed on the last evening
    ApplicationRecord("a5", "sip", "in_progress", wib(1, 0, 0), None),          # first WIB minute of the period
    ApplicationRecord("a6", "sip", "rejected", wib(15, 9, month=10), wib(31, 23, month=10)),  # all October
]


def test_a_period_is_wib_days_both_ends_included():
    assert NOVEMBER.start_utc == datetime(2026, 10, 31, 17, 0, tzinfo=UTC)
    assert NOVEMBER.end_utc == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert NOVEMBER.contains(wib(30, 23, 59)) and not NOVEMBER.contains(wib(31, 23, 59, month=10))
    assert Period.parse(None, None, date(2026, 11, 29)) == Period(date(2026, 11, 1), date(2026, 11, 29))
    with pytest.raises(ValidationError) as bad:
        Period.parse("2026-13-01", None, date(2026, 11, 29))
    assert bad.value.field == "dari"
    with pytest.raises(ValidationError) as reversed_:
        Period.parse("2026-11-10", "2026-11-01", date(2026, 11, 29))
    assert reversed_.value.field == "sampai"
    with pytest.raises(ValidationError):
        Period.parse("2025-01-01", "2026-11-01", date(2026, 11, 29))


def test_median_and_nearest_rank_p90():
    assert reports.median([]) is None and reports.percentile([], 0.9) is None
    assert reports.median([5]) == 5 and reports.percentile([5], 0.9) == 5
    assert reports.median([3, 1, 2]) == 2
    assert reports.median([4, 1, 3, 2]) == 2.5
    values = list(range(1, 11))  # 1..10
    assert reports.percentile(values, 0.9) == 9
    assert reports.percentile(list(range(1, 12)), 0.9) == 10  # 11 values: rank ceil(9.9) = 10


def test_counts_follow_the_period_definitions():
    signing = [
        TaskRecord("a1", "signing", "decided", wib(18, 9), sla.StandardTime(minutes=15), outcome="signed",
                   decided_at=wib(18, 9, 5)),
        TaskRecord("a1", "signing", "decided", wib(18, 9), sla.StandardTime(minutes=15), outcome="signed",
                   decided_at=wib(18, 9, 6)),  # the same application counts once
        TaskRecord("a5", "signing", "deciding", wib(19, 9), sla.StandardTime(minutes=15), outcome="signed",
                   decided_at=wib(19, 9, 5)),  # not accepted by the run (yet)
        TaskRecord("a2", "rejection_signing", "decided", wib(9, 9), sla.StandardTime(minutes=15), outcome="signed",
                   decided_at=wib(9, 9, 5)),
    ]
    assert reports.counts(NOVEMBER, APPS, signing) == {
        "received": 4, "issued": 1, "rejected": 1, "lapsed": 1, "withdrawn": 1}


def test_time_per_step_in_office_minutes_median_p90_and_sla_compliance():
    tasks = [
        verification("a1", wib(2, 8), 5),            # 5 min, on time
        verification("a2", wib(3, 8), 12),           # 12 min, late
        # opened 15:55 on Monday, decided 07:40 on Tuesday: 5 + 10 office minutes, due 07:35 Tuesday: late
        TaskRecord("a4", "verification", "decided", wib(2, 15, 55), TEN_MIN, outcome="verified",
                   decided_at=wib(3, 7, 40), due_at=wib(3, 7, 35), budget_minutes=10),
        # a second round: 4 minutes spent before the return, 3 now = 7 as the clock counts; on time
        TaskRecord("a5", "verification", "decided", wib(4, 10), TEN_MIN, outcome="verified",
                   decided_at=wib(4, 10, 3), due_at=wib(4, 10, 6), budget_minutes=10, consumed_minutes=4),
        verification("a6", wib(30, 8, month=10), 1),  # decided in October: not in November's figures
        verification("a1", wib(5, 8), 1, status="cancelled"),  # the run no longer waited: not counted
    ]
    [row] = reports.step_rows(NOVEMBER, tasks, CAL)
    assert (row.step, row.unit, row.standard_value, row.standard_label) == ("verification", "menit", 10, "10 menit")
    assert row.decided == 4
    assert row.median == pytest.approx((7 + 12) / 2)   # 5, 7, 12, 15
    assert row.p90 == pytest.approx(15)
    assert (row.with_due, row.on_time) == (4, 2) and row.compliance == pytest.approx(50.0)


def test_a_step_standard_in_working_days_is_measured_in_working_days():
    # due at closing time of the 7th working day after Monday 2 November (Wednesday 11th): the clock's budget is
    # the office minutes from Monday 07:30 to then (eight office days, one of them a Friday)
    budget = 7 * 510 + 540
    assert CAL.office_minutes_between(wib(2, 7, 30), CAL.due(wib(2, 7, 30), working_days=7)) == budget
    tasks = [
        TaskRecord("a1", "technical_review", "decided", wib(2, 7, 30), SEVEN_DAYS, outcome="recommended",
                   decided_at=wib(2, 16), due_at=wib(11, 16), budget_minutes=budget),   # one full Monday
        TaskRecord("a2", "technical_review", "decided", wib(2, 7, 30), SEVEN_DAYS, outcome="recommended",
                   decided_at=wib(13, 16, 30), due_at=wib(11, 16), budget_minutes=budget),  # ten office days: late
    ]
    [row] = reports.step_rows(NOVEMBER, tasks, CAL)
    assert (row.unit, row.standard_value) == ("hari kerja", 7)
    one_day, ten_days = 510 / budget * 7, (8 * 510 + 2 * 540) / budget * 7
    assert row.median == pytest.approx((one_day + ten_days) / 2)
    assert row.p90 == pytest.approx(ten_days) and ten_days > 7
    assert row.compliance == pytest.approx(50.0)


def test_a_step_overridden_by_a_type_gets_its_own_row():
    tasks = [verification("a1", wib(2, 8), 5),
             TaskRecord("a4", "verification", "decided", wib(2, 8), sla.StandardTime(minutes=30), outcome="verified",
                        decided_at=wib(2, 8, 20), due_at=wib(2, 8, 30), budget_minutes=30)]
    rows = reports.step_rows(NOVEMBER, tasks, CAL)
    assert [(r.standard_label, r.decided, r.on_time) for r in rows] == [("10 menit", 1, 1), ("30 menit", 1, 1)]


def test_backlog_counts_open_officer_tasks_per_step_in_sop_order():
    open_tasks = [
        TaskRecord("a5", "approval", "open", wib(20, 9), TEN_MIN),
        TaskRecord("a2", "completeness_check", "open", wib(20, 9), sla.StandardTime(minutes=15)),
        TaskRecord("a3", "approval", "open", wib(20, 9), TEN_MIN),
        TaskRecord("a4", "revision", "open", wib(20, 9), sla.StandardTime(working_days=14)),  # the applicant's
    ]
    assert [(r.step, r.open) for r in reports.backlog(open_tasks)] == [("completeness_check", 1), ("approval", 2)]
    assert reports.backlog(open_tasks)[0].title == "2. Pemeriksaan kelengkapan berkas"


def test_ikm_of_the_period_with_its_grade():
    surveys = [survey("a1", wib(21, 10), 4), survey("a2", wib(22, 10), 3), survey("a5", wib(23, 10), 4),
               survey("a6", wib(24, 10), 3), survey("a7", wib(25, 10), 4), survey("a8", wib(26, 10), 3),
               survey("a3", wib(20, 10, month=10), 1),  # October: left out
               survey("a4", None, 1)]                   # undated: left out
    result = reports.survey_ikm(surveys, NOVEMBER)
    assert result is not None
    assert result.respondents == 6 and result.converted == pytest.approx(87.5)
    assert (result.grade, result.grade_label) == ("B", "Baik")
    assert reports.survey_ikm(surveys[6:7], NOVEMBER) is None


def test_ikm_of_fewer_than_five_respondents_is_withheld_everywhere():
    """One or two surveys are one or two applicants' answers: the report names their number, not the scores."""
    four = [survey(f"a{n}", wib(21, 10), 1) for n in (1, 2, 3, 4)]
    assert reports.MIN_RESPONDENTS == 5
    assert reports.survey_ikm(four, NOVEMBER) is None
    figures = reports.compute("rokan-hilir", NOVEMBER, None, APPS, [], [], four, CAL)
    assert figures.ikm is None and figures.ikm_withheld == 4
    rows = reports.table(figures, "DPMPTSP Rokan Hilir", "Semua jenis izin")
    assert ["(4 responden; IKM ditampilkan bila responden pilihan ini dan responden lainnya masing-masing paling "
            "sedikit 5)"] in rows
    assert not any(r and r[0] in ("IKM (konversi)", "Mutu pelayanan", "Responden") for r in rows)
    assert reports.ikm_per_quarter(four) == []   # a quarter with four is not published either
    five = four + [survey("a5", wib(22, 10), 1)]
    shown = reports.compute("rokan-hilir", NOVEMBER, None, APPS, [], [], five, CAL)
    assert shown.ikm is not None and shown.ikm.respondents == 5 and shown.ikm_withheld == 0


def test_converted_ikm_is_shown_truncated_so_it_never_contradicts_its_grade():
    assert reports.number_id(88.30999, truncate=True) == "88,30"
    assert str(reports.truncate2(76.6099)) == "76.60"
    assert reports.number_id(1234.56) == "1.234,6"
    assert reports.number_id(None) == "-"


def test_compute_filters_every_figure_by_permit_type():
    decided = [verification("a1", wib(2, 8), 5), verification("a4", wib(4, 8), 20)]
    open_tasks = [TaskRecord("a5", "approval", "open", wib(20, 9), TEN_MIN)]
    orsos = [survey(f"o{n}", wib(21, 10), 4) for n in range(5)]
    sips = [survey(f"s{n}", wib(21, 11), 1) for n in range(5)]
    apps = APPS + [ApplicationRecord(s.application_id, "izin-operasional-orsos", "completed", wib(2, 9)) for s in orsos] \
        + [ApplicationRecord(s.application_id, "sip", "completed", wib(2, 9)) for s in sips]
    surveys = orsos + sips
    sip = reports.compute("rokan-hilir", NOVEMBER, "sip", apps, decided, open_tasks, surveys, CAL)
    assert sip.counts == {"received": 7, "issued": 0, "rejected": 0, "lapsed": 1, "withdrawn": 1}
    assert [(r.step, r.decided, r.on_time) for r in sip.step_rows] == [("verification", 1, 0)]
    assert [(r.step, r.open) for r in sip.backlog] == [("approval", 1)]
    assert sip.ikm is not None and sip.ikm.grade == "D"
    everything = reports.compute("rokan-hilir", NOVEMBER, None, apps, decided, open_tasks, surveys, CAL)
    assert everything.counts["received"] == 14
    assert everything.ikm is not None and everything.ikm.converted == pytest.approx(62.5)


def test_ikm_per_quarter_newest_first():
    surveys = [survey("a1", wib(21, 10), 4), *[survey(f"q4-{n}", wib(1, 10, month=10), 2) for n in range(5)],
               *[survey(f"q3-{n}", wib(30, 23, month=9), 3) for n in range(5)],  # 30 Sept 23:00 WIB: Q3
               *[survey(f"q2-{n}", wib(30, 9, month=6), 3) for n in range(4)],   # Q2: four, not published
               survey("a4", None, 1)]
    quarters = reports.ikm_per_quarter(surveys)
    assert [(q.label, q.result.respondents) for q in quarters] == [("Triwulan IV 2026", 6), ("Triwulan III 2026", 5)]
    assert quarters[0].result.converted == pytest.approx(25 * (4 + 5 * 2) / 6) and quarters[0].result.grade == "D"  # 58,33


def test_the_table_holds_the_same_figures_for_both_exports():
    decided = [verification("a1", wib(2, 8), 5)]
    figures = reports.compute("rokan-hilir", NOVEMBER, None, APPS, decided, [],
                              [survey(f"a{n}", wib(21, 10), 4) for n in range(5)], CAL)
    rows = reports.table(figures, "DPMPTSP Rokan Hilir", "Semua jenis izin")
    assert ["Permohonan diterima", 4] in rows
    assert ["Periode", "2026-11-01", "2026-11-30"] in rows
    step = next(r for r in rows if r and r[0] == "5. Verifikasi berkas")
    assert step == ["5. Verifikasi berkas", 10.0, "menit", 1, 5.0, 5.0, 1, 1, 100.0]
    assert ["IKM (konversi)", 100.0] in rows and ["Mutu pelayanan", "A (Sangat Baik)"] in rows


def test_bar_chart_is_an_escaped_svg_without_script_or_style():
    from chalicelib.svg_charts import Bar, bar_chart

    svg = str(bar_chart('Grafik <b>"uji"</b>', [Bar("<script>alert(1)</script>", 3, "3 & lebih"), Bar("Kosong", None)],
                        max_value=4, reference=2, reference_label="standar"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "3 &amp; lebih" in svg
    assert "&lt;b&gt;&quot;uji&quot;&lt;/b&gt;" in svg
    assert "style=" not in svg and 'role="img"' in svg
    assert 'width="180.0"' not in svg and svg.count("<rect") == 1  # the empty bar draws no rectangle
    assert "stroke-dasharray" in svg  # the reference line


@pytest.mark.parametrize(("start", "end", "field"), [
    ("0001-01-01", "0001-01-31", "dari"),      # overflowed the UTC conversion: a 500 (review, issue 11)
    ("9999-12-01", "9999-12-31", "dari"),
    ("2026-11-01", "2026-11-30xyz", "sampai"),  # was cut to 10 characters and accepted
    ("1999-12-31", "2000-01-05", "dari"),
])
def test_dates_outside_the_service_years_or_with_trailing_text_are_a_field_error(start, end, field):
    with pytest.raises(ValidationError) as refused:
        Period.parse(start, end, date(2026, 11, 29))
    assert refused.value.field == field


def test_text_a_spreadsheet_would_run_as_a_formula_stays_text_in_csv_and_xlsx():
    import io

    from openpyxl import load_workbook
    from silastri.services import reports as service

    figures = reports.compute("rokan-hilir", NOVEMBER, None, [], [], [], [], WorkingCalendar())
    hostile = "=HYPERLINK(\"http://x\",\"klik\")"
    rows = [("Judul", hostile), ("Tab", "\t=1+1"), ("Angka", -3)]
    original = service._rows
    service._rows = lambda _figures: rows  # type: ignore[assignment]
    try:
        text = service.to_csv(figures)
        book = load_workbook(io.BytesIO(service.to_xlsx(figures)))
    finally:
        service._rows = original  # type: ignore[assignment]
    assert "'=HYPERLINK" in text and "'\t=1+1" in text and ",-3" in text
    cells = [cell for row in book.active.iter_rows() for cell in row if cell.value is not None]
    hostile_cell = next(c for c in cells if str(c.value).startswith("=HYPERLINK"))
    assert hostile_cell.data_type == "s"  # a string, not a formula
    assert next(c for c in cells if c.value == -3).data_type == "n"


def test_a_types_ikm_is_withheld_when_the_rest_would_tell_by_subtraction():
    """Red-team finding: all types (9 respondents) minus one type (5) gave the other 4's per-unsur sums."""
    orsos = [survey(f"o{n}", wib(21, 10), 4) for n in range(5)]
    sips = [survey(f"s{n}", wib(21, 11), 1) for n in range(4)]
    apps = APPS + [ApplicationRecord(s.application_id, "izin-operasional-orsos", "completed", wib(2, 9)) for s in orsos] \
        + [ApplicationRecord(s.application_id, "sip", "completed", wib(2, 9)) for s in sips]
    one_type = reports.compute("rokan-hilir", NOVEMBER, "izin-operasional-orsos", apps, [], [], orsos + sips, CAL)
    assert one_type.ikm is None and one_type.ikm_withheld == 5
    everything = reports.compute("rokan-hilir", NOVEMBER, None, apps, [], [], orsos + sips, CAL)
    assert everything.ikm is not None and everything.ikm.respondents == 9
    more = sips + [survey("s9", wib(21, 12), 1)]   # the rest reaches five: both shown
    apps.append(ApplicationRecord("s9", "sip", "completed", wib(2, 9)))
    assert reports.compute("rokan-hilir", NOVEMBER, "izin-operasional-orsos", apps, [], [], orsos + more, CAL).ikm is not None
