"""The public and applicant pages as a new user meets them, in Chromium (issue 11): the QR verification page on a
360-px phone (verdict, WIB dates, no sideways scrolling), Bahasa only (no English catalogue or step label on any
page, officers' included), a Bahasa 404, the favicon, every registration error at once, selects for listed answers,
the holder in the list of applications and the applicant's own name on the receipt.

Screenshots: test-artifacts/screenshots/publik-NN-name.png."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from silastri.domain import steps
from silastri.domain.catalog import default_catalog
from silastri_local.client import fetch
from silastri_local.journey import FORMS, Journey, form_for, journey_at

from .conftest import _PAGE_CHECKS, ACTION_TIMEOUT_MS, PHONE, SCREENSHOTS, Watch
from .officer_fixtures import DESKTOP, login, submit_login

OFFICE = "rokan-hilir"  # the local stack's default office
ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
WIB_DATE = re.compile(r"\d{1,2} (Januari|Februari|Maret|April|Mei|Juni|Juli|Agustus|September|Oktober|November|"
                      r"Desember) \d{4}")


def english_labels() -> set[str]:
    """Every English name of the catalogue (permit types, requirements; every office) and of the SOP steps
    (titles, decision labels): none may show in the UI."""
    catalog = default_catalog()
    labels: set[str] = set()
    for office_id in catalog.offices:
        for permit_type in catalog.offered(office_id):
            labels.add(permit_type.name_en)
            labels.update(r.name_en for r in permit_type.requirements)
    for step in steps.STEPS.values():
        labels.add(step.title_en)
        labels.update(o.label_en for o in step.outcomes)
    return {label.strip() for label in labels if label.strip()}


ENGLISH = english_labels()
_ENGLISH_RE = re.compile("|".join(rf"(?<!\w){re.escape(label)}(?!\w)"
                                  for label in sorted(ENGLISH, key=len, reverse=True)))


class Shots:
    """publik-NN-name.png; each shot also runs the shared page checks (lang, one h1, no sideways scroll, labels)."""

    def __init__(self) -> None:
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob("publik-*.png"):
            old.unlink()

    def shot(self, page: Page, name: str) -> None:
        problems = page.evaluate(_PAGE_CHECKS)
        assert not problems, f"{name}: {problems}"
        self.count += 1
        page.screenshot(path=str(SCREENSHOTS / f"publik-{self.count:02d}-{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def shots() -> Shots:
    return Shots()


@pytest.fixture(scope="module")
def issued(api, staff) -> Journey:
    """An orsos application whose permit is signed (waiting to be printed): a real QR verification target."""
    return journey_at(api, staff, "printing")


@pytest.fixture(scope="module")
def more_work(api, staff, issued) -> list[Journey]:
    """Applications waiting with other officers (their queues and task pages have something to show), and a
    draft of the issued one's applicant (the list shows every application with its holder)."""
    waiting = [journey_at(api, staff, "technical_review"),
               journey_at(api, staff, "approval", permit_type="sip")]
    assert issued.applicant
    spec = issued.catalog_entry()
    form = form_for(spec, {**FORMS["izin-operasional-orsos"], "organisation_name": "Perkumpulan Draf Sejahtera"})
    issued.applicant.post("/api/applications", {"permit_type": "izin-operasional-orsos", "form": form})
    return waiting


class Browsers:
    """Fresh contexts (phone or desktop), watched for requests off the stack, script errors, and any 403 answer
    (the favicon used to get one on every page)."""

    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser, self.base_url = browser, base_url
        self.opened: list[tuple[Any, Watch, list[str]]] = []

    def open(self, viewport: dict[str, int] = PHONE) -> Page:
        context = self.browser.new_context(base_url=self.base_url, viewport=viewport, locale="id-ID",
                                           timezone_id="Asia/Jakarta")
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        watch, forbidden = Watch(self.base_url), []
        page.on("request", watch.request)
        page.on("console", watch.console)
        page.on("pageerror", lambda error: watch.errors.append(str(error)))
        page.on("response", lambda response: forbidden.append(response.url) if response.status == 403 else None)
        self.opened.append((context, watch, forbidden))
        return page

    def close(self) -> None:
        for context, _, _ in self.opened:
            context.close()
        for _, watch, forbidden in self.opened:
            watch.check()
            assert not forbidden, f"403 answers: {forbidden[:5]}"


@pytest.fixture
def browsers(browser, stack) -> Iterator[Browsers]:
    opened = Browsers(browser, stack.url)
    yield opened
    opened.close()


def visible_english(page: Page) -> list[str]:
    """English catalogue/step labels in the page's visible text (and its title)."""
    text = page.evaluate("() => document.title + '\\n' + document.body.innerText")
    return sorted(set(_ENGLISH_RE.findall(text)))


def raw_get(url: str, accept: str = "text/html,*/*") -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode(errors="replace")


# ----------------------------------------------------------------------------- the QR verification page

def test_verification_page_on_a_phone(browsers, shots, issued):
    permit_id = issued.status()["permit_id"]
    page = browsers.open()
    page.goto(f"/verifikasi/{permit_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Verifikasi izin")
    expect(page.locator(".verdict-word")).to_have_text("SAH")
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")
    facts = page.locator("main").inner_text()
    assert not ISO_TIMESTAMP.search(facts), facts
    assert "+00:00" not in facts and "UTC" not in facts
    tanggal = page.locator(".facts div", has_text="Tanggal terbit").locator("dd").inner_text()
    berlaku = page.locator(".facts div", has_text="Berlaku sampai").locator("dd").inner_text()
    assert WIB_DATE.fullmatch(tanggal), tanggal
    assert WIB_DATE.match(berlaku), berlaku
    assert re.search(r"\d{2}:\d{2} WIB", page.locator("#yang-diperiksa").locator("xpath=..").inner_text())
    issuer = page.locator(".facts div", has_text="Diterbitkan oleh").locator("dd")
    expect(issuer).to_have_text("Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu Kabupaten Rokan Hilir")
    expect(page.locator(".facts div", has_text="Pemegang izin").locator("dd")).to_have_text(
        FORMS["izin-operasional-orsos"]["organisation_name"])
    expect(page.get_by_role("heading", name="Yang diperiksa")).to_be_visible()
    expect(page.locator("#yang-diperiksa + p, #yang-diperiksa ~ ul").first).to_be_visible()
    assert not visible_english(page)
    shots.shot(page, "verifikasi-sah")

    page.goto("/verifikasi/bukan-izin-yang-ada")
    expect(page.locator(".verdict-word")).to_have_text("TIDAK DITEMUKAN")
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")
    shots.shot(page, "verifikasi-tidak-ditemukan")


def test_revoked_permit_says_dicabut(browsers, shots, api, staff):
    journey = journey_at(api, staff, "printing", permit_type="sip")
    permit_id = journey.status()["permit_id"]
    staff["head"].post(f"/api/permits/{permit_id}/revoke", {"reason": "Pemegang izin tidak lagi berpraktik"})
    page = browsers.open()
    page.goto(f"/verifikasi/{permit_id}")
    expect(page.locator(".verdict-word")).to_have_text("DICABUT")
    expect(page.locator(".verdict")).to_contain_text("tidak berlaku lagi")
    assert page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")
    shots.shot(page, "verifikasi-dicabut")


# ----------------------------------------------------------------------------- 404 and favicon

def test_unknown_urls_answer_a_bahasa_404_and_the_favicon_is_served(browsers, shots, stack):
    page = browsers.open()
    for path in ("/tidak-ada", "/permohonan/a/b/c"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Halaman tidak ditemukan")
        expect(page.get_by_role("link", name=re.compile("Ajukan izin dan lihat standar"))).to_be_visible()
    shots.shot(page, "404")
    status, content_type, body = raw_get(stack.url + "/api/tidak-ada", accept="application/json")
    assert status == 404 and content_type.startswith("application/json")
    assert json.loads(body)["error"]["code"] == "not_found" and "Missing Authentication Token" not in body
    status, content_type, body = raw_get(stack.url + "/favicon.ico", accept="image/*")
    assert status == 200 and content_type == "image/svg+xml" and body.startswith("<svg")
    page.goto("/ajukan")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon and raw_get(stack.url + icon, accept="image/*")[0] == 200
    loaded = page.evaluate("""async (src) => { const img = new Image(); img.src = src; await img.decode();
                              return img.naturalWidth; }""", "/favicon.ico")
    assert loaded > 0


# ----------------------------------------------------------------------------- registration

def test_registration_reports_every_error_at_once(browsers, shots):
    page = browsers.open()
    page.goto("/daftar")
    email = f"ani-{uuid.uuid4().hex[:8]}@contoh.id"
    page.get_by_label("Nama lengkap").fill("Ani Lestari")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Nomor WhatsApp").fill("0812")  # too short
    page.get_by_label("NIK (Nomor Induk Kependudukan)").fill("1407")  # too short
    page.get_by_label("Kata sandi", exact=True).fill("pendek")  # too weak
    page.get_by_label("Ulangi kata sandi").fill("lain")  # not the same
    page.get_by_role("button", name="Daftar").click()
    for field in ("phone", "nik", "password", "password2"):
        expect(page.locator(f"#f-{field}-error")).to_be_visible()
    expect(page.locator(".error-summary li")).to_have_count(4)
    expect(page.get_by_label("Nama lengkap")).to_have_value("Ani Lestari")
    expect(page.get_by_label("Email")).to_have_value(email)
    expect(page.get_by_label("Nomor WhatsApp")).to_have_value("0812")
    expect(page.get_by_label("NIK (Nomor Induk Kependudukan)")).to_have_value("")  # personal data: typed again
    expect(page.get_by_label("Kata sandi", exact=True)).to_have_value("")
    expect(page.locator("#isi-ulang")).to_contain_text("NIK dan kata sandi perlu diketik ulang")
    assert "1407" not in page.content().split("<form", 1)[1]
    shots.shot(page, "daftar-semua-galat")

    page.get_by_label("Nama lengkap").fill("")
    page.get_by_label("Email").fill("bukan-email")
    page.get_by_role("button", name="Daftar").click()
    for field in ("name", "email", "phone", "nik", "password", "password2"):
        expect(page.locator(f"#f-{field}-error")).to_be_visible()


# ----------------------------------------------------------------------------- Bahasa only, every page

def _check_bahasa(page: Page, where: str, seen: dict[str, list[str]]) -> None:
    found = visible_english(page)
    if found:
        seen[where] = found


def test_every_page_is_bahasa_only(browsers, shots, stack, issued, more_work):
    assert {"Operational permit of a social organisation", "Sign", "Approve"} <= ENGLISH  # the list is complete
    english: dict[str, list[str]] = {}

    # the public: catalogue, tracking, account pages, 404, verification
    public = browsers.open()
    for path in ("/ajukan", "/lacak", "/daftar", "/masuk", "/aktivasi", "/lupa-sandi", "/atur-ulang-sandi",
                 "/tidak-ada", f"/verifikasi/{issued.status()['permit_id']}"):
        public.goto(path)
        _check_bahasa(public, path, english)
    public.goto("/ajukan")
    public.locator("details.standard summary").first.click()
    _check_bahasa(public, "/ajukan (standar dibuka)", english)
    shots.shot(public, "ajukan")

    # the applicant: list (with the holder of each application, drafts too), detail, survey, account, every form
    applicant = browsers.open()
    applicant.goto("/masuk")
    submit_login(applicant, issued.credentials["email"], issued.credentials["password"])
    applicant.wait_for_url(re.compile(r"/permohonan$"))
    holders = applicant.locator(".application-item .holder")
    expect(holders).to_have_count(2)
    expect(applicant.locator(".application-item", has_text="Perkumpulan Draf Sejahtera")).to_contain_text("draf")
    expect(applicant.locator(".application-item", has_text=FORMS["izin-operasional-orsos"]["organisation_name"])
           ).to_contain_text(issued.registration_number)
    _check_bahasa(applicant, "/permohonan", english)
    shots.shot(applicant, "permohonan-daftar")
    for path in (f"/permohonan/{issued.application_id}", f"/permohonan/{issued.application_id}/survei", "/akun"):
        applicant.goto(path)
        _check_bahasa(applicant, path, english)
    catalog = default_catalog()
    for permit_type in catalog.offered(OFFICE):
        applicant.goto(f"/ajukan/{permit_type.permit_type}")
        _check_bahasa(applicant, f"/ajukan/{permit_type.permit_type}", english)
        for form_field in permit_type.form_fields:  # listed answers (kecamatan, profesi, …) are a list to pick from
            control = applicant.locator(f"#f-{form_field.field}")
            tag = control.evaluate("el => el.tagName.toLowerCase()")
            if form_field.type == "enum":
                assert tag == "select", (permit_type.permit_type, form_field.field, tag)
                options = control.locator("option").all_inner_texts()
                assert options[1:] == list(form_field.options), (permit_type.permit_type, form_field.field)
            else:
                assert tag in ("input", "textarea"), (permit_type.permit_type, form_field.field, tag)
        if permit_type.permit_type == "sip":
            shots.shot(applicant, "ajukan-sip-formulir")

    # the officers: every page reachable from their dashboard, for each role
    officers = stack.officers()
    for role in ("back_office", "technical_team", "verifier", "approver", "head"):
        page = browsers.open(DESKTOP)
        login(page, officers[role]["email"], officers[role]["password"])
        _check_bahasa(page, f"{role} /petugas", english)
        links = page.eval_on_selector_all(
            "a[href^='/petugas']", "els => [...new Set(els.map(a => a.getAttribute('href')))]")
        for href in links[:25]:
            page.goto(href)
            _check_bahasa(page, f"{role} {href}", english)
    assert not english, f"English labels in the UI: {english}"


# ----------------------------------------------------------------------------- the receipt

def test_receipt_names_the_applicant_and_the_organisation_on_its_own_row(issued):
    assert issued.applicant
    link = issued.applicant.get(f"/api/applications/{issued.application_id}/files/receipt")
    text = " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(fetch(link["url"]))).pages)
    text = re.sub(r"\s+", " ", text)
    assert "Nama Pemohon : Pemohon Demo" in text, text  # the account's name (Journey registers "Pemohon Demo")
    assert f"Nama Organisasi : {FORMS['izin-operasional-orsos']['organisation_name']}" in text, text
