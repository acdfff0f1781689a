"""The office report for officers (`/petugas/laporan`, with CSV and XLSX exports) and the public page of an
office (`/kantor/<office_id>`: maklumat pelayanan and the IKM per quarter). Thin: parse, call
`services.reports`, render; the figures come from `domain.reports`, the charts from `svg_charts`.

Who sees the report: the head (Kepala Dinas), the approver (Koordinator, Ahli Madya) and the verifier
(Sub Koordinator, Ahli Muda) — the supervisors whom overdue work escalates to and who answer for the office's
service standard. Back office and the sector agency's technical team work their own queues (the dashboard);
the technical team belongs to another agency and does not see the DPMPTSP's figures."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from chalice import Blueprint, Response
from silastri.adapters import storage
from silastri.domain import ikm, reports
from silastri.domain.catalog import default_catalog
from silastri.domain.clock import now_utc, to_wib
from silastri.domain.errors import ForbiddenError
from silastri.domain.reports import Figures, Period, number_id
from silastri.services import reports as report_service

from chalicelib.officer_pages import _officer, _page_render, officer_page
from chalicelib.pages import Ctx, _query, _render, page
from chalicelib.svg_charts import Bar, bar_chart

report_pages = Blueprint(__name__)

_CSS = Path(__file__).parent / "static" / "laporan.css"

REPORT_ROLES = frozenset({"head", "approver", "verifier"})
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@lru_cache(maxsize=1)
def _css() -> str:
    return _CSS.read_text("utf-8")


def _css_version() -> str:
    return hashlib.sha256(_css().encode()).hexdigest()[:12]


@report_pages.route("/static-laporan/laporan.css", methods=["GET"])
def report_css() -> Response:
    immutable = _query("v") == _css_version()
    return Response(body=_css(), status_code=200, headers={
        "Content-Type": "text/css; charset=utf-8", "X-Content-Type-Options": "nosniff",
        "Cache-Control": "public, max-age=31536000, immutable" if immutable else "public, max-age=300"})


def _reader(ctx: Ctx) -> str:
    """The office of a signed-in officer allowed to read its report; otherwise login or 403."""
    who = _officer(ctx)
    if not who.roles & REPORT_ROLES:
        raise ForbiddenError("Laporan kantor hanya untuk Kepala Dinas, Koordinator (Penata Perizinan Ahli Madya) dan "
                             "Sub Koordinator (Penata Perizinan Ahli Muda).", field="role")
    return who.office_id or ""


def _selection(office_id: str) -> tuple[Period, str | None]:
    """The period (WIB days; default: this month so far) and permit type (`jenis`; empty: all) asked for."""
    period = Period.parse(_query("dari") or None, _query("sampai") or None, to_wib(now_utc()).date())
    permit_type = _query("jenis").strip() or None
    if permit_type:
        default_catalog().permit_type(office_id, permit_type)  # NotFoundError (404) for a type not offered
    return period, permit_type


def _charts(figures: Figures) -> dict[str, Any]:
    counts = bar_chart("Rekapitulasi permohonan", [Bar(label, figures.counts[key], str(figures.counts[key]))
                                                   for key, label in reports.COUNT_LABELS])
    backlog = bar_chart("Tugas terbuka per tahap", [Bar(r.title, r.open, str(r.open)) for r in figures.backlog])
    times = bar_chart(
        "Median waktu per tahap terhadap waktu standar (100% = standar)",
        [Bar(r.title if len({x.step for x in figures.step_rows}) == len(figures.step_rows)
             else f"{r.title} ({r.standard_label})",
             None if r.median is None or not r.standard_value else 100 * r.median / r.standard_value,
             None if r.median is None else f"{number_id(r.median)} {r.unit}",
             warn=r.median is not None and r.median > r.standard_value)
         for r in figures.step_rows],
        reference=100, reference_label="standar")
    compliance = bar_chart("Kepatuhan SLA per tahap (%)",
                           [Bar(r.title, r.compliance, None if r.compliance is None else f"{number_id(r.compliance)}%",
                                warn=r.compliance is not None and r.compliance < 100) for r in figures.step_rows],
                           max_value=100)
    nrr = None
    if figures.ikm is not None:
        result = figures.ikm
        nrr = bar_chart("Nilai rata-rata per unsur (skala 1–4)",
                        [Bar(reports.IKM_LABELS[e], result.nrr[e], number_id(result.nrr[e], truncate=True))
                         for e in ikm.ELEMENT_IDS], max_value=4)
    return {"counts": counts, "backlog": backlog, "times": times, "compliance": compliance, "nrr": nrr}


@report_pages.route("/petugas/laporan", methods=["GET"])
@officer_page
def report_page(ctx: Ctx) -> Response:
    office_id = _reader(ctx)
    period, permit_type = _selection(office_id)
    figures = report_service.office_report(office_id, period, permit_type)
    query = urlencode({"dari": period.start.isoformat(), "sampai": period.end.isoformat(), "jenis": permit_type or ""})
    return _page_render("laporan.html", ctx, title="Laporan kinerja pelayanan", pnav="laporan", laporan_css=_css_version(),
                        figures=figures,
                        office=default_catalog().office(office_id), types=default_catalog().offered(office_id),
                        type_name=report_service.type_name(office_id, permit_type), query=query,
                        charts=_charts(figures), labels=reports.COUNT_LABELS, ikm_labels=reports.IKM_LABELS,
                        elements=ikm.ELEMENT_IDS, num=number_id, min_respondents=reports.MIN_RESPONDENTS)


def _export(ctx: Ctx, extension: str) -> Response:
    office_id = _reader(ctx)
    period, permit_type = _selection(office_id)
    figures = report_service.office_report(office_id, period, permit_type)
    name = report_service.export_name(figures, extension)
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
               "X-Content-Type-Options": "nosniff"}
    if extension == "csv":
        return Response(body=report_service.to_csv(figures), status_code=200,
                        headers={**headers, "Content-Type": "text/csv; charset=utf-8"})
    # a binary body cannot pass API Gateway (REST) for a browser's download: stored, then a short-lived link
    key = storage.put_export(office_id, name, report_service.to_xlsx(figures), XLSX_TYPE)
    return Response(body="", status_code=302, headers={"Location": storage.export_url(key, name, XLSX_TYPE),
                                                       "Cache-Control": "no-store",
                                                       "Content-Type": "text/html; charset=utf-8"})


@report_pages.route("/petugas/laporan/csv", methods=["GET"])
@officer_page
def report_csv(ctx: Ctx) -> Response:
    return _export(ctx, "csv")


@report_pages.route("/petugas/laporan/xlsx", methods=["GET"])
@officer_page
def report_xlsx(ctx: Ctx) -> Response:
    return _export(ctx, "xlsx")


# ----------------------------------------------------------------------------- the public page of an office

@report_pages.route("/kantor/{office_id}", methods=["GET"])
@page
def office_page(ctx: Ctx, office_id: str) -> Response:
    """Maklumat pelayanan (per permit type: requirements, steps and standard times, cost, validity) and the
    IKM of the last four quarters with surveys, as PTSP offices publish them. Public, no login."""
    office = default_catalog().office(office_id)  # NotFoundError → 404
    quarters = report_service.quarterly_ikm(office_id)
    chart = bar_chart("IKM per triwulan (nilai konversi, 25–100)",
                      [Bar(q.label, q.result.converted,
                           f"{number_id(q.result.converted, truncate=True)} ({q.result.grade})") for q in quarters],
                      max_value=100) if quarters else None
    return _render("kantor.html", ctx, title=f"Standar pelayanan — {office.name}", office=office, site_office=office,
                   laporan_css=_css_version(),
                   standards=report_service.service_standards(office_id), quarters=quarters, chart=chart,
                   num=number_id, min_respondents=reports.MIN_RESPONDENTS)
