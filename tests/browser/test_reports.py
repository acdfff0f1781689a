"""The office report in Chromium: the head opens /petugas/laporan, the figures move by what the test seeds
through the API (one SIP permit issued with its survey, one SIP application waiting at verification), and the
CSV and XLSX downloads hold the page's figures. The public office page shows the service standards and the IKM
per quarter. The stack is shared with other browser modules, so counts are checked as differences from a
report read before seeding."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from silastri.domain.reports import MIN_RESPONDENTS, number_id
from silastri_local.journey import SKM_ELEMENTS, Journey, journey_at

from .conftest import _PAGE_CHECKS, PHONE, SCREENSHOTS
from .officer_fixtures import DESKTOP, OfficerBrowser

pytestmark = pytest.mark.browser

SIP = "sip"
Cell = str | float | None


@pytest.fixture
def officers(browser, stack) -> Iterator[OfficerBrowser]:
    opened = OfficerBrowser(browser, stack)
    yield opened
    opened.close()


def shot(page: Page, name: str) -> None:
    problems = page.evaluate(_PAGE_CHECKS)
    assert not problems, f"{name}: {problems}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"laporan-{name}.png"), full_page=True)


def _cell(value: object) -> Cell:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return str(value)


def sections(rows: list[list[Cell]]) -> dict[str, list[list[Cell]]]:
    """The export's sections by their header's first cell (rows until the next empty row)."""
    found: dict[str, list[list[Cell]]] = {}
    current: list[list[Cell]] | None = None
    for row in rows:
        row = [c for c in row]
        while row and row[-1] is None:
            row.pop()
        if not row:
            current = None
        elif current is None:
            current = found.setdefault(str(row[0]), [])
        else:
            current.append(row)
    return found


def csv_sections(body: bytes) -> dict[str, list[list[Cell]]]:
    return sections([[_cell(c) for c in row] for row in csv.reader(io.StringIO(body.decode("utf-8-sig")))])


def xlsx_sections(body: bytes) -> dict[str, list[list[Cell]]]:
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    return sections([[_cell(c) for c in row] for row in sheet.iter_rows(values_only=True)])


def counts(report: dict[str, list[list[Cell]]]) -> dict[str, float]:
    return {str(r[0]): float(r[1] or 0) for r in report["Rekapitulasi permohonan"]}


def per_step(report: dict[str, list[list[Cell]]], section: str) -> dict[str, list[Cell]]:
    return {str(r[0]): r for r in report.get(section, []) if r[0] != "(tidak ada)"}


def respondents(report: dict[str, list[list[Cell]]]) -> int:
    """The respondents the export counts: shown with the IKM, or named in the note when too few to show it."""
    rows = {str(r[0]): r for r in report["Indeks Kepuasan Masyarakat (unsur)"]}
    if "Responden" in rows:
        return int(float(rows["Responden"][1] or 0))
    withheld = next((m for m in (re.match(r"\((\d+) responden;", key) for key in rows) if m), None)
    return int(withheld.group(1)) if withheld else 0


def seed_surveys(stack, office_id: str, count: int, score: int) -> None:
    """Other applicants' surveys filled now, stored as the survey endpoint stores them (the report counts every
    dated survey of the office when no permit type is chosen)."""
    now = datetime.now(UTC).isoformat()
    for n in range(count):
        stack.aws("dynamodb").put_item(TableName="silastri-SurveysTable", Item={
            "office_id": {"S": office_id}, "application_id": {"S": f"survei-uji-{uuid.uuid4().hex}-{n}"},
            "body": {"S": json.dumps({"scores": dict.fromkeys(SKM_ELEMENTS, score)})}, "filled_at": {"S": now}})


def test_report_page_and_exports_match_the_seeded_applications(officers, stack, api, staff):
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
    query = f"dari={(today - timedelta(days=1)).isoformat()}&sampai={(today + timedelta(days=1)).isoformat()}"
    head = officers.open("head", viewport=DESKTOP)
    before_csv = head.request.get(f"/petugas/laporan/csv?{query}&jenis={SIP}")
    assert before_csv.ok and before_csv.headers["content-type"].startswith("text/csv")
    before = csv_sections(before_csv.body())
    before_all = respondents(csv_sections(head.request.get(f"/petugas/laporan/csv?{query}&jenis=").body()))

    issued = Journey(api, staff, SIP)
    issued.run_to_pickup()  # every SOP step of SIP, the SKM filled (all 4) before the handover
    waiting = journey_at(api, staff, "verification", permit_type=SIP)
    waiting.task("verifier", "verification")

    head.goto(f"/petugas/laporan?{query}&jenis={SIP}")
    expect(head.get_by_role("heading", level=1)).to_have_text("Laporan kinerja pelayanan")
    expect(head.get_by_role("navigation", name="Menu utama").locator('a[aria-current="page"]')).to_have_text("Laporan")  # in the officers' menu
    expect(head.locator("#jenis-terpilih")).to_contain_text("Surat Izin Praktik")
    page_counts = {key: int(head.locator(f'[data-count="{key}"] .count-value').inner_text())
                   for key in ("received", "issued", "rejected", "lapsed", "withdrawn")}
    old = counts(before)
    assert page_counts["received"] == old["Permohonan diterima"] + 2
    assert page_counts["issued"] == old["Izin terbit (ditandatangani)"] + 1
    backlog_row = head.locator('#tabel-antrian tr[data-step="verification"] td')
    old_backlog = per_step(before, "Tugas terbuka saat ini per tahap")
    assert int(backlog_row.inner_text()) == float(old_backlog.get("5. Verifikasi berkas", [0, 0.0])[1] or 0) + 1
    signing_row = head.locator('#tabel-waktu tr[data-step="signing"]')
    expect(signing_row).to_contain_text("15 menit")
    old_steps = per_step(before, "Waktu per tahap")
    assert int(signing_row.locator('[data-col="decided"]').inner_text()) == float(
        old_steps.get("8. Penandatanganan elektronik (TTE)", [0, 0, 0, 0.0])[3] or 0) + 1
    sip_respondents = respondents(before) + 1
    rest = before_all + 1 - sip_respondents   # the office's other respondents in the period
    hidden = sip_respondents < MIN_RESPONDENTS or 0 < rest < MIN_RESPONDENTS
    if hidden:   # too few (here or in the rest, which subtraction would tell): only their number, no score
        expect(head.locator("#ikm-ditahan")).to_contain_text(f"{sip_respondents} responden")
        expect(head.locator("#ikm-nilai")).to_have_count(0)
    else:
        expect(head.locator("#ikm-responden")).to_have_text(str(sip_respondents))
    assert head.locator("svg.chart").count() >= 4  # drawn on the server
    shot(head, "petugas")

    # the downloads, through the page's links
    with head.expect_download() as csv_download:
        head.locator("#unduh-csv").click()
    assert re.fullmatch(r"laporan-rokan-hilir-[0-9-]+-sip\.csv", csv_download.value.suggested_filename)
    with open(csv_download.value.path(), "rb") as handle:
        from_csv = csv_sections(handle.read())
    with head.expect_download() as xlsx_download:
        head.locator("#unduh-xlsx").click()
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    with open(xlsx_download.value.path(), "rb") as handle:
        from_xlsx = xlsx_sections(handle.read())

    assert from_csv == from_xlsx  # the same figures in both files
    assert counts(from_csv) == {"Permohonan diterima": page_counts["received"],
                                "Izin terbit (ditandatangani)": page_counts["issued"],
                                "Permohonan ditolak": page_counts["rejected"],
                                "Permohonan gugur": page_counts["lapsed"],
                                "Permohonan ditarik": page_counts["withdrawn"]}
    steps = per_step(from_csv, "Waktu per tahap")
    for row in head.locator("#tabel-waktu tbody tr").all():
        title = row.locator("th").inner_text()
        exported = steps[title]
        unit = str(exported[2])
        assert int(row.locator('[data-col="decided"]').inner_text()) == exported[3]
        assert row.locator('[data-col="median"]').inner_text() == f"{number_id(exported[4])} {unit}"  # type: ignore[arg-type]
        assert row.locator('[data-col="p90"]').inner_text() == f"{number_id(exported[5])} {unit}"  # type: ignore[arg-type]
        assert row.locator('[data-col="on_time"]').inner_text() == f"{int(exported[7] or 0)} dari {int(exported[6] or 0)}"
    backlog = per_step(from_csv, "Tugas terbuka saat ini per tahap")
    assert backlog["5. Verifikasi berkas"][1] == float(backlog_row.inner_text())
    assert respondents(from_csv) == sip_respondents
    if hidden:
        assert "IKM (konversi)" not in {str(r[0]) for r in from_csv["Indeks Kepuasan Masyarakat (unsur)"]}

    # with enough respondents (five more, all answers 2, over every permit type) the IKM is shown and exported
    all_types = f"/petugas/laporan?{query}&jenis="
    seed_surveys(stack, "rokan-hilir", MIN_RESPONDENTS, 2)
    head.goto(all_types)
    expect(head.locator("#ikm-responden")).to_have_text(str(before_all + 1 + MIN_RESPONDENTS))
    with_ikm = csv_sections(head.request.get(f"/petugas/laporan/csv?{query}&jenis=").body())
    ikm_rows = {str(r[0]): r for r in with_ikm["Indeks Kepuasan Masyarakat (unsur)"]}
    assert number_id(ikm_rows["IKM (konversi)"][1], truncate=True) == head.locator("#ikm-nilai").inner_text()  # type: ignore[arg-type]
    assert head.locator("#ikm-mutu").inner_text() == ikm_rows["Mutu pelayanan"][1]
    if before_all == 0:  # the journey's survey (all 4) and the five seeded (all 2): (4 + 5 × 2) / 6 → 58,33, D
        assert ikm_rows["IKM (konversi)"][1] == 58.33 and ikm_rows["Mutu pelayanan"][1] == "D (Tidak Baik)"

    head.set_viewport_size(PHONE)  # no sideways scrolling on a phone (tables scroll inside their box)
    head.reload()
    shot(head, "petugas-ponsel")

    # a bad period is refused with its reason; the back office does not see the report
    head.goto("/petugas/laporan?dari=2026-02-31")
    expect(head.locator("main")).to_contain_text("anggal tidak valid")
    back_office = officers.open("back_office")
    response = back_office.goto("/petugas/laporan")
    assert response is not None and response.status == 403
    expect(back_office.get_by_role("navigation", name="Menu utama")).not_to_contain_text("Laporan")


def test_public_office_page_shows_service_standards_and_quarterly_ikm(officers):
    visitor = officers.open(None)
    response = visitor.goto("/kantor/rokan-hilir")
    assert response is not None and response.ok
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Standar pelayanan")
    sip = visitor.locator('[data-permit-type="sip"]')
    expect(sip).to_contain_text("Surat Izin Praktik")
    expect(sip.locator(".cost")).to_contain_text("gratis")
    expect(sip.locator(".total-time")).to_contain_text("menit")
    expect(visitor.locator("#ikm-triwulan")).to_be_visible()
    shot(visitor, "kantor")
    assert visitor.goto("/kantor/kota-antah").status == 404  # type: ignore[union-attr]
