"""Whole applications on the local runtime, through the API only (GIVEN a running stack …)."""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader
from silastri.adapters.signing import DevPkiSigner, verify_signed_pdf
from silastri.domain.numbering import first_run_name
from silastri_local.client import ApiError, fetch, wait_for
from silastri_local.journey import Journey


def history(stack, journey: Journey) -> list[dict]:
    """The events of every execution of the application, oldest run first (loops continue in a new run)."""
    sfn = stack.aws("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    number = first_run_name("rokan-hilir", journey.status()["registration_number"])
    runs = sorted((e for e in sfn.list_executions(stateMachineArn=machine)["executions"]
                   if e["name"] == number or e["name"].startswith(number + "-")), key=lambda e: e["startDate"])
    return [event for run in runs
            for event in sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)["events"]]


def entered_states(events: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def test_orsos_happy_path_reaches_pickup_with_a_valid_signature(stack, api, staff):
    journey = Journey(api, staff, "izin-operasional-orsos")
    pdf = journey.run_to_pickup()
    status = journey.status()
    assert status["status"] == "completed"
    assert status["permit_number"].startswith("503/DPMPTSP-IOS/")
    report = verify_signed_pdf(pdf, DevPkiSigner(stack.data_dir / "pki").trust_roots_pem())
    assert report.valid, report.reasons
    assert api.get(f"/api/verify/{status['permit_id']}")["valid"] is True
    done = {s["step"] for s in status["steps"] if s["state"] == "done"}
    assert {"submission", "completeness_check", "forwarding", "technical_review", "verification", "approval",
            "numbering", "signing", "printing", "pickup"} <= done
    states = entered_states(history(stack, journey))
    assert "TechnicalReview" in states and states[-1] == "CloseCompleted"


def test_sip_skips_the_technical_steps(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.run_to_pickup()
    status = journey.status()
    assert status["status"] == "completed" and "/DPMPTSP-SIP/" in status["permit_number"]
    assert "technical_review" not in {s["step"] for s in status["steps"]}
    states = entered_states(history(stack, journey))
    assert "TechnicalReview" not in states and "Verify" in states


def test_incomplete_file_goes_back_for_revision_and_continues_after_resubmission(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "incomplete", "STR tidak terbaca",
                   {"document_notes": {"str": "Pindai ulang STR dengan jelas"}})
    status = journey.wait_status(lambda s: s["status"] == "awaiting_revision", "revision request")
    assert status["revision_notes"] == {"str": "Pindai ulang STR dengan jelas"} and status["revision_deadline"]
    assert journey.applicant
    with pytest.raises(ApiError) as refused:  # the asked-for document was not replaced yet
        journey.applicant.post(f"/api/applications/{journey.application_id}/resubmit")
    assert refused.value.status == 400 and refused.value.body["error"]["field"] == "documents"
    from silastri_local.journey import sample_pdf

    journey.upload("str", sample_pdf("STR — pindaian ulang"))
    journey.applicant.post(f"/api/applications/{journey.application_id}/resubmit")
    journey.decide("back_office", "completeness_check", "complete")
    journey.wait_status(lambda s: s["downloads"]["receipt"], "receipt")
    journey.task("verifier", "verification")
    versions = [d for d in journey.status()["documents"] if d["requirement_id"] == "str" and d["state"] == "accepted"]
    assert [d["version"] for d in versions] == [1, 2]  # the earlier version stays in the history


def test_negative_technical_recommendation_ends_with_a_signed_rejection_letter(stack, api, staff):
    journey = Journey(api, staff, "izin-operasional-orsos")
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "complete")
    journey.decide("technical_team", "technical_review", "not_recommend", "Alamat sekretariat tidak ditemukan")
    journey.decide("head", "rejection_signing", "signed")
    status = journey.wait_status(lambda s: s["status"] == "rejected", "rejection")
    assert status["permit_number"] is None
    assert journey.applicant
    link = journey.applicant.get(f"/api/applications/{journey.application_id}/files/rejection-letter")
    letter = fetch(link["url"])
    report = verify_signed_pdf(letter, DevPkiSigner(stack.data_dir / "pki").trust_roots_pem())
    assert report.valid, report.reasons
    # the letter carries the office's own rejection letter number (catalog `rejection_numbering`)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(letter)).pages)
    number = re.search(r"NOMOR: (503/DPMPTSP/TL/\d{4}/[IVX]+/\d{4})", text)
    assert number, text[:400]


def test_approver_return_sends_the_file_back_to_the_verifier(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "complete")
    journey.decide("verifier", "verification", "verified")
    with pytest.raises(ApiError) as missing_note:
        journey.decide("approver", "approval", "returned")
    assert missing_note.value.status == 400 and missing_note.value.body["error"]["field"] == "note"
    journey.decide("approver", "approval", "returned", "Periksa ulang alamat praktik")
    journey.decide("verifier", "verification", "verified", "Sudah diperiksa ulang")
    journey.task("approver", "approval")
    states = entered_states(history(stack, journey))
    # the return continues in a new execution that enters at the verification step again
    assert states.count("Verify") == 2 and "RecordReturn" in states and "ContinueAsNewRun" in states


def test_a_second_decision_on_a_decided_task_is_refused_and_changes_nothing(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    row = journey.task("back_office", "completeness_check")
    back_office = staff["back_office"]
    back_office.post(f"/api/tasks/{row['task_id']}/decision", {"outcome": "complete"})
    journey.task("verifier", "verification")
    before_task = stack.aws("dynamodb").get_item(TableName="silastri-TasksTable", Key={"task_id": {"S": row["task_id"]}})
    before_timeline = len(journey.status()["timeline"])
    with pytest.raises(ApiError) as second:
        back_office.post(f"/api/tasks/{row['task_id']}/decision", {"outcome": "incomplete", "note": "lagi"})
    assert second.value.status == 409
    after_task = stack.aws("dynamodb").get_item(TableName="silastri-TasksTable", Key={"task_id": {"S": row["task_id"]}})
    assert after_task["Item"] == before_task["Item"]
    assert len(journey.status()["timeline"]) == before_timeline
    assert journey.status()["current_step"] == "verification"


def test_the_raw_task_token_never_leaves_the_backend(stack, api, staff):
    journey = Journey(api, staff, "izin-operasional-orsos")
    pdf = journey.run_to_pickup()
    items = stack.aws("dynamodb").scan(TableName="silastri-TasksTable")["Items"]
    tokens = {i["task_token"]["S"] for i in items}
    assert tokens
    seen = [json.dumps(journey.status()), json.dumps(api.outbox()), stack.log(),
            staff["back_office"].page("/lokal/kotak-keluar").decode(), pdf.decode("latin-1")]
    for role, client in staff.items():
        seen.append(json.dumps(client.get("/api/tasks")))
    rows = [r for r in staff["back_office"].get("/api/tasks")["tasks"]]
    for row in rows[:3]:
        seen.append(json.dumps(staff["back_office"].get(f"/api/tasks/{row['task_id']}")))
    blob = "\n".join(seen)
    for token in tokens:
        assert token not in blob
        assert token[:40] not in blob


def test_run_is_named_after_the_office_and_registration_number(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    sfn = stack.aws("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    names = wait_for(lambda: {e["name"] for e in sfn.list_executions(stateMachineArn=machine)["executions"]},
                     what="executions")
    assert first_run_name("rokan-hilir", journey.registration_number) in names  # another office may have the number


def test_revision_deadline_passes_and_the_application_lapses(stack, api, staff):
    journey = Journey(api, staff, "sip")
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "incomplete", "KTP tidak terbaca",
                   {"document_notes": {"ktp": "Pindai ulang"}})
    journey.wait_status(lambda s: s["status"] == "awaiting_revision", "revision request")
    # GIVEN the 14-working-day wait is running, WHEN the run is re-entered at the revision wait with a
    # deadline one second away (as a restart does with the remaining time), THEN the ASL's timeout lapses it
    sfn = stack.aws("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    original = machine.replace(":stateMachine:", ":execution:") + ":" + first_run_name(
        "rokan-hilir", journey.registration_number)
    status = journey.status()
    sfn.stop_execution(executionArn=original)
    journey.wait_status(lambda s: s["status"] == "stopped", "stopped run reconciled")  # before the new run starts
    payload = {"application_id": journey.application_id, "office_id": "rokan-hilir", "permit_type": "sip",
               "registration_number": journey.registration_number, "needs_technical_recommendation": False,
               "resume_at": "AwaitRevision", "revision": {"round": 1, "limit_reached": False, "timeout_seconds": 1}}
    sfn.start_execution(stateMachineArn=machine, name=first_run_name("rokan-hilir", journey.registration_number) + "-lapse", input=json.dumps(payload))
    journey.wait_status(lambda s: s["status"] == "lapsed", "lapse", timeout=30)
    assert status["status"] == "awaiting_revision"
    assert journey.applicant
    with pytest.raises(ApiError) as late:
        journey.applicant.post(f"/api/applications/{journey.application_id}/resubmit")
    assert late.value.status == 409


def test_applicant_withdraws_an_undecided_application(stack, api, staff):
    journey = Journey(api, staff, "izin-operasional-orsos")
    journey.apply()
    journey.submit()
    journey.task("back_office", "completeness_check")
    assert journey.applicant
    journey.applicant.post(f"/api/applications/{journey.application_id}/withdraw", {"reason": "Salah jenis izin"})
    journey.wait_status(lambda s: s["status"] == "withdrawn", "withdrawal")
    assert not [t for t in staff["back_office"].get("/api/tasks")["tasks"] if t["application_id"] == journey.application_id]
    with pytest.raises(ApiError) as again:
        journey.applicant.post(f"/api/applications/{journey.application_id}/withdraw", {})
    assert again.value.status == 409


def test_openapi_document_describes_the_api(api):
    document = api.get("/api/openapi.json")
    assert document["openapi"].startswith("3.")
    for path in ("/api/applications", "/api/applications/{application_id}/submit", "/api/tasks/{task_id}/decision",
                 "/api/verify/{permit_id}"):
        assert path in document["paths"], path
    submit = document["paths"]["/api/applications/{application_id}/submit"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in submit["parameters"])
