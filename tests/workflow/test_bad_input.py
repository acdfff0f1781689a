"""Bad input gets a clear 4xx with the field, and nothing is stored or changed."""

from __future__ import annotations

import contextlib
import uuid

import pytest
from silastri_local.client import ApiClient, ApiError, post_form
from silastri_local.journey import FORMS, Journey, sample_pdf


def refused(call, status: int, field: str | None = None):
    with pytest.raises(ApiError) as err:
        call()
    assert err.value.status == status, err.value.body
    if field is not None:
        assert err.value.body["error"]["field"] == field, err.value.body
    return err.value.body


@pytest.fixture(scope="module")
def applicant_journey(stack, api, staff) -> Journey:
    journey = Journey(api, staff, "sip")
    journey.register()
    return journey


def count_items(stack, table: str) -> int:
    return stack.aws("dynamodb").scan(TableName=f"silastri-{table}", Select="COUNT")["Count"]


def test_malformed_json_and_missing_fields(stack, api, applicant_journey):
    applicant = applicant_journey.applicant
    before = count_items(stack, "ApplicationsTable")
    refused(lambda: applicant.call("POST", "/api/applications", raw=b"{not json"), 400, "body")
    refused(lambda: applicant.post("/api/applications", {"form": FORMS["sip"]}), 400, "permit_type")
    refused(lambda: applicant.post("/api/applications", {"permit_type": "izin-tambang", "form": {}}), 404, "permit_type")
    bad_form = {**FORMS["sip"], "str_number": ""}
    refused(lambda: applicant.post("/api/applications", {"permit_type": "sip", "form": bad_form}), 400, "form.str_number")
    assert count_items(stack, "ApplicationsTable") == before


def test_unauthenticated_and_forged_tokens_are_refused(api):
    refused(lambda: api.get("/api/applications"), 401)
    forged = ApiClient(api.base_url, token="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
    refused(lambda: forged.get("/api/applications"), 401)


def test_non_pdf_and_oversized_uploads_are_rejected_and_never_promoted(stack, applicant_journey):
    journey = applicant_journey
    journey.application_id = journey.applicant.post("/api/applications", {"permit_type": "sip", "form": FORMS["sip"]})[
        "application_id"]
    refused(lambda: journey.upload("ktp", b"\x89PNG\r\n\x1a\n" + b"0" * 100, filename="ktp.png"), 400, "filename")
    body = refused(lambda: journey.upload("ktp", b"\x89PNG\r\n\x1a\n" + b"0" * 100, filename="ktp.pdf"), 422)
    assert body["state"] == "rejected" and body["reason_code"] == "not-pdf" and body["reason"]
    # the presigned POST itself refuses a file larger than declared limits (enforced locally by the runtime)
    slot = journey.applicant.post(f"/api/applications/{journey.application_id}/uploads",
                                  {"requirement_id": "ktp", "filename": "ktp.pdf", "size_bytes": 1000})
    too_big = sample_pdf("x") + b"%" * (11 * 1024 * 1024)
    assert post_form(slot["url"], slot["fields"], too_big, "ktp.pdf") >= 400
    refused(lambda: journey.applicant.post(
        f"/api/applications/{journey.application_id}/uploads/{slot['upload_id']}/complete"), 400, "upload_id")
    refused(lambda: journey.applicant.post(f"/api/applications/{journey.application_id}/uploads",
                                           {"requirement_id": "ktp", "filename": "a.pdf", "size_bytes": 50 * 2**20}),
            400, "size_bytes")
    objects = stack.aws("s3").list_objects_v2(Bucket="silastri-uploadsbucket", Prefix="documents/").get("Contents", [])
    assert not [o for o in objects if journey.application_id in o["Key"]]
    quarantined = stack.aws("s3").list_objects_v2(Bucket="silastri-uploadsbucket", Prefix="quarantine/").get("Contents", [])
    assert not [o for o in quarantined if journey.application_id in o["Key"]]
    refused(lambda: journey.submit(), 400, "documents")


def test_another_applicants_application_is_invisible(stack, api, staff, applicant_journey):
    other = Journey(api, staff, "sip")
    other.register()
    target = applicant_journey.applicant.post("/api/applications", {"permit_type": "sip", "form": FORMS["sip"]})
    refused(lambda: other.applicant.get(f"/api/applications/{target['application_id']}"), 404)
    refused(lambda: other.applicant.post(f"/api/applications/{target['application_id']}/uploads",
                                         {"requirement_id": "ktp", "filename": "a.pdf", "size_bytes": 10}), 404)
    refused(lambda: other.applicant.post(f"/api/applications/{target['application_id']}/submit",
                                         headers={"Idempotency-Key": uuid.uuid4().hex}), 404)


def test_wrong_role_other_office_and_applicants_cannot_decide(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    row = journey.task("back_office", "completeness_check")
    path = f"/api/tasks/{row['task_id']}/decision"
    refused(lambda: staff["verifier"].post(path, {"outcome": "complete"}), 403, "role")
    refused(lambda: journey.applicant.post(path, {"outcome": "complete"}), 403, "role")
    refused(lambda: staff["back_office"].post(path, {"outcome": "approved"}), 400, "outcome")
    refused(lambda: staff["back_office"].post(path, {"outcome": "incomplete"}), 400, "note")
    # an officer of another office (configured by data alone) cannot decide Rokan Hilir's task
    idp = stack.aws("cognito-idp")
    pool = idp.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]
    email = f"bo-{uuid.uuid4().hex[:6]}@bengkalis.local"
    idp.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": email}, {"Name": "name", "Value": "BO Bengkalis"}])
    idp.admin_set_user_password(UserPoolId=pool, Username=email, Password="Bengkalis-123A", Permanent=True)
    with contextlib.suppress(idp.exceptions.GroupExistsException):  # the office comes from its group
        idp.create_group(UserPoolId=pool, GroupName="office:bengkalis")
    for group in ("back_office", "office:bengkalis"):
        idp.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=group)
    outsider = api.login(email, "Bengkalis-123A")
    refused(lambda: outsider.post(path, {"outcome": "complete"}), 403, "office_id")
    assert row["task_id"] not in {t["task_id"] for t in outsider.get("/api/tasks")["tasks"]}
    task = stack.aws("dynamodb").get_item(TableName="silastri-TasksTable", Key={"task_id": {"S": row["task_id"]}})
    assert task["Item"]["status"]["S"] == "open"


def test_submit_twice_with_one_key_makes_one_application(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    key = uuid.uuid4().hex
    first = journey.submit(key)
    second = journey.submit(key)
    assert first["registration_number"] == second["registration_number"]
    refused(lambda: journey.submit(uuid.uuid4().hex), 409)
    refused(lambda: journey.applicant.post(f"/api/applications/{journey.application_id}/submit"), 400,
            "Idempotency-Key")


def test_deeply_nested_and_non_json_bodies_are_400_even_without_login(api, applicant_journey):
    deep = b'{"email":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for path in ("/api/auth/login", "/api/auth/register", "/api/track"):
        refused(lambda p=path: api.call("POST", p, raw=deep), 400, "body")
        refused(lambda p=path: api.call("POST", p, raw=b'{"email": NaN}'), 400, "body")
        refused(lambda p=path: api.call("POST", p, raw=b"\xff\xfe\x00"), 400, "body")
    refused(lambda: applicant_journey.applicant.call("POST", "/api/applications", raw=deep), 400, "body")


def test_registry_needs_a_number_and_odd_ids_are_not_found(api, applicant_journey):
    refused(lambda: api.get("/api/registry"), 400, "number")
    refused(lambda: api.get("/api/registry?number="), 400, "number")
    refused(lambda: api.get("/api/registry?number=503%2FX%00"), 400, "number")
    refused(lambda: api.get("/api/verify/" + "a" * 3000), 404, "permit_id")
    refused(lambda: applicant_journey.applicant.get("/api/applications/%C3%A9%E2%80%AE"), 404, "application_id")
    refused(lambda: applicant_journey.applicant.get("/api/applications/" + "b" * 3000), 404, "application_id")


def test_non_ascii_tokens_cookies_and_csrf_are_4xx(api, applicant_journey):
    token = applicant_journey.applicant.token
    anonymous = ApiClient(api.base_url)
    refused(lambda: anonymous.call("GET", "/api/me", headers={"Authorization": "Bearer ééé.ééé.ééé"}), 401)
    refused(lambda: anonymous.call("GET", "/api/me", headers={"Cookie": "silastri_session=ééé"}), 401)
    refused(lambda: anonymous.call("POST", "/api/applications", {"permit_type": "sip", "form": {}},
                                   headers={"Cookie": f"silastri_session={token}", "X-CSRF-Token": "é" * 64}),
            403, "csrf_token")


@pytest.mark.parametrize("bad", ["\x00", "\r\n", "\u202e", "\u2066", "\u200b", "\x1b[31m"])
def test_control_and_bidi_characters_never_reach_a_decree(stack, api, applicant_journey, bad):
    person = {"name": f"Siti{bad}Aminah", "email": f"siti-{uuid.uuid4().hex[:8]}@contoh.id",
              "phone": "081234567890", "password": "Rahasia-2026x", "nik": "1407011234567890"}
    refused(lambda: api.post("/api/auth/register", person), 400, "name")
    applicant = applicant_journey.applicant
    form = {**FORMS["sip"], "practitioner_name": f"dr. Andi{bad}Pratama"}
    before = count_items(stack, "ApplicationsTable")
    refused(lambda: applicant.post("/api/applications", {"permit_type": "sip", "form": form}), 400,
            "form.practitioner_name")
    assert count_items(stack, "ApplicationsTable") == before
    draft = applicant.post("/api/applications", {"permit_type": "sip", "form": FORMS["sip"]})
    refused(lambda: applicant.call("PUT", f"/api/applications/{draft['application_id']}", {"form": form}), 400,
            "form.practitioner_name")
    refused(lambda: applicant.post(f"/api/applications/{draft['application_id']}/withdraw",
                                   {"reason": f"salah{bad if bad != chr(13) + chr(10) else chr(0)}jenis"}), 400, "reason")


def test_booleans_are_not_numbers(applicant_journey):
    applicant = applicant_journey.applicant
    draft = applicant.post("/api/applications", {"permit_type": "sip", "form": FORMS["sip"]})
    refused(lambda: applicant.post(f"/api/applications/{draft['application_id']}/uploads",
                                   {"requirement_id": "ktp", "filename": "a.pdf", "size_bytes": True}), 400, "size_bytes")
    scores = dict.fromkeys(["persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku",
                            "pengaduan", "sarana"], True)
    refused(lambda: applicant.post(f"/api/applications/{draft['application_id']}/survey", {"scores": scores}), 400,
            "scores")
