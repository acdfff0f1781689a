"""The documents as the running stack issues them (issue 11): the orsos decree reads as a real Surat Keputusan of a
DPMPTSP on one page, and the Rekomendasi Teknis is the sector agency's own letter with its own number, which the
decree cites. PNG renders of both go beside the browser screenshots (test-artifacts/screenshots/)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from silastri.adapters.documents import BSRE_STATEMENT
from silastri.domain.catalog import default_catalog
from silastri.domain.clock import format_date_id
from silastri.services.permits import legal_bases
from silastri_local.client import fetch
from silastri_local.journey import Journey

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WIB = ZoneInfo("Asia/Jakarta")


def flat(text: str) -> str:
    return " ".join(text.split())


def text_of(pdf: bytes) -> str:
    return flat(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def render_png(pdf: bytes, name: str) -> Path:
    """The first page of `pdf` as test-artifacts/screenshots/<name>.png (Debian's pdftoppm, installed by `make`)."""
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm is missing: `make test` installs poppler-utils (apt-get install poppler-utils)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    source = SCREENSHOTS / f"{name}.pdf"
    source.write_bytes(pdf)
    try:
        subprocess.run([pdftoppm, "-png", "-r", "110", "-singlefile", "-f", "1", "-l", "1", str(source),
                        str(SCREENSHOTS / name)], check=True, timeout=120)
    finally:
        source.unlink(missing_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return target


@pytest.fixture(scope="module")
def orsos(stack, api, staff) -> dict[str, bytes | Journey]:
    """One Rokan Hilir orsos journey to pickup: its signed decree and its technical recommendation."""
    journey = Journey(api, staff, "izin-operasional-orsos")
    decree = journey.run_to_pickup()
    link = staff["technical_team"].get(f"/api/applications/{journey.application_id}/files/technical-recommendation")
    return {"journey": journey, "decree": decree, "recommendation": fetch(link["url"])}


def test_the_orsos_decree_is_one_page_with_legal_bases_delegation_signer_and_tembusan(orsos):
    decree = orsos["decree"]
    assert isinstance(decree, bytes)
    assert len(PdfReader(io.BytesIO(decree)).pages) == 1
    text = text_of(decree)
    catalog = default_catalog()
    office = catalog.office("rokan-hilir")
    definition = catalog.permit_type("rokan-hilir", "izin-operasional-orsos")
    mengingat = text[text.index("Mengingat"):text.index("Memperhatikan")]
    for basis in legal_bases(definition, office):
        assert flat(basis) in mengingat, basis
    assert "Undang-Undang Nomor 11 Tahun 2009 tentang Kesejahteraan Sosial;" in mengingat
    assert office.delegation and flat(office.delegation.text()) + "." in mengingat  # the regent's delegation
    signature = text[text.index("Ditetapkan di Bagansiapiapi"):]
    assert "KEPALA DINAS PENANAMAN MODAL DAN PELAYANAN TERPADU SATU PINTU KABUPATEN ROKAN HILIR," in signature
    assert office.head is not None
    assert f"{office.head.name} {office.head.rank} NIP. {office.head.nip}" in signature
    tembusan = text[text.index("Tembusan disampaikan kepada Yth.:"):]
    journey = orsos["journey"]
    assert isinstance(journey, Journey) and journey.form
    assert f"Camat {journey.form['district']};" in tembusan and "Bupati Rokan Hilir" in tembusan
    # the local stack signs with its development PKI: said so, and never the BSrE sentence
    assert "PKI PENGEMBANGAN — BUKAN DOKUMEN RESMI" in text
    assert "Balai Besar Sertifikasi Elektronik" not in text and flat(BSRE_STATEMENT) not in text
    render_png(decree, "documents-decree-orsos")


def test_the_recommendation_is_the_agencys_letter_and_the_decree_cites_its_number_and_date(orsos):
    recommendation, decree = orsos["recommendation"], orsos["decree"]
    assert isinstance(recommendation, bytes) and isinstance(decree, bytes)
    text = text_of(recommendation)
    head = text[:text.index("REKOMENDASI TEKNIS")]
    assert "PEMERINTAH KABUPATEN ROKAN HILIR" in head and "DINAS SOSIAL" in head
    assert "PENANAMAN MODAL" not in head  # the agency's letterhead, not the DPMPTSP's
    found = re.search(r"NOMOR: (460/DINSOS/\d{4}/[IVX]+/\d{4})", text)
    assert found, text[:400]
    number = found.group(1)
    today = format_date_id(datetime.now(WIB).date())
    assert f"Bagansiapiapi, {today}" in text
    noting = text_of(decree)
    noting = noting[noting.index("Memperhatikan"):noting.index("MEMUTUSKAN")]
    assert f"Rekomendasi Teknis Dinas Sosial Kabupaten Rokan Hilir Nomor {number} tanggal {today}." in noting
    render_png(recommendation, "documents-recommendation-orsos")


def test_recommendation_numbers_are_the_agencys_own_sequence(stack, api, staff, orsos):
    """A second orsos recommendation of the same agency takes the next number of the agency's sequence."""
    first = re.search(r"NOMOR: 460/DINSOS/(\d{4})/", text_of(orsos["recommendation"]))  # type: ignore[arg-type]
    journey = Journey(api, staff, "izin-operasional-orsos")
    journey.apply()
    journey.submit()
    journey.advance(until="verification")
    link = staff["technical_team"].get(f"/api/applications/{journey.application_id}/files/technical-recommendation")
    second = re.search(r"NOMOR: 460/DINSOS/(\d{4})/", text_of(fetch(link["url"])))
    assert first and second and int(second.group(1)) > int(first.group(1))
