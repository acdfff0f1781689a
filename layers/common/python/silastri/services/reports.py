"""The office report and the public service standards: reads the records through the report's queries (no
scan), hands them to `domain.reports`, and writes the CSV and XLSX exports.

Queries per report: submitted applications of the office from `LOOKBACK_DAYS` before the period to its end
(sparse `by_office_submitted`), tasks decided in the period (sparse `by_office_decided`), the open queue of
each officer role (`by_queue`) and the office's surveys (one office-wide query). Applications these do not
cover (a task of an older file) are read by a batch get of their type only."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..adapters import dynamo
from ..domain import reports, sla, steps
from ..domain.catalog import PermitType, default_catalog
from ..domain.errors import NotFoundError
from ..domain.reports import ApplicationRecord, Figures, Period, SurveyRecord, TaskRecord

ALL_TYPES = "Semua jenis izin"


def _standard(office_id: str, permit_type: str | None, step_id: str) -> sla.StandardTime:
    overrides: dict[str, dict[str, int]] = {}
    if permit_type:
        try:
            overrides = default_catalog().permit_type(office_id, permit_type).standard_times
        except NotFoundError:  # a type the office no longer offers: the SOP's standard
            overrides = {}
    return sla.standard_time(step_id, overrides)


def _surveys(office_id: str) -> list[SurveyRecord]:
    return [SurveyRecord(app_id, filled_at, answers) for app_id, filled_at, answers in dynamo.dated_surveys_of(office_id)]


def office_report(office_id: str, period: Period, permit_type: str | None) -> Figures:
    """Every figure of the office's report for the period (WIB days) and permit type (None: all types).

    Raises NotFoundError for an unknown office or a type the office does not offer."""
    catalog = default_catalog()
    office = catalog.office(office_id)
    if permit_type:
        catalog.permit_type(office_id, permit_type)
    apps = [ApplicationRecord(**row) for row in dynamo.report_applications(
        office_id, period.start_utc - timedelta(days=reports.LOOKBACK_DAYS), period.end_utc)]
    type_of = {a.application_id: a.permit_type for a in apps}
    decided_rows = list(dynamo.report_decided_tasks(office_id, period.start_utc, period.end_utc))
    open_tasks = [t for role in steps.OFFICER_ROLES for t in dynamo.queue(office_id, role.value)]
    surveys = [s for s in _surveys(office_id) if s.filled_at is None or period.contains(s.filled_at)]
    referenced = ({r["application_id"] for r in decided_rows} | {t.application_id for t in open_tasks}
                  | {s.application_id for s in surveys})
    unknown = sorted(referenced - set(type_of))
    for start in range(0, len(unknown), 100):
        type_of.update(dynamo.application_types(unknown[start:start + 100]))
    # the join: every record's type, for the filter (applications outside the window are not counted)
    known = apps + [ApplicationRecord(a, type_of[a], "", None) for a in unknown if a in type_of]
    decided = []
    for row in decided_rows:
        clock = row["sla"] or {}
        decided.append(TaskRecord(
            application_id=row["application_id"], step=row["step"], status=row["status"], opened_at=row["opened_at"],
            standard=_standard(office_id, type_of.get(row["application_id"]), row["step"]), outcome=row["outcome"],
            decided_at=row["decided_at"], due_at=row["due_at"],
            budget_minutes=float(clock["budget_minutes"]) if clock.get("budget_minutes") else None,
            consumed_minutes=float(clock.get("consumed_minutes") or 0)))
    open_records = [TaskRecord(application_id=t.application_id, step=t.step, status=t.status.value,
                               opened_at=t.opened_at, standard=_standard(office_id, type_of.get(t.application_id), t.step))
                    for t in open_tasks]
    return reports.compute(office_id, period, permit_type, known, decided, open_records, surveys, office.calendar())


def type_name(office_id: str, permit_type: str | None) -> str:
    return default_catalog().permit_type_name(office_id, permit_type) if permit_type else ALL_TYPES


def _rows(figures: Figures) -> list[list[reports.Cell]]:
    office = default_catalog().office(figures.office_id)
    return reports.table(figures, office.name, type_name(figures.office_id, figures.permit_type))


def export_name(figures: Figures, extension: str) -> str:
    """`laporan-rokan-hilir-2026-11-01-2026-11-30-semua.csv`: ids and dates only."""
    return (f"laporan-{figures.office_id}-{figures.period.start.isoformat()}-{figures.period.end.isoformat()}-"
            f"{figures.permit_type or 'semua'}.{extension}")


def _csv_cell(value: reports.Cell) -> str:
    text = "" if value is None else str(value)
    # a cell that a spreadsheet would read as a formula is quoted as text (CSV injection)
    return "'" + text if _formula_like(value) else text


def _formula_like(value: reports.Cell) -> bool:
    """Text a spreadsheet would read as a formula (CSV/formula injection); numbers are numbers."""
    return isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r")


def to_csv(figures: Figures) -> str:
    """The report as CSV (UTF-8 with BOM for spreadsheets; numbers with a decimal point)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in _rows(figures):
        writer.writerow([_csv_cell(v) for v in row])
    return "\ufeff" + out.getvalue()


def to_xlsx(figures: Figures) -> bytes:
    """The report as an XLSX workbook (one sheet, numbers as numbers)."""
    from openpyxl import Workbook  # lazy: only the export pays for the import
    from openpyxl.styles import Font

    book = Workbook()
    sheet: Any = book.active
    sheet.title = "Laporan"
    for row in _rows(figures):
        sheet.append(list(row))
        for cell in sheet[sheet.max_row]:
            if _formula_like(cell.value):  # openpyxl would store it as a formula: keep it text
                cell.data_type = "s"
        if len(row) >= 2 and row[0] and isinstance(row[1], str) and row[1] in ("Jumlah", "NRR", "Standar"):
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.column_dimensions["A"].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ----------------------------------------------------------------------------- the public page

@dataclass(frozen=True)
class ServiceStandard:
    """One permit type's maklumat pelayanan entry."""

    permit_type: str
    name: str
    requirements: list[str]
    steps: list[tuple[str, str]]   # (step title, standard time)
    total_time: str
    cost: str
    validity: str
    legal_bases: list[str]


def _rupiah(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def _cost(permit_type: PermitType) -> str:
    payment = permit_type.payment
    if payment.mode == "none":
        return "Tidak dipungut biaya (gratis)"
    basis = f" ({payment.legal_basis})" if payment.legal_basis else ""
    if payment.mode == "fixed":
        return f"{payment.name}: {_rupiah(payment.amount or 0)}{basis}"
    return f"{payment.name}: ditetapkan oleh tim teknis sesuai tarif yang berlaku{basis}"


def _plan_steps(permit_type: PermitType) -> list[str]:
    plan = [steps.StepId.SUBMISSION, steps.StepId.COMPLETENESS_CHECK, steps.StepId.FORWARDING,
            steps.StepId.TECHNICAL_REVIEW, steps.StepId.VERIFICATION, steps.StepId.APPROVAL]
    if permit_type.stages.technical_recommendation.mode == "never":
        plan.remove(steps.StepId.FORWARDING)
        plan.remove(steps.StepId.TECHNICAL_REVIEW)
    if permit_type.payment.mode == "assessed":
        plan.append(steps.StepId.PAYMENT_ASSESSMENT)
    if permit_type.payment.mode != "none":
        plan.append(steps.StepId.PAYMENT_CONFIRMATION)
    plan += [steps.StepId.NUMBERING, steps.StepId.SIGNING, steps.StepId.PRINTING, steps.StepId.PICKUP]
    return [s.value for s in plan]


def service_standards(office_id: str) -> list[ServiceStandard]:
    """The maklumat pelayanan of each permit type the office offers: requirements, the SOP steps with their
    standard times (the type's own where it overrides one), the total, the cost, validity and legal bases."""
    found = []
    for permit_type in default_catalog().offered(office_id):
        rows, minutes, days = [], 0, 0
        for step_id in _plan_steps(permit_type):
            standard = sla.standard_time(step_id, permit_type.standard_times)
            rows.append((steps.step(step_id).title, standard.label))
            days += standard.working_days or 0
            minutes += 0 if standard.working_days else (standard.minutes or 0)
        total = " + ".join(p for p in (f"{days} hari kerja" if days else "", f"{minutes} menit" if minutes else "") if p)
        found.append(ServiceStandard(
            permit_type=permit_type.permit_type, name=permit_type.name,
            requirements=[r.name + (" (jika ada)" if r.optional else " (dalam keadaan tertentu)" if r.required_when else "")
                          for r in permit_type.requirements],
            steps=rows, total_time=total, cost=_cost(permit_type), validity=permit_type.validity.label,
            legal_bases=[b.text() for b in permit_type.legal_bases]))
    return found


PUBLIC_IKM_SECONDS = 300  # the public page's quarterly IKM is read from the surveys at most every 5 minutes


_public_ikm: dict[tuple[str, int], tuple[float, list[reports.QuarterIkm]]] = {}


def quarterly_ikm(office_id: str, last: int = 4) -> list[reports.QuarterIkm]:
    """The office's IKM for each of its `last` quarters with at least `reports.MIN_RESPONDENTS` surveys, newest
    first. One office-wide query, kept `PUBLIC_IKM_SECONDS` per process: the public page is open to anyone, and
    a quarter's figure moving a few minutes late is harmless. Raises NotFoundError for an unknown office."""
    default_catalog().office(office_id)
    now = time.monotonic()
    kept = _public_ikm.get((office_id, last))
    if kept is not None and now - kept[0] < PUBLIC_IKM_SECONDS:
        return kept[1]
    quarters = reports.ikm_per_quarter(_surveys(office_id), last)
    _public_ikm[(office_id, last)] = (now, quarters)
    return quarters
