"""Accounts by WhatsApp code, password reset, public tracking, web-session CSRF — through the API."""

from __future__ import annotations

import hashlib
import json
import secrets
import urllib.error
import urllib.request
import uuid

import pytest
from silastri_local.client import ApiClient, ApiError, wait_for
from silastri_local.journey import Journey


def refused(call, status: int, field: str | None = None):
    with pytest.raises(ApiError) as err:
        call()
    assert err.value.status == status, err.value.body
    if field:
        assert err.value.body["error"]["field"] == field, err.value.body
    return err.value.body


def new_person() -> dict[str, str]:
    return {"name": "Siti Aminah", "email": f"siti-{uuid.uuid4().hex[:8]}@contoh.id",
            "phone": "0812" + "".join(str(secrets.randbelow(10)) for _ in range(8)),
            "password": "Rahasia-2026x", "nik": "1407" + "".join(str(secrets.randbelow(10)) for _ in range(12))}


def code_item(stack, email: str, purpose: str = "activation") -> dict:
    key = f"{purpose}#" + hashlib.sha256(email.encode()).hexdigest()
    return stack.aws("dynamodb").get_item(TableName="silastri-CodesTable", Key={"code_id": {"S": key}}).get("Item", {})


def test_registration_validates_every_field_and_creates_nothing_on_bad_input(stack, api):
    person = new_person()
    for field, value in [("email", "bukan-email"), ("phone", "12345"), ("nik", "12345"), ("password", "pendek"),
                         ("name", "")]:
        refused(lambda f=field, v=value: api.post("/api/auth/register", {**person, f: v}), 400, field)
    refused(lambda: api.post("/api/auth/login", {"email": person["email"], "password": person["password"]}), 401)
    assert not code_item(stack, person["email"])


def test_activation_code_wrong_overused_expired_and_resend_throttle(stack, api):
    person = new_person()
    api.post("/api/auth/register", person)
    journey = Journey(api, {}, "sip")
    e164 = "+62" + person["phone"][1:]
    good = journey.latest_code(e164)
    assert code_item(stack, person["email"])["code_hash"]["S"] != good  # stored hashed
    # an inactive account cannot log in
    refused(lambda: api.post("/api/auth/login", {"email": person["email"], "password": person["password"]}), 401)
    refused(lambda: api.post("/api/auth/resend", {"email": person["email"]}), 409, "email")  # within a minute
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(5):
        refused(lambda: api.post("/api/auth/activate", {"email": person["email"], "code": wrong}), 400, "code")
    refused(lambda: api.post("/api/auth/activate", {"email": person["email"], "code": good}), 409, "code")  # over-used
    # a fresh code, then let it expire
    stack.aws("dynamodb").update_item(
        TableName="silastri-CodesTable", Key={"code_id": code_item(stack, person["email"])["code_id"]},
        UpdateExpression="SET sent_epoch = :old", ExpressionAttributeValues={":old": {"N": "0"}})
    api.post("/api/auth/resend", {"email": person["email"]})
    fresh = journey.latest_code(e164)
    stack.aws("dynamodb").update_item(
        TableName="silastri-CodesTable", Key={"code_id": code_item(stack, person["email"])["code_id"]},
        UpdateExpression="SET expires_epoch = :old", ExpressionAttributeValues={":old": {"N": "1"}})
    refused(lambda: api.post("/api/auth/activate", {"email": person["email"], "code": fresh}), 400, "code")
    stack.aws("dynamodb").update_item(
        TableName="silastri-CodesTable", Key={"code_id": code_item(stack, person["email"])["code_id"]},
        UpdateExpression="SET sent_epoch = :old", ExpressionAttributeValues={":old": {"N": "0"}})
    api.post("/api/auth/resend", {"email": person["email"]})
    api.post("/api/auth/activate", {"email": person["email"], "code": journey.latest_code(e164)})
    me = api.login(person["email"], person["password"]).get("/api/me")
    assert me["nik_masked"] == "*" * 12 + person["nik"][-4:]
    assert person["nik"] not in stack.log() and e164 not in stack.log()


def test_password_reset_by_whatsapp_code(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.register()
    email, phone = journey.credentials["email"], journey.credentials["phone"]
    unknown = api.post("/api/auth/password-reset", {"email": f"tidak-ada-{uuid.uuid4().hex[:6]}@contoh.id"})
    known = api.post("/api/auth/password-reset", {"email": email})
    assert unknown == known  # no hint who has an account
    code = journey.latest_code(phone)
    refused(lambda: api.post("/api/auth/password-reset/confirm",
                             {"email": email, "code": code, "new_password": "lemah"}), 400, "new_password")
    api.post("/api/auth/password-reset/confirm", {"email": email, "code": code, "new_password": "Baru-Sekali-2026"})
    refused(lambda: api.post("/api/auth/login", {"email": email, "password": journey.credentials["password"]}), 401)
    assert api.login(email, "Baru-Sekali-2026").get("/api/me")["email"] == email


def test_public_tracking_needs_the_full_whatsapp_number(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    phone = journey.credentials["phone"]  # +628…; the form also takes 08…
    local = "0" + phone[3:]
    result = wait_for(lambda: (lambda r: r if r["steps"][0]["state"] == "done" else None)(
        api.post("/api/track", {"registration_number": journey.registration_number, "phone": local})),
        what="submission recorded")
    assert result["status"] == "in_progress"
    text = str(result)
    assert phone not in text and local not in text and "Pemohon Demo" not in text and "dr. Andi" not in text
    # the last four digits are no longer enough: the rest of the number must match too
    other = phone[:-5] + ("1" if phone[-5] != "1" else "2") + phone[-4:]
    a = refused(lambda: api.post("/api/track", {"registration_number": journey.registration_number, "phone": other}),
                404)
    b = refused(lambda: api.post("/api/track", {"registration_number": "REG-2026-999999", "phone": phone}), 404)
    assert a == b
    refused(lambda: api.post("/api/track", {"registration_number": journey.registration_number,
                                            "phone_last4": phone[-4:]}), 400, "phone")
    refused(lambda: api.post("/api/track", {"registration_number": journey.registration_number,
                                            "phone": phone[-4:]}), 400, "phone")


def test_tracking_one_number_is_throttled_after_ten_failed_lookups(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    phone = journey.credentials["phone"]
    statuses = []
    for i in range(12):
        wrong = phone[:-3] + f"{(int(phone[-3:]) + i + 1) % 1000:03d}"
        try:
            api.post("/api/track", {"registration_number": journey.registration_number, "phone": wrong})
        except ApiError as exc:
            statuses.append(exc.status)
    assert statuses == [404] * 10 + [429] * 2, statuses
    # while throttled even the right number waits: nothing is evaluated past the limit
    body = refused(lambda: api.post("/api/track", {"registration_number": journey.registration_number,
                                                   "phone": phone}), 429, "registration_number")
    assert "coba lagi" in body["error"]["message"]


def test_login_is_throttled_per_account_with_retry_after(stack, api):
    email = f"tidak-ada-{uuid.uuid4().hex[:8]}@contoh.id"
    statuses = []
    for _ in range(12):
        try:
            api.post("/api/auth/login", {"email": email, "password": "Salah-Sekali-1"})
        except ApiError as exc:
            statuses.append(exc.status)
    assert statuses == [401] * 10 + [429] * 2, statuses
    request = urllib.request.Request(api.base_url + "/api/auth/login", method="POST",
                                     data=json.dumps({"email": email, "password": "x"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=30)
    assert err.value.code == 429 and 1 <= int(err.value.headers["Retry-After"]) <= 900
    assert "terlalu banyak percobaan" in json.loads(err.value.read())["error"]["message"]


def test_successful_logins_do_not_count_against_the_limit(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.register()
    for _ in range(12):
        api.login(journey.credentials["email"], journey.credentials["password"])


def test_the_local_outbox_is_for_officers_only(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.register()
    anonymous = ApiClient(api.base_url)
    refused(lambda: anonymous.get("/api/local/outbox"), 401)
    refused(lambda: journey.applicant.get("/api/local/outbox"), 403, "role")
    refused(lambda: journey.applicant.page("/lokal/kotak-keluar"), 403)
    assert any(m["to"] == journey.credentials["phone"] for m in staff["verifier"].get("/api/local/outbox")["messages"])
    assert journey.credentials["phone"] in staff["head"].page("/lokal/kotak-keluar").decode()


def test_cookie_sessions_need_the_csrf_header_for_changes(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.register()
    token = journey.applicant.token
    cookie = {"Cookie": f"silastri_session={token}"}
    anonymous = ApiClient(api.base_url)
    assert anonymous.call("GET", "/api/me", headers=cookie)["email"] == journey.credentials["email"]
    body = {"permit_type": "sip", "form": {}}
    refused(lambda: anonymous.call("POST", "/api/applications", body, headers=cookie), 403, "csrf_token")
    refused(lambda: anonymous.call("POST", "/api/applications", body, headers={**cookie, "X-CSRF-Token": "x" * 64}),
            403, "csrf_token")
