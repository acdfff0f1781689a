"""What people see of messages, on the running local stack: the application's messages with their delivery status
(officers only), the officers' in-app inbox, the local outbox page, e-mail verification by code, and registration
while WhatsApp is down."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import pytest
from silastri.adapters import messaging
from silastri_local.client import ApiClient, ApiError, wait_for
from silastri_local.journey import Journey

API_FIELDS = {"message_id", "event", "event_label", "channel", "recipient_role", "template", "status", "status_label",
              "reason", "attempts", "updated_at"}


def refused(call, status: int, field: str | None = None) -> Any:
    with pytest.raises(ApiError) as err:
        call()
    assert err.value.status == status, err.value.body
    if field:
        assert err.value.body["error"]["field"] == field, err.value.body
    return err.value.body


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def page(base_url: str, path: str, token: str | None = None, form: dict[str, str] | None = None,
         body: Any = None, bearer: bool = False) -> tuple[int, dict[str, str], str]:
    """A request that keeps the status and headers (session cookie, or Bearer with `bearer`; urlencoded form or
    JSON); redirects are not followed: (status, headers, text)."""
    data = None
    headers = {}
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token and bearer:
        headers["Authorization"] = f"Bearer {token}"
    elif token:
        headers["Cookie"] = f"silastri_session={token}"
    request = urllib.request.Request(base_url + path, data=data, headers=headers,  # noqa: S310 - loopback stack
                                     method="POST" if data is not None else "GET")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode(errors="replace")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def messages_of(officer: ApiClient, application_id: str) -> list[dict[str, Any]]:
    return list(officer.get(f"/api/applications/{application_id}/messages")["messages"])


def new_person() -> dict[str, str]:
    return {"name": "Rahmat Hidayat", "email": f"rahmat-{uuid.uuid4().hex[:8]}@contoh.id",
            "phone": "0813" + "".join(str(secrets.randbelow(10)) for _ in range(8)),
            "password": "Rahasia-2026x", "nik": "1407" + "".join(str(secrets.randbelow(10)) for _ in range(12))}


def backdate_code(stack, purpose: str, email: str) -> None:
    """As if the last code was sent long ago (the one-minute resend wait is over)."""
    key = f"{purpose}#" + hashlib.sha256(email.encode()).hexdigest()
    stack.aws("dynamodb").update_item(
        TableName="silastri-CodesTable", Key={"code_id": {"S": key}},
        UpdateExpression="SET sent_epoch = :old", ExpressionAttributeValues={":old": {"N": "0"}})


# ----------------------------------------------------------------------------- statuses on the timeline


def test_officers_see_each_message_of_an_application_with_its_delivery_status(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "complete", "Berkas lengkap")
    officer = staff["back_office"]

    def settled() -> list[dict[str, Any]] | None:
        rows = messages_of(officer, journey.application_id)
        events = {(r["event"], r["channel"], r["recipient_role"]) for r in rows}
        wanted = {("submitted", "whatsapp", "applicant"), ("receipt_issued", "whatsapp", "applicant"),
                  ("task_opened", "email", "back_office"), ("task_opened", "inbox", "back_office"),
                  ("task_opened", "email", "verifier")}
        done = all(r["status"] in ("delivered", "read") for r in rows)
        return rows if wanted <= events and done else None

    rows = wait_for(settled, timeout=15, interval=0.3, what="every message delivered (local outbox status events)")
    for row in rows:
        assert set(row) == API_FIELDS
        assert row["event_label"] and row["status_label"] in ("diterima", "dibaca")
        assert row["reason"] is None and row["attempts"] <= 1
    submitted = next(r for r in rows if r["event"] == "submitted")
    assert (submitted["event_label"], submitted["template"]) == ("Permohonan diterima (nomor registrasi)",
                                                                 "silastri_permohonan_diterima")
    listing = json.dumps(rows)
    assert journey.credentials["phone"] not in listing and journey.credentials["email"] not in listing
    assert not [r for r in rows if r["recipient_role"] == "applicant" and r["channel"] == "email"]  # not verified

    # the task page shows them, by role, never the applicant's number
    task = journey.task("verifier", "verification")
    status, _, html = page(api.base_url, f"/petugas/tugas/{task['task_id']}", staff["verifier"].token)
    assert status == 200
    section = html[html.index('id="pesan-terkirim"'):]
    assert "Permohonan diterima (nomor registrasi)" in section and "silastri_permohonan_diterima" in section
    assert "Pemohon" in section and "Back Office" in section and "Kotak masuk" in section and "diterima" in section
    assert "message-attention" not in section and journey.credentials["phone"] not in section


def test_a_failed_message_is_highlighted_and_only_officers_list_messages(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    messaging.set_fault(stack.data_dir, "whatsapp", "permanent", 1)  # the next WhatsApp message: invalid number
    try:
        journey.submit()
        officer = staff["back_office"]

        def failed() -> dict[str, Any] | None:
            return next((r for r in messages_of(officer, journey.application_id)
                         if r["event"] == "submitted" and r["status"] == "failed"), None)

        row = wait_for(failed, timeout=15, interval=0.3, what="the submitted message failed")
    finally:
        messaging.set_fault(stack.data_dir, "whatsapp", None)
    assert row["status_label"] == "gagal" and "tidak valid" in row["reason"]
    task = journey.task("back_office", "completeness_check")
    status, _, html = page(api.base_url, f"/petugas/tugas/{task['task_id']}", staff["back_office"].token)
    assert status == 200
    section = html[html.index('id="pesan-terkirim"'):]
    highlighted = re.search(r'<tr class="message message-failed message-attention"[^>]*>(.*?)</tr>', section, re.S)
    assert highlighted, section[:3000]
    assert "Perlu perhatian" in highlighted.group(1) and "gagal" in highlighted.group(1)
    assert "1 pesan perlu perhatian" in section

    path = f"/api/applications/{journey.application_id}/messages"
    assert journey.applicant
    refused(lambda: journey.applicant.get(path), 403, "role")  # applicants never see this list
    refused(lambda: ApiClient(api.base_url).get(path), 401)
    refused(lambda: officer.get("/api/applications/tidak-ada-permohonan/messages"), 404)


# ----------------------------------------------------------------------------- officers' inbox


def test_officers_inbox_shows_task_opened_and_opening_marks_it_read(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    officer = staff["back_office"]

    def arrived() -> dict[str, Any] | None:
        return next((m for m in officer.get("/api/inbox")["messages"]
                     if m["event"] == "task_opened" and m["application_id"] == journey.application_id), None)

    message = wait_for(arrived, timeout=15, interval=0.3, what="task_opened in the back office's inbox")
    assert message["status"] == "delivered" and message["unread"] is True
    assert journey.registration_number in message["subject"] + message["body"]

    status, _, html = page(api.base_url, "/petugas", officer.token)
    assert status == 200
    item = re.search(rf'<li class="inbox-item inbox-unread" data-message="{message["message_id"]}">(.*?)</li>', html, re.S)
    assert item and "<strong>" in item.group(1) and f'/petugas/pesan/{message["message_id"]}' in item.group(1)

    # only the owner can open it; an applicant has no inbox
    status, _, _ = page(api.base_url, f"/petugas/pesan/{message['message_id']}", staff["verifier"].token)
    assert status == 404
    assert journey.applicant
    refused(lambda: journey.applicant.get("/api/inbox"), 403, "role")

    status, headers, _ = page(api.base_url, f"/petugas/pesan/{message['message_id']}", officer.token)
    assert status == 303
    location = headers["Location"]
    assert location.startswith(api.base_url + "/petugas/tugas/"), location  # the task link, on our own site
    opened = next(m for m in officer.get("/api/inbox")["messages"] if m["message_id"] == message["message_id"])
    assert opened["status"] == "read" and opened["unread"] is False
    row = next(r for r in messages_of(officer, journey.application_id) if r["message_id"] == message["message_id"])
    assert row["status_label"] == "dibaca"
    status, _, html = page(api.base_url, "/petugas", officer.token)
    assert f'<li class="inbox-item" data-message="{message["message_id"]}">' in html


def test_local_outbox_page_shows_the_template_and_its_parameters(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()

    def sent() -> dict[str, Any] | None:
        return next((m for m in api.outbox() if m["to"] == journey.credentials["phone"] and m["template"]
                     and m["template"]["name"] == "silastri_permohonan_diterima"), None)

    message = wait_for(sent, timeout=15, interval=0.3, what="the submitted template in the outbox")
    assert journey.registration_number in message["template"]["body_parameters"]
    status, _, html = page(api.base_url, "/lokal/kotak-keluar", staff["head"].token)
    assert status == 200 and "Waktu (WIB)" in html
    row = next(r for r in re.findall(r"<tr class='outbox-whatsapp'>(.*?)</tr>", html, re.S)
               if "silastri_permohonan_diterima" in r and journey.registration_number in r)
    assert "{{1}} = " in row and " WIB" in row and "Parameter tombol" in row
    assert journey.application_id in row  # the button's link
    assert journey.applicant
    status, _, _ = page(api.base_url, "/lokal/kotak-keluar", journey.applicant.token)
    assert status == 403


# ----------------------------------------------------------------------------- e-mail verification


def _email_code(api: ApiClient, email: str, seen: int) -> str:
    def code() -> str | None:
        mails = [m for m in api.outbox() if m["channel"] == "email" and m["to"] == email]
        if len(mails) <= seen:
            return None
        found = re.search(r"\b(\d{6})\b", mails[-1]["text"])
        return found.group(1) if found else None

    return str(wait_for(code, timeout=15, interval=0.2, what="e-mail code in the outbox"))


def test_applicant_verifies_the_email_address_by_code_and_then_gets_email_too(stack, api, staff):
    journey = Journey(api, staff, "sip")
    applicant = journey.register()
    email = journey.credentials["email"]
    assert applicant.get("/api/account")["email_verified"] is False
    status, _, html = page(api.base_url, "/akun", applicant.token)
    assert status == 200 and "Belum terverifikasi" in html and email in html and 'href="/akun"' in html

    # the web form sends the code; a second request within the minute is throttled (429, Retry-After)
    assert page(api.base_url, "/akun/email/kode", applicant.token, form={})[0] == 403  # no CSRF token
    status, headers, _ = page(api.base_url, "/akun/email/kode", applicant.token, form={"csrf": csrf_of(html)})
    assert (status, headers["Location"]) == (303, "/akun?pesan=kode-email")
    code = _email_code(api, email, 0)
    status, headers, body = page(api.base_url, "/api/account/email/code", applicant.token, body={}, bearer=True)
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 60, body
    assert json.loads(body)["error"]["field"] == "email"

    wrong = "000000" if code != "000000" else "111111"
    body = refused(lambda: applicant.post("/api/account/email/verify", {"code": wrong}), 400, "code")
    assert body["error"]["message"] == "kode salah"
    refused(lambda: applicant.post("/api/account/email/verify", {"code": "12ab"}), 400, "code")
    status, _, html = page(api.base_url, "/akun/email/verifikasi", applicant.token,
                           form={"csrf": csrf_of(html), "code": wrong})
    assert status == 400 and "kode salah" in html and 'aria-invalid="true"' in html
    status, headers, _ = page(api.base_url, "/akun/email/verifikasi", applicant.token,
                              form={"csrf": csrf_of(html), "code": code})
    assert (status, headers["Location"]) == (303, "/akun?pesan=email-terverifikasi")
    assert applicant.get("/api/account")["email_verified"] is True
    refused(lambda: applicant.post("/api/account/email/verify", {"code": code}), 400, "code")  # used once only
    refused(lambda: applicant.post("/api/account/email/code"), 409, "email")  # nothing left to verify
    status, _, html = page(api.base_url, "/akun", applicant.token)
    assert "Terverifikasi" in html and "Kirim kode verifikasi" not in html
    refused(lambda: staff["verifier"].get("/api/account"), 403, "role")  # officers' addresses are the administrator's

    # from now on the plan's applicant messages also go to this address
    journey.apply()
    journey.submit()
    wait_for(lambda: [m for m in api.outbox() if m["channel"] == "email" and m["to"] == email
                      and journey.registration_number in m["text"]], timeout=15, interval=0.3,
             what="the submitted e-mail to the verified address")
    rows = messages_of(staff["back_office"], journey.application_id)
    assert any(r["event"] == "submitted" and r["channel"] == "email" and r["recipient_role"] == "applicant"
               for r in rows)


# ----------------------------------------------------------------------------- registration while WhatsApp is down


def test_registration_succeeds_while_whatsapp_is_down_and_the_code_follows(stack, api, staff):
    person, web_person = new_person(), new_person()
    messaging.set_fault(stack.data_dir, "whatsapp", "transient", None)
    try:
        status, _, body = page(api.base_url, "/api/auth/register", body=person)
        assert status == 201, body
        result = json.loads(body)
        assert result["code_sent"] is False and "WhatsApp sedang terganggu" in result["activation"]

        status, headers, _ = page(api.base_url, "/daftar", form={**web_person, "password2": web_person["password"]})
        assert status == 303 and "pesan=kode-tertunda" in headers["Location"]
        status, _, html = page(api.base_url, headers["Location"])
        assert status == 200 and "WhatsApp sedang terganggu" in html and 'class="notice notice-warning"' in html
        assert 'action="/aktivasi/kirim-ulang"' in html and "Kirim ulang kode" in html

        # still down: asking again is answered, not an error
        backdate_code(stack, "activation", person["email"])
        again = api.post("/api/auth/resend", {"email": person["email"]})
        assert again["sent"] is False and "WhatsApp sedang terganggu" in again["message"]
    finally:
        messaging.set_fault(stack.data_dir, "whatsapp", None)
    refused(lambda: api.post("/api/auth/login", {"email": person["email"], "password": person["password"]}), 401)

    # WhatsApp is back: a new code arrives and activates the account
    e164 = "+62" + person["phone"][1:]
    assert not [m for m in api.outbox() if m["to"] == e164]  # nothing went out while it was down
    backdate_code(stack, "activation", person["email"])
    assert api.post("/api/auth/resend", {"email": person["email"]})["sent"] is True
    code = Journey(api, staff, "sip").latest_code(e164)
    api.post("/api/auth/activate", {"email": person["email"], "code": code})
    assert api.login(person["email"], person["password"]).get("/api/me")["email"] == person["email"]

    # the web form's resend, too
    backdate_code(stack, "activation", web_person["email"])
    status, headers, _ = page(api.base_url, "/aktivasi/kirim-ulang", form={"email": web_person["email"]})
    assert status == 303 and "pesan=kode-baru" in headers["Location"] and "tertunda" not in headers["Location"]
    web_code = Journey(api, staff, "sip").latest_code("+62" + web_person["phone"][1:])
    api.post("/api/auth/activate", {"email": web_person["email"], "code": web_code})
