"""The office report (pure): applications received and closed in a period, open work per step, time per step
against the SOP standard, SLA compliance per step, and the IKM (PermenPAN-RB 14/2017).

Input are plain records (what the report's queries return); output are figures, ready for the page and the
exports. Periods are WIB calendar days, both ends included. Definitions (also printed under the report):

- received: applications submitted in the period;
- issued: applications whose permit the head signed in the period (a decided signing task);
- rejected / lapsed / withdrawn: applications closed with that outcome in the period;
- time per step: each officer task decided in the period, in office minutes as the SLA clock counts them (the
  minutes of earlier rounds of the same step included, the time the file waited on the applicant excluded);
  a step whose standard is in working days is shown in working days (its clock's budget is that many days);
- median and p90 (nearest rank: the smallest value that at least 90% of the tasks do not exceed);
- SLA compliance: the share of the step's tasks decided at or before their due time;
- IKM: the SKM surveys filled in the period (`ikm.compute_ikm`), shown only from `MIN_RESPONDENTS` respondents
  on (fewer and an officer could tell how one applicant, whose file they handled, rated them); for one permit
  type also only when the office's other respondents in the period are none or at least as many (else the
  all-types figures minus this type's would tell theirs)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from . import ikm, sla, steps
from .calendar import CalendarYearError, WorkingCalendar
from .clock import WIB, format_date_id, to_wib
from .errors import ValidationError

MAX_PERIOD_DAYS = 366  # one report covers at most a year (queries stay bounded)
# applications are looked up from this long before the period (a run never outlives 365 days, plus revisions)
LOOKBACK_DAYS = 400

COUNT_LABELS = [
    ("received", "Permohonan diterima"),
    ("issued", "Izin terbit (ditandatangani)"),
    ("rejected", "Permohonan ditolak"),
    ("lapsed", "Permohonan gugur"),
    ("withdrawn", "Permohonan ditarik"),
]
_CLOSED = {"rejected", "lapsed", "withdrawn"}
ISSUING_STEP, ISSUING_OUTCOME = steps.StepId.SIGNING.value, "signed"


# The fewest respondents whose IKM a report or the public page shows (k-anonymity, k = 5: the threshold
# statistics offices commonly use for small cells). Each survey belongs to one application, and an officer
# knows whose files they handled: with one or two respondents in a period or type, the scores are one person's.
MIN_RESPONDENTS = 5

FIRST_YEAR = 2000  # no report reaches before the service existed; far years would overflow UTC conversions


@dataclass(frozen=True)
class Period:
    """WIB calendar days `start`..`end`, both included."""

    start: date
    end: date

    @classmethod
    def parse(cls, start: str | None, end: str | None, today: date) -> Period:
        """From `YYYY-MM-DD` texts; missing: the current month up to today. Raises ValidationError (field
        `dari` / `sampai`) for a bad date, an end before the start, or a period over a year."""
        def one(text: str | None, name: str, default: date) -> date:
            if text is None or not text.strip():
                return default
            try:
                day = date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
            except ValueError:
                day = None
            if day is None:
                raise ValidationError("tanggal tidak valid; gunakan format YYYY-MM-DD", field=name)
            if not FIRST_YEAR <= day.year <= today.year + 1:
                raise ValidationError(f"tahun harus antara {FIRST_YEAR} dan {today.year + 1}", field=name)
            return day

        first = one(start, "dari", today.replace(day=1))
        last = one(end, "sampai", today)
        if last < first:
            raise ValidationError("tanggal akhir tidak boleh sebelum tanggal awal", field="sampai")
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            raise ValidationError(f"periode paling lama {MAX_PERIOD_DAYS} hari", field="sampai")
        return cls(first, last)

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(0), WIB).astimezone(UTC)

    @property
    def end_utc(self) -> datetime:
        """The first moment after the period (exclusive)."""
        return datetime.combine(self.end + timedelta(days=1), time(0), WIB).astimezone(UTC)

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.start_utc <= moment < self.end_utc

    @property
    def label(self) -> str:
        return f"{format_date_id(self.start)} – {format_date_id(self.end)}"


@dataclass(frozen=True)
class ApplicationRecord:
    application_id: str
    permit_type: str
    status: str
    submitted_at: datetime | None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class TaskRecord:
    """An officer task: decided ones (time and SLA) or open ones (backlog). `standard` is the step's standard
    time for the application's permit type; `budget_minutes`/`consumed_minutes` as its SLA clock recorded."""

    application_id: str
    step: str
    status: str
    opened_at: datetime
    standard: sla.StandardTime
    outcome: str | None = None
    decided_at: datetime | None = None
    due_at: datetime | None = None
    budget_minutes: float | None = None
    consumed_minutes: float = 0.0


@dataclass(frozen=True)
class SurveyRecord:
    application_id: str
    filled_at: datetime | None
    answers: ikm.SurveyAnswers


@dataclass(frozen=True)
class BacklogRow:
    step: str
    title: str
    open: int


@dataclass(frozen=True)
class StepRow:
    """Time and SLA compliance of one step (for one standard time: types may override a step's)."""

    step: str
    title: str
    standard_label: str
    unit: str                 # "menit" (office minutes) or "hari kerja"
    standard_value: float     # the standard in `unit`
    decided: int
    median: float | None
    p90: float | None
    with_due: int             # tasks that had a due time
    on_time: int

    @property
    def compliance(self) -> float | None:
        """Share (0–100) of the tasks with a due time decided by it; None when none had one."""
        return None if not self.with_due else 100.0 * self.on_time / self.with_due


@dataclass(frozen=True)
class Figures:
    office_id: str
    period: Period
    permit_type: str | None
    counts: dict[str, int]
    backlog: list[BacklogRow]
    step_rows: list[StepRow]
    ikm: ikm.IkmResult | None
    notes: list[str] = field(default_factory=list)
    # respondents in the selection when its IKM is not shown (ikm None): they, or the office's other respondents
    # in the period, are fewer than MIN_RESPONDENTS
    ikm_withheld: int = 0


# ----------------------------------------------------------------------------- statistics

def median(values: Sequence[float]) -> float | None:
    """The middle value (mean of the two middle ones for an even count); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile: the smallest value that at least `share` (0–1) of the values do not exceed."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def truncate2(value: float) -> Decimal:
    """Two decimals, truncated (PermenPAN-RB display rule: a printed IKM never contradicts its grade)."""
    return Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def number_id(value: float | Decimal | None, decimals: int = 1, truncate: bool = False) -> str:
    """`1.234,5` (Indonesian separators); `-` for None."""
    if value is None:
        return "-"
    text = f"{truncate2(float(value)):,.2f}" if truncate else f"{float(value):,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


# ----------------------------------------------------------------------------- figures

def counts(period: Period, applications: Iterable[ApplicationRecord], tasks: Iterable[TaskRecord]) -> dict[str, int]:
    """received / issued / rejected / lapsed / withdrawn in the period (see the module's definitions)."""
    result = dict.fromkeys((key for key, _ in COUNT_LABELS), 0)
    for app in applications:
        if period.contains(app.submitted_at):
            result["received"] += 1
        if app.status in _CLOSED and period.contains(app.closed_at):
            result[app.status] += 1
    issued = {t.application_id for t in tasks
              if t.step == ISSUING_STEP and t.status == "decided" and t.outcome == ISSUING_OUTCOME
              and period.contains(t.decided_at)}
    result["issued"] = len(issued)
    return result


def _title(step_id: str) -> str:
    try:
        definition = steps.step(step_id)
    except ValidationError:  # a step this version no longer knows: its id
        return step_id
    return f"{definition.sop_number}. {definition.title}"


def _order(step_id: str) -> tuple[int, str]:
    try:
        return steps.step(step_id).sop_number, step_id
    except ValidationError:
        return 99, step_id


def backlog(open_tasks: Iterable[TaskRecord]) -> list[BacklogRow]:
    """Open officer tasks now, per step (SOP order)."""
    per_step = Counter(t.step for t in open_tasks if t.status == "open" and not sla.clock_paused(t.step))
    return [BacklogRow(step_id, _title(step_id), n) for step_id, n in sorted(per_step.items(), key=lambda i: _order(i[0]))]


def spent_minutes(task: TaskRecord, calendar: WorkingCalendar) -> float:
    """Office minutes the task's clock counted at its decision (earlier rounds of the step included)."""
    assert task.decided_at is not None
    return task.consumed_minutes + calendar.office_minutes_between(task.opened_at, task.decided_at)


def _budget(task: TaskRecord, calendar: WorkingCalendar) -> float:
    if task.budget_minutes:
        return task.budget_minutes
    if task.standard.working_days:
        return calendar.office_minutes_between(task.opened_at, calendar.due(
            task.opened_at, working_days=task.standard.working_days))
    return float(task.standard.minutes or 0)


def step_rows(period: Period, decided: Iterable[TaskRecord], calendar: WorkingCalendar) -> list[StepRow]:
    """Median and p90 time and SLA compliance per step (and standard) of the officer tasks decided in the period.

    A step with a standard in working days is measured in working days: spent ÷ budget × days (its clock's
    budget is the office minutes of those days). Raises nothing for a year without calendar data: such a task
    is left out of the times (its compliance still counts)."""
    groups: dict[tuple[str, str], list[TaskRecord]] = {}
    for task in decided:
        if task.status != "decided" or not period.contains(task.decided_at) or sla.clock_paused(task.step):
            continue
        groups.setdefault((task.step, task.standard.label), []).append(task)
    rows = []
    for (step_id, label), tasks in sorted(groups.items(), key=lambda i: (_order(i[0][0]), i[0][1])):
        standard = tasks[0].standard
        in_days = bool(standard.working_days)
        values: list[float] = []
        for task in tasks:
            try:
                spent = spent_minutes(task, calendar)
                if in_days:
                    budget = _budget(task, calendar)
                    values.append(spent / budget * float(standard.working_days or 0) if budget else 0.0)
                else:
                    values.append(spent)
            except CalendarYearError:
                continue
        with_due = [t for t in tasks if t.due_at is not None]
        on_time = sum(1 for t in with_due if t.decided_at is not None and t.due_at is not None
                      and t.decided_at <= t.due_at)
        rows.append(StepRow(
            step=step_id, title=_title(step_id), standard_label=label,
            unit="hari kerja" if in_days else "menit",
            standard_value=float((standard.working_days if in_days else standard.minutes) or 0),
            decided=len(tasks), median=median(values), p90=percentile(values, 0.9),
            with_due=len(with_due), on_time=on_time))
    return rows


def dated_answers(surveys: Iterable[SurveyRecord], period: Period | None = None) -> list[ikm.SurveyAnswers]:
    """The answers of the surveys filled in the period (every dated survey without one)."""
    return [s.answers for s in surveys if s.filled_at is not None and (period is None or period.contains(s.filled_at))]


def survey_ikm(surveys: Iterable[SurveyRecord], period: Period | None = None) -> ikm.IkmResult | None:
    """The IKM of the surveys filled in the period (all dated surveys without one); None when fewer than
    `MIN_RESPONDENTS` filled one (none, or too few to show without telling one applicant's answers)."""
    answers = dated_answers(surveys, period)
    return ikm.compute_ikm(answers) if len(answers) >= MIN_RESPONDENTS else None


def compute(office_id: str, period: Period, permit_type: str | None, applications: Iterable[ApplicationRecord],
            decided: Iterable[TaskRecord], open_tasks: Iterable[TaskRecord], surveys: Iterable[SurveyRecord],
            calendar: WorkingCalendar) -> Figures:
    """Every figure of the report. `permit_type` None: all types. Records of other types are left out here
    (tasks and surveys through their application's type: `applications` must hold each one's application)."""
    apps = list(applications)
    type_of = {a.application_id: a.permit_type for a in apps}

    def wanted(application_id: str) -> bool:
        return permit_type is None or type_of.get(application_id) == permit_type

    apps = [a for a in apps if permit_type is None or a.permit_type == permit_type]
    decided_list = [t for t in decided if wanted(t.application_id)]
    open_list = [t for t in open_tasks if wanted(t.application_id)]
    surveys_all = list(surveys)
    survey_list = [s for s in surveys_all if wanted(s.application_id)]
    notes = []
    undated = sum(1 for s in survey_list if s.filled_at is None)
    if undated:
        notes.append(f"{undated} survei tanpa tanggal pengisian (diisi sebelum laporan tersedia) tidak dihitung.")
    respondents = len(dated_answers(survey_list, period))
    # the rest of the office's respondents in the period: were they fewer than the threshold, this type's
    # figures beside the all-types figures would tell theirs by subtraction (secondary suppression)
    rest = len(dated_answers(surveys_all, period)) - respondents
    hidden = 0 < respondents < MIN_RESPONDENTS or 0 < rest < MIN_RESPONDENTS
    return Figures(office_id=office_id, period=period, permit_type=permit_type,
                   counts=counts(period, apps, decided_list), backlog=backlog(open_list),
                   step_rows=step_rows(period, decided_list, calendar),
                   ikm=None if hidden else survey_ikm(survey_list, period),
                   notes=notes, ikm_withheld=respondents if hidden else 0)


# ----------------------------------------------------------------------------- quarters (the public page)

@dataclass(frozen=True)
class QuarterIkm:
    year: int
    quarter: int
    result: ikm.IkmResult

    @property
    def label(self) -> str:
        return f"Triwulan {['I', 'II', 'III', 'IV'][self.quarter - 1]} {self.year}"


def quarter_of(moment: datetime) -> tuple[int, int]:
    local = to_wib(moment)
    return local.year, (local.month - 1) // 3 + 1


def ikm_per_quarter(surveys: Iterable[SurveyRecord], last: int = 4) -> list[QuarterIkm]:
    """The IKM of each of the `last` quarters (WIB) with at least `MIN_RESPONDENTS` dated surveys, newest first
    (a quarter with fewer is not published)."""
    per: dict[tuple[int, int], list[ikm.SurveyAnswers]] = {}
    for survey in surveys:
        if survey.filled_at is not None:
            per.setdefault(quarter_of(survey.filled_at), []).append(survey.answers)
    keys = sorted((key for key, answers in per.items() if len(answers) >= MIN_RESPONDENTS), reverse=True)[:last]
    return [QuarterIkm(y, q, ikm.compute_ikm(per[(y, q)])) for y, q in keys]


# ----------------------------------------------------------------------------- tables (page, CSV, XLSX)

IKM_LABELS = {
    "persyaratan": "Persyaratan", "prosedur": "Sistem, mekanisme, dan prosedur", "waktu": "Waktu penyelesaian",
    "biaya": "Biaya/tarif", "produk": "Produk spesifikasi jenis pelayanan", "kompetensi": "Kompetensi pelaksana",
    "perilaku": "Perilaku pelaksana", "pengaduan": "Penanganan pengaduan, saran dan masukan",
    "sarana": "Sarana dan prasarana",
}

Cell = str | int | float | None


def _round(value: float | None, decimals: int = 1) -> float | None:
    return None if value is None else round(value, decimals)


def table(figures: Figures, office_name: str, type_name: str) -> list[list[Cell]]:
    """The report as rows of cells (numbers as numbers), the same for CSV and XLSX: sections separated by an
    empty row, each with its header row."""
    rows: list[list[Cell]] = [
        ["Laporan kinerja pelayanan perizinan"],
        ["Kantor", office_name],
        ["Periode", figures.period.start.isoformat(), figures.period.end.isoformat()],
        ["Jenis izin", type_name],
        [],
        ["Rekapitulasi permohonan", "Jumlah"],
    ]
    rows += [[label, figures.counts[key]] for key, label in COUNT_LABELS]
    rows += [[], ["Tugas terbuka saat ini per tahap", "Jumlah"]]
    rows += [[r.title, r.open] for r in figures.backlog] or [["(tidak ada)", 0]]
    rows += [[], ["Waktu per tahap", "Standar", "Satuan", "Tugas diputuskan", "Median", "P90",
                  "Tugas dengan batas waktu", "Tepat waktu", "Kepatuhan SLA (%)"]]
    rows += [[r.title, r.standard_value, r.unit, r.decided, _round(r.median), _round(r.p90), r.with_due, r.on_time,
              _round(r.compliance)] for r in figures.step_rows]
    rows += [[], ["Indeks Kepuasan Masyarakat (unsur)", "NRR"]]
    if figures.ikm is None and figures.ikm_withheld:
        rows.append([f"({figures.ikm_withheld} responden; IKM ditampilkan bila responden pilihan ini dan responden "
                     f"lainnya masing-masing paling sedikit {MIN_RESPONDENTS})"])
    elif figures.ikm is None:
        rows.append(["(belum ada survei pada periode ini)"])
    else:
        rows += [[IKM_LABELS[e], float(truncate2(figures.ikm.nrr[e]))] for e in ikm.ELEMENT_IDS]
        rows += [["Responden", figures.ikm.respondents],
                 ["IKM (konversi)", float(truncate2(figures.ikm.converted))],
                 ["Mutu pelayanan", f"{figures.ikm.grade} ({figures.ikm.grade_label})"]]
    return rows
