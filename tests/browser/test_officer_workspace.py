"""The officers' workspace in Chromium: each role moves an application from the completeness check to the
handover through its own pages (the applicant acts through the JSON API); a decision is recorded once;
task links sent by WhatsApp/e-mail are safe to open by link-preview bots; applicants never reach it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from silastri_local.client import ApiClient, wait_for
from silastri_local.journey import SKM_ELEMENTS, Journey, sample_pdf

from .conftest import SCREENSHOTS
from .officer_fixtures import (
    DESKTOP,
    PREVIEW_AGENTS,
    OfficerBrowser,
    OfficerScreens,
    login,
    notice,
    open_task_from_queue,
    outbox_task_link,
    plain_get,
    signed_link,
    submit_login,
    task_item,
    timeline_length,
)

pytestmark = pytest.mark.browser

ORSOS, SIP = "izin-operasional-orsos", "sip"
DECIDED = "Keputusan Anda telah tercatat"


@pytest.fixture(scope="module")
def shots() -> OfficerScreens:
    return OfficerScreens(SCREENSHOTS)


@pytest.fixture
def officers(browser, stack) -> Iterator[OfficerBrowser]:
    opened = OfficerBrowser(browser, stack)
    yield opened
    opened.close()


def pdf_behind(page: Page, href: str) -> bytes:
    """Follow a page link to its short-lived storage URL with the page's session; the PDF's bytes."""
    response = page.request.get(href)
    assert response.ok, f"{href}: HTTP {response.status}"
    body = response.body()
    assert body.startswith(b"%PDF"), href
    return body


def fill_survey(journey: Journey) -> None:
    assert journey.applicant
    journey.applicant.post(f"/api/applications/{journey.application_id}/survey",
                           {"scores": dict.fromkeys(SKM_ELEMENTS, 4), "comment": "Petugas ramah"})


def to_signing(journey: Journey) -> None:
    """An application moved by the officers' JSON API up to the head's signature."""
    journey.decide("back_office", "completeness_check", "complete")
    if journey.permit_type == ORSOS:
        journey.decide("technical_team", "technical_review", "recommend", "Sesuai")
    journey.decide("verifier", "verification", "verified")
    journey.decide("approver", "approval", "approved")
    row = journey.task("back_office", "numbering")
    number = journey.officers["back_office"].get(f"/api/tasks/{row['task_id']}")["proposed_number"]
    journey.officers["back_office"].post(f"/api/tasks/{row['task_id']}/decision",
                                         {"outcome": "confirmed", "details": {"number": number}})
    journey.task("head", "signing")


def test_each_role_moves_an_application_through_its_pages(officers, stack, api: ApiClient, staff, shots):
    started = time.perf_counter()
    a = Journey(api, staff, ORSOS)  # driven through the pages
    a.apply()
    a.submit()
    b = Journey(api, staff, ORSOS)  # same permit type: competes for the next permit number
    b.apply()
    b.submit()

    # SOP 2 — the back office on a phone: the queue, the task page, a return with per-document notes
    bo = officers.open("back_office")
    expect(bo.locator(".role-badge")).to_have_text(["Back Office"])
    a.task("back_office", "completeness_check")
    bo.reload()
    row = bo.locator("li.task").filter(has_text=a.registration_number)
    expect(row).to_contain_text("Pemeriksaan kelengkapan berkas")
    expect(row).to_contain_text("standar 15 menit")
    shots.shot(bo, "dasbor-back-office")
    open_task_from_queue(bo, a.registration_number, "Pemeriksaan kelengkapan berkas")
    expect(bo.locator("#dok-ktp-pengurus")).to_contain_text("versi 1")
    expect(bo.locator("#jejak-audit")).to_contain_text("Pengajuan permohonan: Permohonan dikirim")
    shots.shot(bo, "tugas-kelengkapan")
    bo.locator("#keputusan-incomplete").get_by_role("button").click()  # a return without its note is refused
    expect(bo.locator("#f-incomplete-note-error")).to_contain_text("Catatan wajib diisi")
    expect(bo.locator(".error-summary")).to_be_focused()
    shots.shot(bo, "tugas-kelengkapan-galat")
    form = bo.locator("#keputusan-incomplete")
    form.get_by_label("KTP ketua, sekretaris dan bendahara").fill("KTP bendahara tidak terbaca")
    form.locator("#f-incomplete-note").fill("Mohon unggah ulang KTP pengurus")
    form.get_by_role("button").click()
    notice(bo, DECIDED)
    expect(bo.locator("#status-tugas")).to_contain_text("Berkas belum lengkap")
    a.wait_status(lambda s: s["status"] == "awaiting_revision", "revision requested")
    assert a.status()["revision_notes"] == {"ktp-pengurus": "KTP bendahara tidak terbaca"}
    a.upload("ktp-pengurus", sample_pdf("KTP pengurus (pindaian ulang)"), "ktp-ulang.pdf")
    assert a.applicant
    a.applicant.post(f"/api/applications/{a.application_id}/resubmit")
    a.task("back_office", "completeness_check")
    open_task_from_queue(bo, a.registration_number, "Pemeriksaan kelengkapan berkas")
    expect(bo.locator("#dok-ktp-pengurus")).to_contain_text("versi 2")
    expect(bo.locator("#dok-ktp-pengurus .officer-note")).to_contain_text("KTP bendahara tidak terbaca")
    expect(bo.locator("#catatan").locator("..")).to_contain_text("Mohon unggah ulang KTP pengurus")
    bo.locator("#keputusan-complete").get_by_role("button").click()
    notice(bo, DECIDED)
    # the second application goes ahead through the API, up to numbering
    b.decide("back_office", "completeness_check", "complete")
    b.decide("technical_team", "technical_review", "recommend", "Sesuai")
    b.decide("verifier", "verification", "verified")
    b.decide("approver", "approval", "approved")

    # SOP 4 — the technical team: visit date and findings, then the generated Rekomendasi Teknis
    tt = officers.open("technical_team")
    a.task("technical_team", "technical_review")
    open_task_from_queue(tt, a.registration_number, "Rekomendasi teknis")
    expect(tt.locator("#catatan").locator("..")).to_contain_text("Berkas lengkap — terbitkan tanda terima")
    form = tt.locator("#keputusan-recommend")
    form.get_by_label("Tanggal kunjungan lapangan").fill("2026-11-20")
    form.get_by_label("Temuan pemeriksaan").fill("Sekretariat sesuai surat domisili\nPengurus hadir saat kunjungan")
    shots.shot(tt, "tugas-rekomendasi-teknis")
    form.get_by_role("button", name="Direkomendasikan").click()
    notice(tt, DECIDED)
    recommendation = tt.locator("#berkas-technical-recommendation")
    expect(recommendation).to_be_visible()
    shots.shot(tt, "rekomendasi-teknis-terbit")
    pdf_behind(tt, str(recommendation.get_attribute("href")))

    # SOP 5 — the verifier: the same decision submitted twice (double click, a second tab, a replayed POST)
    ver = officers.open("verifier")
    a.task("verifier", "verification")
    task_id = open_task_from_queue(ver, a.registration_number, "Verifikasi berkas")
    expect(ver.locator("#jejak-audit")).to_contain_text("Rekomendasi teknis: Direkomendasikan")
    expect(ver.locator("#berkas-technical-recommendation")).to_be_visible()
    shots.shot(ver, "tugas-verifikasi")
    second = ver.context.new_page()
    second.goto(ver.url)
    csrf = ver.locator("#keputusan-verified input[name=csrf]").input_value()
    ver.locator("#f-verified-note").fill("Berkas sah")
    ver.locator("#keputusan-verified").get_by_role("button").dblclick()
    notice(ver, DECIDED)
    second.locator("#f-verified-note").fill("Dikirim dari tab kedua")
    second.locator("#keputusan-verified").get_by_role("button").click()
    expect(second.locator("#sudah-diputuskan")).to_contain_text("sudah diputuskan")
    shots.shot(second, "tugas-sudah-diputuskan")
    replay = ver.request.post(f"/petugas/tugas/{task_id}", form={"csrf": csrf, "outcome": "verified", "note": "lagi"},
                              max_redirects=0)
    assert replay.status == 409 and "sudah diputuskan" in replay.text()
    decisions = [e for e in staff["verifier"].get(f"/api/tasks/{task_id}")["timeline"]
                 if e["action"] == "decided" and e["step"] == "verification"]
    assert [e["note"] for e in decisions] == ["Berkas sah"]

    # SOP 6 — the approver: a rejection needs its reason; then approval
    ap = officers.open("approver")
    a.task("approver", "approval")
    open_task_from_queue(ap, a.registration_number, "Persetujuan izin")
    ap.locator("#keputusan-rejected").get_by_role("button").click()
    expect(ap.locator("#f-rejected-note-error")).to_be_visible()
    shots.shot(ap, "tugas-persetujuan-galat")
    ap.locator("#keputusan-approved").get_by_role("button").click()
    notice(ap, DECIDED)

    # SOP 7 — numbering: the proposal is taken by the other application meanwhile: this file gets the next free
    # number (no refusal), and the banner says which
    a.task("back_office", "numbering")
    open_task_from_queue(bo, a.registration_number, "Penomoran izin")
    proposed = bo.locator("#f-confirmed-number").inner_text()
    shots.shot(bo, "tugas-penomoran")
    b_row = b.task("back_office", "numbering")
    assert staff["back_office"].get(f"/api/tasks/{b_row['task_id']}")["proposed_number"] == proposed
    staff["back_office"].post(f"/api/tasks/{b_row['task_id']}/decision",
                              {"outcome": "confirmed", "details": {"number": proposed}})
    bo.locator("#keputusan-confirmed").get_by_role("button").click()
    notice(bo, DECIDED)
    expect(bo.locator("#pemberitahuan")).to_contain_text(f"Nomor {proposed} yang ditampilkan sudah dipakai")
    assigned = a.wait_status(lambda s: s["permit_number"], "permit number")["permit_number"]
    assert assigned != proposed and re.fullmatch(r"503/DPMPTSP-IOS/\d{4}/[IVX]+/\d{4}", assigned)
    expect(bo.locator("#pemberitahuan")).to_contain_text(f"berkas ini mendapat nomor berikutnya: {assigned}")
    shots.shot(bo, "penomoran-bentrok")

    # SOP 8 — the head previews the draft and signs one permit on its page; the acting head (Plt.) signs in batch
    c = Journey(api, staff, SIP)
    c.apply()
    c.submit()
    to_signing(c)
    b.task("head", "signing")
    a.task("head", "signing")
    head = officers.open("head", viewport=DESKTOP)
    expect(head.locator(".role-badge")).to_have_text(["Kepala Dinas"])
    expect(head.get_by_role("link", name=re.compile(r"Tanda tangani \d+ izin sekaligus"))).to_be_visible()
    shots.shot(head, "dasbor-kepala-dinas")
    open_task_from_queue(head, b.registration_number, "Penandatanganan elektronik (TTE)")
    wait_for(lambda: any("permit-draft.pdf" in frame.url for frame in head.frames), what="draft permit in its frame")
    with head.expect_response(lambda r: "/program-kerja/" in r.url and r.ok):  # a document in the viewer
        head.locator("#dok-program-kerja .doc-show").click()
    head.locator("#keputusan-returned").get_by_role("button").click()  # a return needs its note; nothing changes
    expect(head.locator("#f-returned-note-error")).to_be_visible()
    shots.shot(head, "tugas-tanda-tangan-draf")
    head.locator("#keputusan-signed").get_by_role("button").click()
    notice(head, DECIDED)

    plt = officers.open("head_acting")
    expect(plt.locator(".role-badge.role-acting")).to_have_text("Plt. Kepala Dinas")
    plt.goto("/petugas/tanda-tangan")
    for journey in (a, c):
        expect(plt.locator(".check").filter(has_text=journey.registration_number)).to_have_count(1)
    plt.get_by_role("button", name="Tandatangani izin terpilih").click()
    expect(plt.locator("#f-task_id-error")).to_contain_text("Pilih minimal satu")
    shots.shot(plt, "tanda-tangan-massal")
    plt.get_by_label(re.compile(a.registration_number)).check()
    plt.get_by_label(re.compile(c.registration_number)).check()
    plt.get_by_role("button", name="Tandatangani izin terpilih").click()
    expect(plt.locator("#hasil li.result-ok")).to_have_count(2)
    expect(plt.locator(".check").filter(has_text=a.registration_number)).to_have_count(0)
    shots.shot(plt, "tanda-tangan-hasil")

    # SOP 9 — printing: the signed permit, the number of copies (1..10)
    a.task("back_office", "printing")
    open_task_from_queue(bo, a.registration_number, "Pencetakan dokumen izin")
    expect(bo.locator("#jejak-audit")).to_contain_text("Plt. Drs. Zulkifli Hasan · Plt. Kepala Dinas")
    assert b"/ByteRange" in pdf_behind(bo, str(bo.locator("#berkas-permit").get_attribute("href")))
    bo.locator("#f-printed-copies").fill("0")
    bo.locator("#keputusan-printed").get_by_role("button").click()
    expect(bo.locator("#f-printed-copies-error")).to_contain_text("1 sampai 10")
    shots.shot(bo, "tugas-cetak-galat")
    bo.locator("#f-printed-copies").fill("2")
    bo.locator("#keputusan-printed").get_by_role("button").click()
    notice(bo, DECIDED)

    # SOP 10 — the counter: the pickup QR as a scanner types it; no handover before the SKM
    a.task("back_office", "pickup")
    bo.goto("/petugas/loket")
    bo.get_by_label("Nomor registrasi atau hasil pindaian kode QR").fill(f"{stack.url}/ambil/{a.registration_number}")
    bo.keyboard.press("Enter")
    expect(bo.locator("#hasil-loket")).to_have_text(a.registration_number)
    expect(bo.locator("#status-skm")).to_have_text("Belum diisi")
    expect(bo.locator("#hasil")).to_contain_text("2 kali")
    bo.get_by_role("button", name="Serahkan izin").click()
    expect(bo.locator("#galat-serahkan")).to_contain_text("belum mengisi Survei Kepuasan Masyarakat")
    shots.shot(bo, "loket-skm-belum")
    fill_survey(a)
    bo.goto(f"/ambil/{a.registration_number}")  # the QR's own address takes the back office to the counter
    bo.wait_for_url(re.compile(r"/petugas/loket\?nomor="))
    expect(bo.locator("#status-skm")).to_have_text("Sudah diisi")
    bo.get_by_role("button", name="Serahkan izin").click()
    notice(bo, "Izin telah diserahkan")
    a.wait_status(lambda s: s["status"] == "completed", "handover")
    bo.reload()
    expect(bo.locator("#sudah-diserahkan")).to_be_visible()
    shots.shot(bo, "loket-diserahkan")

    # the head revokes the other permit, with a reason; public verification says so
    head.goto("/petugas/izin")
    head.get_by_label("Nomor izin").fill(str(b.status()["permit_number"]))
    head.get_by_role("button", name="Cari izin").click()
    head.wait_for_url(re.compile(r"/petugas/izin/[0-9a-f]+/cabut$"))
    permit_id = head.url.split("/izin/")[1].split("/")[0]
    head.get_by_role("button", name="Cabut izin").click()
    expect(head.locator("#f-reason-error")).to_contain_text("alasan wajib diisi", ignore_case=True)
    shots.shot(head, "cabut-izin")
    head.get_by_label("Alasan pencabutan").fill("Organisasi dibubarkan berdasarkan keputusan rapat anggota")
    head.get_by_role("button", name="Cabut izin").click()
    notice(head, "Izin telah dicabut")
    expect(head.locator("#status-izin")).to_have_text("Dicabut")
    assert api.get(f"/api/verify/{permit_id}")["revoked"] is True
    print(f"officer journey: {time.perf_counter() - started:.1f} s")


def test_task_links_are_safe_to_preview_and_refused_when_forged(officers, stack, api: ApiClient, staff, shots):
    journey = Journey(api, staff, SIP)
    journey.apply()
    journey.submit()
    task_id = journey.task("back_office", "completeness_check")["task_id"]
    link = outbox_task_link(api, task_id)
    events = timeline_length(stack, journey.application_id)

    # link-preview bots (plain HTTP, no session): a redirect to the login page that keeps the link, nothing else
    for agent in PREVIEW_AGENTS:
        status, headers, _ = plain_get(stack.url + link, agent)
        assert status == 303, agent
        assert headers["Location"].startswith("/masuk?lanjut=%2Fpetugas%2Ftugas%2F") and "l%3D" in headers["Location"]
    bot = officers.open(None, user_agent=PREVIEW_AGENTS[1])
    bot.goto(link)
    expect(bot.get_by_role("heading", level=1)).to_have_text("Masuk")

    # the officer opening the link in the browser sees the task (after signing in) and decides nothing
    officer = officers.open(None)
    officer.goto(link)
    officer.wait_for_url(re.compile(r"/masuk\?"))
    creds = stack.officers()["back_office"]
    submit_login(officer, creds["email"], creds["password"])
    officer.wait_for_url(re.compile(re.escape(link.split("?")[0]) + r"\?l="))
    expect(officer.locator("#keputusan-complete")).to_be_visible()
    shots.shot(officer, "tautan-tugas")
    assert task_item(stack, task_id)["status"] == "open"
    assert timeline_length(stack, journey.application_id) == events

    # a tampered or expired link is refused and changes nothing
    tampered = link[:-1] + ("0" if link[-1] != "0" else "1")
    response = officer.goto(tampered)
    assert response is not None and response.status == 403
    expect(officer.locator("#pesan-galat")).to_contain_text("Tautan tidak valid")
    shots.shot(officer, "tautan-dipalsukan")
    assert plain_get(stack.url + tampered, PREVIEW_AGENTS[0])[0] == 403
    expired = signed_link(stack, task_id, int(time.time()) - 60)
    assert plain_get(stack.url + signed_link(stack, task_id, int(time.time()) + 600), PREVIEW_AGENTS[2])[0] == 303
    response = officer.goto(expired)
    assert response is not None and response.status == 403
    expect(officer.locator("#pesan-galat")).to_contain_text("kedaluwarsa")
    assert task_item(stack, task_id)["status"] == "open"
    assert timeline_length(stack, journey.application_id) == events

    # an officer of another role, and an applicant, are refused
    response = officer.goto("/petugas/tanda-tangan")
    assert response is not None and response.status == 403
    expect(officer.locator("#pesan-galat")).to_contain_text("Kepala Dinas")
    applicant = officers.open(None)
    login(applicant, journey.credentials["email"], journey.credentials["password"], target="/permohonan")
    for path in ("/petugas", link, "/petugas/loket"):
        response = applicant.goto(path)
        assert response is not None and response.status == 403, path
        expect(applicant.locator("#pesan-galat")).to_contain_text("khusus untuk petugas")
    shots.shot(applicant, "pemohon-ditolak")
    assert task_item(stack, task_id)["status"] == "open"
    assert timeline_length(stack, journey.application_id) == events

    # two hours later (the task's opening and its SLA due time moved back in storage): the queue highlights it
    opened = (datetime.now(UTC) - timedelta(hours=2, minutes=5)).isoformat()
    due = (datetime.now(UTC) - timedelta(hours=1, minutes=50)).isoformat()
    stack.aws("dynamodb").update_item(TableName="silastri-TasksTable", Key={"task_id": {"S": task_id}},
                                      UpdateExpression="SET opened_at = :o, due_at = :d",
                                      ExpressionAttributeValues={":o": {"S": opened}, ":d": {"S": due}})
    officer.goto("/petugas")
    entry = officer.locator("li.task").filter(has_text=journey.registration_number)
    expect(entry).to_have_class(re.compile(r"\btask-overdue\b"))
    expect(entry).to_contain_text("2 jam 5 menit (standar 15 menit)")
    expect(entry.locator(".badge-overdue")).to_have_text("Melewati waktu standar")
    shots.shot(officer, "dasbor-terlambat")
