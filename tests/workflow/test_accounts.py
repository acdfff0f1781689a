"""Accounts by WhatsApp code, password reset, public tracking, web-session CSRF — through the API."""

from __future__ import annotations

import hashlib
import secrets
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


def test_public_tracking_shows_status_only(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    last4 = journey.credentials["phone"][-4:]
    result = wait_for(lambda: (lambda r: r if r["steps"][0]["state"] == "done" else None)(
        api.post("/api/track", {"registration_number": journey.registration_number, "phone_last4": last4})),
        what="submission recorded")
    assert result["status"] == "in_progress"
    text = str(result)
    assert journey.credentials["phone"] not in text and "Pemohon Demo" not in text and "dr. Andi" not in text
    wrong = "0000" if last4 != "0000" else "1111"
    a = refused(lambda: api.post("/api/track", {"registration_number": journey.registration_number,
                                                "phone_last4": wrong}), 404)
    b = refused(lambda: api.post("/api/track", {"registration_number": "REG-2026-999999", "phone_last4": last4}), 404)
    assert a == b


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
