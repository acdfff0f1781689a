"""The officers' way in, in Chromium: signing in at /masuk lands in /petugas (the officer's own menu, never the
applicant's); each officer role finds an application of its office by a partial registration number and sees
what it decided before; the banner after a return says where the file went; the counter right after a
handover; batch signing shows its progress (and still works without JavaScript)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from silastri_local.client import ApiClient
from silastri_local.journey import Journey, journey_at, officer_clients, sample_pdf

from .conftest import _PAGE_CHECKS, ACTION_TIMEOUT_MS, PHONE, SCREENSHOTS, Watch
from .officer_fixtures import DESKTOP, OfficerBrowser, notice, open_task_from_queue, submit_login

pytestmark = pytest.mark.browser

ORSOS, SIP = "izin-operasional-orsos", "sip"
ROLE_NAMES = {"back_office": "Back Office", "technical_team": "Tim Teknis OPD", "verifier": "Penata Perizinan Ahli Muda",
              "approver": "Penata Perizinan Ahli Madya", "head": "Kepala Dinas"}


class WayInScreens:
    """officer-masuk-NN-name.png full-page screenshots (beside the workspace's officer-NN-*), each after the shared
    page checks (lang, one h1, no sideways scrolling at 360 px, every control labelled)."""

    def __init__(self) -> None:
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob("officer-masuk-*.png"):
            old.unlink()

    def shot(self, page: Page, name: str) -> Path:
        problems = page.evaluate(_PAGE_CHECKS)
        assert not problems, f"{name}: {problems}"
        self.count += 1
        path = SCREENSHOTS / f"officer-masuk-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture(scope="module")
def shots() -> WayInScreens:
    return WayInScreens()


@pytest.fixture
def officers(browser, stack) -> Iterator[OfficerBrowser]:
    opened = OfficerBrowser(browser, stack)
    yield opened
    opened.close()


def sign_in_at_masuk(page: Page, creds: dict[str, str]) -> None:
    """The only login link: /masuk itself (no `lanjut` from an officer page)."""
    page.goto("/masuk")
    submit_login(page, creds["email"], creds["password"])


def search(page: Page, typed: str) -> None:
    page.goto("/petugas/cari")
    page.get_by_label("Nomor registrasi").fill(typed)
    page.get_by_role("button", name="Cari", exact=True).click()
    page.wait_for_url(re.compile(r"/petugas/cari\?nomor="))


def test_officers_sign_in_at_masuk_and_land_in_their_workspace(officers, stack, shots):
    creds = stack.officers()
    page = officers.open(None)
    page.goto("/masuk")
    expect(page.locator("#info-petugas")).to_contain_text("/petugas")
    shots.shot(page, "halaman-masuk")
    sign_in_at_masuk(page, creds["back_office"])
    page.wait_for_url(re.compile(r"/petugas$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Dasbor tugas")
    menu = page.get_by_role("navigation", name="Menu utama")
    for link in ("Dasbor tugas", "Cari permohonan", "Riwayat keputusan", "Loket pengambilan"):
        expect(menu.get_by_role("link", name=link)).to_be_visible()
    for applicant_link in ("Permohonan saya", "Ajukan izin", "Akun saya", "Daftar"):
        expect(menu.get_by_role("link", name=applicant_link)).to_have_count(0)
    shots.shot(page, "dasbor-setelah-masuk")

    # an applicant-only page sends the officer to the workspace, saying why; so does the login page itself
    page.goto("/permohonan")
    page.wait_for_url(re.compile(r"/petugas\?info=khusus-pemohon$"))
    expect(page.locator("#pemberitahuan")).to_contain_text("khusus untuk pemohon")
    shots.shot(page, "halaman-pemohon-dialihkan")
    page.goto("/akun")
    page.wait_for_url(re.compile(r"/petugas\?info=khusus-pemohon$"))
    page.goto("/masuk")
    page.wait_for_url(re.compile(r"/petugas$"))

    # every other role lands on its own dashboard from /masuk as well
    for role in ("technical_team", "verifier", "approver", "head"):
        other = officers.open(None)
        sign_in_at_masuk(other, creds[role])
        other.wait_for_url(re.compile(r"/petugas$"))
        expect(other.locator(".role-badge")).to_have_text([ROLE_NAMES[role]])
        expect(other.get_by_role("navigation", name="Menu utama").get_by_role("link", name="Permohonan saya")
               ).to_have_count(0)


def test_each_role_finds_an_application_by_partial_number_and_sees_its_decisions(
        officers, stack, api: ApiClient, staff, shots):
    a = Journey(api, staff, ORSOS)
    a.apply()
    a.submit()
    elsewhere = Journey(api, officer_clients(api, stack.officers(), "bengkalis"), SIP, office_id="bengkalis")
    elsewhere.apply()
    elsewhere.submit()
    not_sent = Journey(api, staff, ORSOS)   # still at the completeness check: not sent to the technical team
    not_sent.apply()
    not_sent.submit()

    # the completeness check returns the file: the banner says it went back to the applicant
    bo = officers.open("back_office", viewport=DESKTOP)
    a.task("back_office", "completeness_check")
    open_task_from_queue(bo, a.registration_number, "Pemeriksaan kelengkapan berkas")
    form = bo.locator("#keputusan-incomplete")
    form.get_by_label("KTP ketua, sekretaris dan bendahara").fill("KTP bendahara tidak terbaca")
    form.locator("#f-incomplete-note").fill("Mohon unggah ulang KTP pengurus")
    form.get_by_role("button").click()
    notice(bo, "dikembalikan kepada pemohon")
    expect(bo.locator("#pemberitahuan")).not_to_contain_text("diteruskan")
    shots.shot(bo, "banner-berkas-dikembalikan")

    # the applicant fixes it; the officers move it on (JSON API) up to the counter, the SKM filled
    a.wait_status(lambda s: s["status"] == "awaiting_revision", "revision requested")
    a.upload("ktp-pengurus", sample_pdf("KTP pengurus (pindaian ulang)"), "ktp-ulang.pdf")
    assert a.applicant
    a.applicant.post(f"/api/applications/{a.application_id}/resubmit")
    a.advance(until="pickup")
    sequence = str(int(a.registration_number.rsplit("-", 1)[1]))  # "000007" typed as "7"

    decided = {"back_office": ("Pemeriksaan kelengkapan berkas", "Berkas belum lengkap — kembalikan ke pemohon"),
               "technical_team": ("Rekomendasi teknis", "Direkomendasikan"),
               "verifier": ("Verifikasi berkas", "Terverifikasi — teruskan ke Ahli Madya"),
               "approver": ("Persetujuan izin", "Setujui"),
               "head": ("Penandatanganan elektronik (TTE)", "Tandatangani (TTE)")}
    for role, (step_title, outcome) in decided.items():
        page = bo if role == "back_office" else officers.open(role)
        search(page, sequence if role != "verifier" else sequence.zfill(6))
        result = page.locator(".search-results > li")
        expect(result).to_have_count(1)
        expect(result.locator("h2")).to_have_text(a.registration_number)
        expect(result).to_have_attribute("data-application", a.application_id)
        expect(result.locator(".search-where")).to_contain_text("Pengambilan izin")
        task_link = result.locator(".search-tasks a").filter(has_text=step_title).first
        expect(task_link).to_be_visible()
        if role in ("verifier", "head"):
            shots.shot(page, f"cari-{role}")
        task_link.click()
        page.wait_for_url(re.compile(r"/petugas/tugas/[0-9a-f]+$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(step_title)
        expect(page.locator("#nomor-registrasi")).to_have_text(a.registration_number)

        page.goto("/petugas/riwayat")
        entry = page.locator(".history-item").filter(has_text=a.registration_number).filter(has_text=outcome)
        expect(entry.first).to_be_visible()
        expect(entry.first.locator(".history-step")).to_have_text(step_title)
        expect(entry.first.locator(".history-when")).to_contain_text("WIB")
        if role in ("back_office", "technical_team"):
            shots.shot(page, f"riwayat-{role}")

    # the sector agency's technical team finds only the files sent to it for a technical recommendation
    technical = officers.open("technical_team")
    search(technical, not_sent.registration_number)
    expect(technical.locator(".search-results > li")).to_have_count(0)
    expect(technical.locator("#f-nomor-error")).to_contain_text("tidak ditemukan")
    search(bo, not_sent.registration_number)
    expect(bo.locator(".search-results > li")).to_have_attribute("data-application", not_sent.application_id)

    # per office: another office's application is never found (registration numbers repeat across offices)
    search(bo, elsewhere.registration_number)
    for found in bo.locator(".search-results > li").all():
        expect(found).not_to_have_attribute("data-application", elsewhere.application_id)
    bengkalis = officers.open(None)
    sign_in_at_masuk(bengkalis, stack.officers()["bengkalis:back_office"])
    bengkalis.wait_for_url(re.compile(r"/petugas$"))
    search(bengkalis, str(int(elsewhere.registration_number.rsplit("-", 1)[1])))
    expect(bengkalis.locator(".search-results > li")).to_have_count(1)
    expect(bengkalis.locator(".search-results > li")).to_have_attribute("data-application", elsewhere.application_id)
    search(bengkalis, a.registration_number)
    for found in bengkalis.locator(".search-results > li").all():
        expect(found).not_to_have_attribute("data-application", a.application_id)
    search(bo, "ABC-1")
    expect(bo.locator("#f-nomor-error")).to_contain_text("berawalan REG-")

    # the counter takes the partial number; right after the handover it says so, and nothing else
    bo.goto("/petugas/loket")
    bo.get_by_label("Nomor registrasi atau hasil pindaian kode QR").fill(sequence)
    bo.keyboard.press("Enter")
    expect(bo.locator("#hasil-loket")).to_have_text(a.registration_number)
    expect(bo.locator("#status-skm")).to_have_text("Sudah diisi")
    bo.get_by_role("button", name="Serahkan izin").click()
    notice(bo, "Izin telah diserahkan")
    expect(bo.locator("#sudah-diserahkan")).to_be_visible()
    expect(bo.locator("#belum-siap")).to_have_count(0)
    expect(bo.locator("#hasil")).not_to_contain_text("belum siap")
    shots.shot(bo, "loket-setelah-diserahkan")
    a.wait_status(lambda s: s["status"] == "completed", "handover")


_RECORD_PROGRESS = """() => {
  window.__progress = [];
  new MutationObserver(() => {
    const status = document.getElementById("progres-ttd");
    if (status && window.__progress[window.__progress.length - 1] !== status.textContent) {
      window.__progress.push(status.textContent);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_batch_signing_shows_its_progress_and_works_without_javascript(officers, browser, stack, api, staff, shots):
    batch = [journey_at(api, staff, "signing", SIP) for _ in range(3)]
    for journey in batch:
        journey.task("head", "signing")

    head = officers.open("head", viewport=DESKTOP)
    head.goto("/petugas/tanda-tangan")
    head.evaluate(_RECORD_PROGRESS)
    for journey in batch[:2]:
        head.get_by_label(re.compile(journey.registration_number)).check()
    head.get_by_role("button", name="Tandatangani izin terpilih").click()
    expect(head.locator("#progres-ttd")).to_have_text("Selesai: 2 dari 2 izin ditandatangani.")
    expect(head.locator("#hasil li.result-ok")).to_have_count(2)
    progress = head.evaluate("() => window.__progress")
    assert any(text.startswith("Menandatangani 1 dari 2…") for text in progress), progress
    assert any(text.startswith("Menandatangani 2 dari 2…") for text in progress), progress
    for journey in batch[:2]:
        expect(head.locator(".check").filter(has_text=journey.registration_number)).to_have_count(0)
        expect(head.locator("#hasil")).to_contain_text(journey.registration_number)
    shots.shot(head, "tanda-tangan-progres")

    # without JavaScript the form posts the batch and the server answers with the same results
    context = browser.new_context(base_url=stack.url, viewport=PHONE, locale="id-ID", timezone_id="Asia/Jakarta",
                                  java_script_enabled=False)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    plain = context.new_page()
    watch = Watch(stack.url)
    plain.on("request", watch.request)
    try:
        sign_in_at_masuk(plain, stack.officers()["head"])
        plain.wait_for_url(re.compile(r"/petugas$"))
        plain.goto("/petugas/tanda-tangan")
        plain.get_by_label(re.compile(batch[2].registration_number)).check()
        plain.get_by_role("button", name="Tandatangani izin terpilih").click()
        expect(plain.locator("#hasil li.result-ok")).to_have_count(1)
        expect(plain.locator("#hasil")).to_contain_text(batch[2].registration_number)
        shots.shot(plain, "tanda-tangan-tanpa-js")
    finally:
        context.close()
    watch.check()
    for journey in batch:
        journey.wait_status(lambda s: s["status"] in ("issued", "completed") or bool(s.get("permit_number")), "signed")
