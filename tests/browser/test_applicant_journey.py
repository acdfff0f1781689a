"""The applicant's web journey on a 360-px phone, in Chromium: register, activate, apply, upload, submit,
revise, follow, download, survey, collect. Officers act through the JSON API (their pages come later)."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import FilePayload, Page, expect
from silastri.adapters.signing import DevPkiSigner, verify_signed_pdf
from silastri_local.client import ApiClient, ApiError
from silastri_local.journey import FORMS, Journey, sample_pdf

NOT_A_PDF = b"Ini hanya teks biasa, bukan PDF.\n" * 20


@dataclass
class Person:
    name: str
    email: str
    phone: str
    nik: str
    password: str

    @classmethod
    def new(cls) -> Person:
        digits = "".join(str(secrets.randbelow(10)) for _ in range(9))
        return cls(name="Siti Rahmawati", email=f"siti-{uuid.uuid4().hex[:10]}@contoh.id", phone="081" + digits,
                   nik="1407" + "".join(str(secrets.randbelow(10)) for _ in range(12)),
                   password="Rohil-" + secrets.token_hex(4) + "A1")

    @property
    def e164(self) -> str:
        return "+62" + self.phone[1:]


def pdf_file(name: str, data: bytes) -> FilePayload:
    return FilePayload(name=name, mimeType="application/pdf", buffer=data)


def flash(page: Page, text: str) -> None:
    """The one-off message shown after a form was accepted (303 → page with `?pesan=`)."""
    expect(page.locator(".notice-success")).to_contain_text(text)


def upload(page: Page, requirement_id: str, name: str, data: bytes, expect_state: str = "accepted") -> None:
    """Choose a file for one requirement and upload it; wait until the refreshed section shows its state."""
    row = page.locator(f"#syarat-{requirement_id}")
    before = row.locator(".history li").count()
    row.locator("input[type=file]").set_input_files(pdf_file(name, data))
    row.locator("button[type=submit]").click()
    try:
        expect(page.locator(f"#syarat-{requirement_id} .history li")).to_have_count(before + 1)
    except AssertionError:
        print("upload state:", page.url, row.locator(".upload-message").all_inner_texts(),
              page.locator("#status-unggah").inner_text())
        raise
    expect(page.locator(f"#syarat-{requirement_id} .history li").first).to_have_class(f"doc-{expect_state}")


def register_and_activate(page: Page, screens, person: Person, api: ApiClient) -> None:
    page.goto("/daftar")
    screens.shot(page, "daftar")
    page.get_by_label("Nama lengkap").fill(person.name)
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Nomor WhatsApp").fill(person.phone)
    page.get_by_label("NIK (Nomor Induk Kependudukan)").fill("12345")  # too short: refused next to the field
    page.get_by_label("Kata sandi", exact=True).fill(person.password)
    page.get_by_label("Ulangi kata sandi").fill(person.password)
    page.get_by_role("button", name="Daftar").click()
    expect(page.locator("#f-nik-error")).to_contain_text("NIK harus 16 angka")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.get_by_label("Nama lengkap")).to_have_value(person.name)  # kept, the password is not
    screens.shot(page, "daftar-galat")
    page.get_by_label("NIK (Nomor Induk Kependudukan)").fill(person.nik)
    page.get_by_label("Kata sandi", exact=True).fill(person.password)
    page.get_by_label("Ulangi kata sandi").fill(person.password)
    page.get_by_role("button", name="Daftar").click()
    page.wait_for_url(re.compile(r"/aktivasi\?"))
    expect(page.get_by_role("status")).to_contain_text("Kode aktivasi 6 angka telah dikirim")
    expect(page.get_by_label("Email")).to_have_value(person.email)
    code = Journey(api, {}, "sip").latest_code(person.e164)
    page.get_by_label("Kode aktivasi").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name="Aktifkan akun").click()
    expect(page.locator("#f-code-error")).to_contain_text("kode salah")
    page.get_by_label("Kode aktivasi").fill(code)
    screens.shot(page, "aktivasi")
    page.get_by_role("button", name="Aktifkan akun").click()
    page.wait_for_url(re.compile(r"/masuk\?"))


def login_with_keyboard(page: Page, screens, person: Person) -> None:
    """The login form works from the keyboard alone: skip link, tab order, Enter submits."""
    expect(page.get_by_role("status")).to_contain_text("sudah aktif")
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.keyboard.press("Enter")
    page.get_by_label("Email").focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(person.email)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Kata sandi")).to_be_focused()
    page.keyboard.type(person.password)
    screens.shot(page, "masuk")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/permohonan$"))


def apply_for(page: Page, permit_type: str, button: str) -> str:
    page.goto("/ajukan")
    page.get_by_role("link", name=button, exact=True).click()
    page.wait_for_url(f"**/ajukan/{permit_type}")
    for field, value in FORMS[permit_type].items():
        control = page.locator(f"#f-{field}")
        if control.evaluate("element => element.tagName") == "SELECT":  # enum fields (kecamatan, profession)
            control.select_option(value)
        else:
            control.fill(value)
    page.get_by_role("button", name="Simpan dan lanjut unggah dokumen").click()
    flash(page, "Draf permohonan dibuat")
    assert "pesan=" not in page.url  # the one-off message is not shown again on reload
    return page.url.split("/permohonan/")[1].split("?")[0]


def test_applicant_journey_on_a_phone(phone: Page, stack, api: ApiClient, staff, screens):
    page, person, started = phone, Person.new(), time.perf_counter()
    register_and_activate(page, screens, person, api)
    login_with_keyboard(page, screens, person)
    expect(page.get_by_text("Anda belum memiliki permohonan.")).to_be_visible()
    applicant = api.login(person.email, person.password)

    # the catalog and its service standard (SIP skips the technical recommendation)
    page.goto("/ajukan")
    expect(page.get_by_role("heading", name=re.compile("Izin Operasional Organisasi Sosial"))).to_be_visible()
    page.locator("details.standard").nth(1).locator("summary").click()
    expect(page.locator("details.standard").nth(1)).to_contain_text("Tidak diperlukan untuk izin ini")
    expect(page.get_by_text("Gratis (Rp0)").first).to_be_visible()
    screens.shot(page, "ajukan-katalog")

    # GIVEN an orsos application: an empty form is refused field by field, then a draft with one document
    page.goto("/ajukan/izin-operasional-orsos")
    page.get_by_role("button", name="Simpan dan lanjut unggah dokumen").click()
    expect(page.locator(".field-error")).to_have_count(6)
    expect(page.locator("#f-district-error")).to_contain_text("wajib diisi")
    screens.shot(page, "ajukan-orsos-galat")
    orsos_id = apply_for(page, "izin-operasional-orsos", "Ajukan Izin Operasional Organisasi Sosial")
    upload(page, "surat-permohonan", "surat-permohonan.pdf", sample_pdf("Surat permohonan"))
    expect(page.locator("#status-unggah")).to_contain_text("diterima")

    # WHEN the SIP is applied for: a file that is not a PDF is rejected with its reason in Bahasa
    sip_id = apply_for(page, "sip", "Ajukan Surat Izin Praktik")
    screens.shot(page, "permohonan-draf")
    page.evaluate("""() => { window.progressSeen = [];
      new MutationObserver(changes => changes.forEach(c => window.progressSeen.push(c.target.value)))
        .observe(document.body, {subtree: true, attributes: true, attributeFilter: ["value"]}); }""")
    upload(page, "str", "str-scan.pdf", NOT_A_PDF, expect_state="rejected")
    assert 100 in page.evaluate("window.progressSeen")  # the progress bar followed the upload
    expect(page.locator("#status-unggah")).to_contain_text("ditolak")
    expect(page.locator("#syarat-str .doc-reason")).to_contain_text("Berkas ini bukan PDF")
    screens.shot(page, "unggah-ditolak")
    page.get_by_role("button", name="Kirim permohonan").click()  # documents missing: refused on the page
    expect(page.locator("#galat-dokumen")).to_contain_text("Permohonan belum dapat dikirim")
    for requirement_id in ["surat-permohonan", "str", "ijazah", "ktp", "rekomendasi-organisasi-profesi",
                           "surat-keterangan-tempat-praktik"]:
        upload(page, requirement_id, f"{requirement_id}.pdf", sample_pdf(requirement_id))
    expect(page.locator("#berkas progress")).to_have_count(6)
    expect(page.get_by_text("Semua dokumen persyaratan sudah diterima.")).to_be_visible()
    screens.shot(page, "unggah-lengkap")

    # THEN a double submission makes one application with one registration number
    submit_form = page.locator("form[action$='/kirim']")
    key, csrf = submit_form.locator("input[name=kunci]").input_value(), submit_form.locator("input[name=csrf]").input_value()
    submit_form.get_by_role("button").dblclick()
    flash(page, "Permohonan telah dikirim")
    again = page.request.post(f"/permohonan/{sip_id}/kirim", form={"csrf": csrf, "kunci": key}, max_redirects=0)
    assert again.status == 303 and again.headers["location"].endswith("?pesan=terkirim")
    registration = page.locator("#nomor-registrasi").inner_text()
    assert re.fullmatch(r"[A-Z]+-\d{4}-\d{6}", registration)
    mine = applicant.get("/api/applications")["applications"]
    assert sorted(a["status"] for a in mine) == ["draft", "in_progress"]
    assert [a["registration_number"] for a in mine if a["application_id"] == sip_id] == [registration]
    screens.shot(page, "permohonan-terkirim")

    # the applicant's list and the public tracking (status only)
    page.get_by_role("link", name="Permohonan saya").first.click()
    expect(page.locator(".application-item")).to_have_count(2)
    expect(page.get_by_text(registration)).to_be_visible()
    screens.shot(page, "permohonan-saya")
    track(page, registration, person.phone)
    expect(page.locator("#hasil-lacak")).to_contain_text("Surat Izin Praktik")
    expect(page.locator("#hasil-lacak")).not_to_contain_text(person.name)
    screens.shot(page, "lacak")

    # a revision round: the back office asks for a better STR scan
    journey = Journey(api, staff, "sip", applicant=applicant, application_id=sip_id, registration_number=registration)
    journey.decide("back_office", "completeness_check", "incomplete", "STR tidak terbaca",
                   {"document_notes": {"str": "Pindai ulang STR dengan jelas"}})
    journey.wait_status(lambda s: s["status"] == "awaiting_revision", "revision request")
    page.goto(f"/permohonan/{sip_id}")
    expect(page.locator("#syarat-str .officer-note")).to_contain_text("Pindai ulang STR dengan jelas")
    expect(page.get_by_role("heading", name="Berkas perlu diperbaiki")).to_be_visible()
    expect(page.locator("#catatan")).to_be_visible()
    expect(page.get_by_text(re.compile(r"paling lambat \d{1,2} \w+ \d{4} \d{2}:\d{2} WIB"))).to_be_visible()
    screens.shot(page, "perbaikan")
    page.get_by_role("button", name="Kirim ulang berkas").click()  # not replaced yet: refused
    expect(page.locator("#galat-dokumen")).to_contain_text("Berkas belum dapat dikirim ulang")
    upload(page, "str", "str-pindai-ulang.pdf", sample_pdf("STR pindai ulang"))
    expect(page.locator("#syarat-str p.doc-accepted")).to_contain_text("versi 2")
    page.get_by_role("button", name="Kirim ulang berkas").click()
    flash(page, "Berkas perbaikan telah dikirim ulang")
    journey.wait_status(lambda s: s["status"] == "in_progress", "back in progress")
    page.reload()
    expect(page.locator("#status-permohonan")).to_have_text("Sedang diproses")

    # officers through to the signature; the receipt appears once completeness is confirmed
    journey.decide("back_office", "completeness_check", "complete", "Berkas lengkap")
    journey.wait_status(lambda s: s["downloads"]["receipt"], "receipt")
    page.reload()
    expect(page.get_by_role("link", name=re.compile("Unduh Tanda Terima"))).to_be_visible()
    journey.decide("verifier", "verification", "verified", "Berkas terverifikasi")
    journey.decide("approver", "approval", "approved", "Disetujui")
    row = journey.task("back_office", "numbering")
    number = staff["back_office"].get(f"/api/tasks/{row['task_id']}")["proposed_number"]
    staff["back_office"].post(f"/api/tasks/{row['task_id']}/decision", {"outcome": "confirmed", "details": {"number": number}})
    journey.decide("head", "signing", "signed")
    journey.wait_status(lambda s: s["downloads"]["permit"], "signed permit")
    page.reload()
    expect(page.locator("#status-permohonan")).to_contain_text("siap diambil")
    expect(page.locator(".qr-image svg")).to_be_visible()
    expect(page.get_by_text(number)).to_be_visible()
    screens.shot(page, "izin-ditandatangani")
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("Unduh Surat Izin")).click()
    permit = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename == f"surat-izin-{registration}.pdf"
    with ThreadPoolExecutor(1) as pool:  # pyhanko runs its own event loop; Playwright's owns this thread
        report = pool.submit(verify_signed_pdf, permit, DevPkiSigner(stack.data_dir / "pki").trust_roots_pem()).result()
    assert report.valid, report.reasons
    journey.decide("back_office", "printing", "printed", details={"copies": 1})

    # the SKM survey: every element must be answered; a second survey is refused
    page.get_by_role("link", name="Isi survei").click()
    for element_id in ["persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan"]:
        page.locator(f"#f-{element_id}").get_by_text(re.compile("^4 ")).click()
    page.get_by_role("button", name="Kirim survei").click()
    expect(page.locator("#f-sarana-error")).to_have_text(re.compile("Pilih salah satu jawaban"))
    expect(page.locator("#f-persyaratan input[value='4']")).to_be_checked()  # answers are kept
    screens.shot(page, "survei-galat")
    page.locator("#skm-sarana-1").focus()  # a radio group from the keyboard: arrows move the choice
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#skm-sarana-3")).to_be_checked()
    page.get_by_label("Saran dan masukan").fill("Pelayanan cepat dan ramah.")
    page.get_by_role("button", name="Kirim survei").click()
    flash(page, "Survei Kepuasan Masyarakat telah tercatat")
    expect(page.get_by_text("Anda sudah mengisi survei")).to_be_visible()
    page.goto(f"/permohonan/{sip_id}/survei")
    expect(page.get_by_text("sudah pernah diisi")).to_be_visible()
    screens.shot(page, "survei-sudah-diisi")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    second = page.request.post(f"/permohonan/{sip_id}/survei", form={"csrf": token, **dict.fromkeys(
        ["persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana"], "1")})
    assert second.status == 409 and "sudah pernah diisi" in second.text()

    # pickup: the back office hands the permit over; the page shows the application completed
    journey.decide("back_office", "pickup", "handed_over")
    journey.wait_status(lambda s: s["status"] == "completed", "completion")
    page.goto(f"/permohonan/{sip_id}")
    expect(page.locator("#status-permohonan")).to_have_text("Selesai — izin telah diambil")
    expect(page.locator(".timeline .step-done")).to_have_count(10)  # nine SOP steps (no technical review) + revision
    expect(page.locator(".timeline .step:not(.step-done)")).to_have_count(0)
    expect(page.locator(".timeline")).not_to_contain_text("Rekomendasi teknis")
    screens.shot(page, "selesai")

    # the orsos draft is withdrawn
    page.goto(f"/permohonan/{orsos_id}")
    page.get_by_text("Saya ingin menarik").click()
    page.get_by_label("Alasan penarikan").fill("Salah memilih jenis izin")
    page.get_by_role("button", name="Tarik permohonan").click()
    flash(page, "Permohonan telah ditarik")
    expect(page.locator("#status-permohonan")).to_have_text("Ditarik oleh pemohon")
    print(f"\nbrowser journey: {time.perf_counter() - started:.1f} s")


def track(page: Page, registration: str, phone: str) -> None:
    page.goto("/lacak")
    page.get_by_label("Nomor registrasi").fill(registration)
    page.get_by_label("Nomor WhatsApp pemohon").fill(phone)
    page.get_by_role("button", name="Lacak").click()


def test_public_tracking_answers_one_generic_message(phone: Page, screens):
    page = phone
    page.goto("/lacak")
    page.get_by_role("button", name="Lacak").click()
    expect(page.locator("#f-registration_number-error")).to_contain_text("wajib diisi")
    track(page, "REG-2026-999999", "081234567890")
    expect(page.locator(".error-summary")).to_contain_text("Permohonan tidak ditemukan")
    screens.shot(page, "lacak-tidak-ditemukan")


def test_password_reset_through_whatsapp_code(phone: Page, api: ApiClient, staff, screens):
    page, journey = phone, Journey(api, staff, "sip")
    journey.register()
    email, new_password = journey.credentials["email"], "Baru-" + secrets.token_hex(4) + "Z9"
    page.goto("/masuk")
    page.get_by_role("link", name="Lupa kata sandi?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Kirim kode").click()
    page.wait_for_url(re.compile(r"/atur-ulang-sandi\?"))
    page.get_by_label("Kode dari WhatsApp").fill(journey.latest_code(journey.credentials["phone"]))
    page.get_by_label("Kata sandi baru", exact=True).fill(new_password)
    page.get_by_label("Ulangi kata sandi baru").fill(new_password + "x")
    page.get_by_role("button", name="Simpan kata sandi baru").click()
    expect(page.locator("#f-new_password2-error")).to_contain_text("tidak sama")
    screens.shot(page, "atur-ulang-sandi-galat")
    page.get_by_label("Kata sandi baru", exact=True).fill(new_password)
    page.get_by_label("Ulangi kata sandi baru").fill(new_password)
    page.get_by_role("button", name="Simpan kata sandi baru").click()
    page.wait_for_url(re.compile(r"/masuk\?"))
    page.get_by_label("Kata sandi").fill(new_password)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/permohonan$"))
    with pytest.raises(ApiError):
        api.login(email, journey.credentials["password"])


def test_pages_guard_sessions_ownership_and_csrf(phone: Page, stack, api: ApiClient, staff):
    page = phone
    page.goto(f"/permohonan/{uuid.uuid4()}")
    assert "/masuk?lanjut=" in page.url  # login first, then back where the applicant was going
    owner = Journey(api, staff, "sip")
    client = owner.register()
    owner.application_id = client.post("/api/applications", {"permit_type": "sip", "form": FORMS["sip"]})[
        "application_id"]
    stranger = Journey(api, staff, "sip")
    stranger.register()
    page.get_by_label("Email").fill(stranger.credentials["email"])
    page.get_by_label("Kata sandi").fill(stranger.credentials["password"])
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/permohonan/"))
    assert page.get_by_role("heading", level=1).inner_text() == "Tidak ditemukan"
    response = page.goto(f"/permohonan/{owner.application_id}")  # someone else's application: no hint it exists
    assert response and response.status == 404
    forged = page.request.post(f"/permohonan/{owner.application_id}/tarik", form={"csrf": "x" * 64})
    assert forged.status == 403
    assert owner.status()["status"] == "draft"
    css = page.request.get("/static/silastri.css")
    assert css.headers["content-type"].startswith("text/css") and "max-age" in css.headers["cache-control"]
    assert page.request.get("/static/..%2Fpages.py").status == 404
    page.goto("/permohonan")
    page.get_by_role("button", name="Keluar").click()
    flash(page, "Anda telah keluar")
    page.goto("/permohonan")
    assert "/masuk?lanjut=" in page.url


def test_without_javascript_the_page_still_shows_everything_but_the_upload(browser, stack, api: ApiClient, staff):
    journey = Journey(api, staff, "sip")
    journey.register()
    assert journey.applicant and journey.applicant.token
    journey.application_id = journey.applicant.post("/api/applications", {"permit_type": "sip", "form": FORMS["sip"]})[
        "application_id"]
    context = browser.new_context(base_url=stack.url, viewport={"width": 360, "height": 800}, java_script_enabled=False)
    try:
        context.add_cookies([{"name": "silastri_session", "value": journey.applicant.token, "url": stack.url}])
        page = context.new_page()
        page.goto(f"/permohonan/{journey.application_id}")
        expect(page.get_by_text("Aktifkan JavaScript pada peramban Anda untuk mengunggah dokumen.")).to_be_visible()
        expect(page.locator("form[data-upload]").first).to_be_hidden()
        expect(page.get_by_text("Dokter umum")).to_be_visible()
        page.get_by_role("button", name="Kirim permohonan").click()  # a plain form POST still works
        expect(page.locator("#galat-dokumen")).to_be_visible()
        assert journey.status()["status"] == "draft"
    finally:
        context.close()
