"""The payment stage (issue 10) on the local runtime, through the API only.

GIVEN a stack whose catalog (test-only overlay, tests/workflow/payment_overlay) gives SIP a fixed retribution and
orsos one assessed by the technical team — the seeded data keep both without payment — WHEN applications go
through the SOP, THEN the payment is assessed, referenced, paid, checked (a proof rejected once) before numbering,
and an unpaid one lapses. Runs of the seeded catalog (the shared `stack`) never open a payment task."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from silastri.domain.numbering import first_run_name
from silastri_local.client import ApiClient, ApiError, fetch, wait_for
from silastri_local.journey import FINDINGS, SKM_ELEMENTS, Journey, officer_clients, sample_pdf
from silastri_local.stack_process import StackProcess

OVERLAY = Path(__file__).parent / "payment_overlay"
FIXED_AMOUNT = 150000
STAGES = {
    "sip": {"mode": "fixed", "amount": FIXED_AMOUNT, "name": "Retribusi Pelayanan Perizinan (uji)",
            "legal_basis": "Peraturan Daerah tentang Retribusi Daerah (uji)", "methods": ["transfer"],
            "due_working_days": 5},
    "izin-operasional-orsos": {"mode": "assessed", "name": "Retribusi Pemakaian Kekayaan Daerah",
                               "legal_basis": "Peraturan Daerah tentang Pajak Daerah dan Retribusi Daerah (uji)",
                               "methods": ["qris", "transfer"], "due_working_days": 7},
}
PAYMENT_STATES = {"AssessPayment", "RecordFixedAssessment", "IssuePaymentReference", "AwaitPayment", "ConfirmPayment"}


@pytest.fixture(scope="module")
def pay_stack(tmp_path_factory):
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SILASTRI_TEST_PAYMENT_STAGES", json.dumps(STAGES))
        env.setenv("PYTHONPATH", os.pathsep.join([str(OVERLAY), os.environ.get("PYTHONPATH", "")]))
        process = StackProcess(tmp_path_factory.mktemp("payment-stack")).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def pay_api(pay_stack) -> ApiClient:
    client = ApiClient(pay_stack.url)
    officer = next(iter(pay_stack.officers().values()))
    client.outbox_reader = client.login(officer["email"], officer["password"])
    return client


@pytest.fixture(scope="module")
def pay_staff(pay_stack, pay_api):
    return officer_clients(pay_api, pay_stack.officers())


def runs_states(stack: StackProcess, journey: Journey) -> list[str]:
    """The states every execution of the application entered, oldest run first."""
    sfn = stack.aws("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    name = first_run_name("rokan-hilir", journey.registration_number)
    runs = sorted((e for e in sfn.list_executions(stateMachineArn=machine)["executions"]
                   if e["name"] == name or e["name"].startswith(name + "-")), key=lambda e: e["startDate"])
    return [e["stateEnteredEventDetails"]["name"] for run in runs
            for e in sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)["events"]
            if "stateEnteredEventDetails" in e]


def to_approval_done(journey: Journey, technical: bool) -> None:
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "complete")
    if technical:
        journey.decide("technical_team", "technical_review", "recommend", None, FINDINGS)
    journey.decide("verifier", "verification", "verified")
    journey.decide("approver", "approval", "approved")


def awaiting_payment(journey: Journey, rejections: int = 0) -> dict[str, Any]:
    return journey.wait_status(lambda s: (s["payment"] or {}).get("state") == "awaiting_payment"
                               and s["payment"]["rejections"] == rejections and s["payment"]["can_pay"],
                               f"payment reference (after {rejections} rejections)")["payment"]


def pay_with_proof(journey: Journey, title: str) -> None:
    assert journey.applicant
    proof = journey.upload("bukti-pembayaran", sample_pdf(title), "bukti-transfer.pdf")
    assert proof["state"] == "accepted"
    journey.applicant.post(f"/api/applications/{journey.application_id}/payment", {"upload_id": proof["upload_id"]})


def finish_from_numbering(journey: Journey, staff: dict[str, ApiClient]) -> bytes:
    row = journey.task("back_office", "numbering")
    number = staff["back_office"].get(f"/api/tasks/{row['task_id']}")["proposed_number"]
    staff["back_office"].post(f"/api/tasks/{row['task_id']}/decision",
                              {"outcome": "confirmed", "details": {"number": number}})
    journey.decide("head", "signing", "signed")
    journey.decide("back_office", "printing", "printed", details={"copies": 1})
    assert journey.applicant
    journey.applicant.post(f"/api/applications/{journey.application_id}/survey",
                           {"scores": dict.fromkeys(SKM_ELEMENTS, 4)})
    journey.decide("back_office", "pickup", "handed_over")
    journey.wait_status(lambda s: s["status"] == "completed", "completion")
    link = journey.applicant.get(f"/api/applications/{journey.application_id}/files/permit")
    return fetch(link["url"])


def test_fixed_payment_is_referenced_paid_rejected_once_confirmed_and_the_permit_issued(pay_stack, pay_api, pay_staff):
    journey = Journey(pay_api, pay_staff, "sip")
    to_approval_done(journey, technical=False)
    payment = awaiting_payment(journey)
    assert (payment["mode"], payment["amount"], payment["amount_label"]) == ("fixed", FIXED_AMOUNT, "Rp 150.000")
    assert payment["basis"] == STAGES["sip"]["legal_basis"]
    assert payment["method"] == "transfer" and payment["reference_number"].startswith("8808")
    assert len(payment["reference_number"]) == 16 and payment["reference_number"] in payment["instructions"]
    assert payment["due_wib"].endswith("WIB")
    status = journey.status()
    assert status["current_step"] == "payment" and status["expected_completion"] is None  # the clock is paused
    assert "payment_assessment" not in {s["step"] for s in status["steps"]}  # fixed: nobody assesses
    # the applicant is told the amount, the reference and the deadline (WhatsApp template)
    assert journey.credentials
    wait_for(lambda: [m for m in pay_api.outbox() if m["to"] == journey.credentials["phone"]
                      and (m.get("template") or {}).get("name") == "silastri_tagihan_retribusi"
                      and payment["reference_number"] in m["text"]], what="payment_due message")
    # the proof goes the upload path (a checked PDF) and on to the back office, who sees it
    pay_with_proof(journey, "Bukti transfer yang buram")
    row = journey.task("back_office", "payment_confirmation")
    detail = pay_staff["back_office"].get(f"/api/tasks/{row['task_id']}")
    assert detail["payment"]["proof"]["url"] and detail["payment"]["amount"] == FIXED_AMOUNT
    with pytest.raises(ApiError) as no_note:
        journey.decide("back_office", "payment_confirmation", "proof_rejected")
    assert no_note.value.status == 400
    journey.decide("back_office", "payment_confirmation", "proof_rejected", "Bukti transfer tidak terbaca")
    again = awaiting_payment(journey, rejections=1)
    assert again["last_rejection_note"] == "Bukti transfer tidak terbaca"
    assert again["reference_number"] == payment["reference_number"]
    pay_with_proof(journey, "Bukti transfer yang jelas")
    journey.decide("back_office", "payment_confirmation", "confirmed")
    pdf = finish_from_numbering(journey, pay_staff)
    assert pdf.startswith(b"%PDF")
    status = journey.status()
    assert status["payment"]["state"] == "confirmed"
    done = {s["step"] for s in status["steps"] if s["state"] == "done"}
    assert {"payment", "payment_confirmation", "numbering", "pickup"} <= done
    states = runs_states(pay_stack, journey)
    assert "RecordFixedAssessment" in states and "AssessPayment" not in states
    assert states.index("ConfirmPayment") < states.index("ProposeNumber") < states.index("SignPermit")


def test_assessed_payment_is_entered_by_the_technical_team_and_confirmed_from_the_provider(pay_stack, pay_api,
                                                                                            pay_staff):
    journey = Journey(pay_api, pay_staff, "izin-operasional-orsos")
    to_approval_done(journey, technical=True)
    journey.wait_status(lambda s: (s["payment"] or {}).get("state") == "assessing", "assessment task")
    with pytest.raises(ApiError) as zero:
        journey.decide("technical_team", "payment_assessment", "assessed",
                       details={"amount": 0, "basis": "Luas 20 m² × tarif"})
    assert zero.value.status == 400 and zero.value.body["error"]["field"] == "amount"
    with pytest.raises(ApiError) as no_basis:
        journey.decide("technical_team", "payment_assessment", "assessed", details={"amount": 500000})
    assert no_basis.value.status == 400 and no_basis.value.body["error"]["field"] == "basis"
    basis = "Pemakaian halaman kantor 20 m² × Rp 62.500 per m² per tahun (Perda Retribusi, lampiran III)"
    journey.decide("technical_team", "payment_assessment", "assessed", details={"amount": "1.250.000", "basis": basis})
    payment = awaiting_payment(journey)
    assert (payment["mode"], payment["amount"], payment["basis"]) == ("assessed", 1250000, basis)
    assert payment["method"] == "qris" and payment["reference_number"].startswith("QRIS")
    # first proof rejected, then the provider (local simulation) reports the reference paid: no proof needed
    pay_with_proof(journey, "Bukti bayar salah nominal")
    journey.decide("back_office", "payment_confirmation", "proof_rejected", "Nominal tidak sesuai tagihan")
    payment = awaiting_payment(journey, rejections=1)
    assert journey.applicant
    with pytest.raises(ApiError) as unpaid:
        journey.applicant.post(f"/api/applications/{journey.application_id}/payment", {})
    assert unpaid.value.status == 400 and unpaid.value.body["error"]["field"] == "upload_id"
    journey.applicant.post(f"/lokal/pembayaran/{payment['reference_number']}")
    journey.applicant.post(f"/api/applications/{journey.application_id}/payment", {})
    row = journey.task("back_office", "payment_confirmation")
    detail = pay_staff["back_office"].get(f"/api/tasks/{row['task_id']}")
    assert detail["payment"]["provider_status"] == "paid" and detail["payment"]["provider_confirmed"] is True
    journey.decide("back_office", "payment_confirmation", "confirmed")
    finish_from_numbering(journey, pay_staff)
    status = journey.status()
    assert status["status"] == "completed"
    assert {"payment_assessment", "payment", "payment_confirmation"} <= {s["step"] for s in status["steps"]}
    states = runs_states(pay_stack, journey)
    assert states.index("TechnicalReview") < states.index("AssessPayment") < states.index("ProposeNumber")


def test_an_unpaid_application_lapses_at_the_deadline(pay_stack, pay_api, pay_staff):
    journey = Journey(pay_api, pay_staff, "sip")
    to_approval_done(journey, technical=False)
    awaiting_payment(journey)
    # GIVEN the payment wait is running, WHEN the run is re-entered at the wait with one second left (as a
    # continued run carries the time left), THEN the ASL's timeout lapses the application
    sfn = pay_stack.aws("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    name = first_run_name("rokan-hilir", journey.registration_number)
    sfn.stop_execution(executionArn=machine.replace(":stateMachine:", ":execution:") + ":" + name)
    journey.wait_status(lambda s: s["status"] == "stopped", "stopped run reconciled")
    payload = {"application_id": journey.application_id, "office_id": "rokan-hilir", "permit_type": "sip",
               "registration_number": journey.registration_number,
               "plan": {"technical_review": False, "field_visit": False, "payment": "fixed"},
               "resume_at": "AwaitPayment", "payment": {"timeout_seconds": 1}}
    sfn.start_execution(stateMachineArn=machine, name=name + "-lapse", input=json.dumps(payload))
    journey.wait_status(lambda s: s["status"] == "lapsed", "lapse", timeout=30)
    assert journey.applicant
    with pytest.raises(ApiError) as late:
        journey.applicant.post(f"/api/applications/{journey.application_id}/payment", {})
    assert late.value.status == 409


@pytest.mark.parametrize("permit_type", ["sip", "izin-operasional-orsos"])
def test_types_without_payment_never_open_a_payment_task(stack, api, staff, permit_type):
    journey = Journey(api, staff, permit_type)
    journey.run_to_pickup()
    status = journey.status()
    assert status["status"] == "completed" and status["payment"] is None
    assert not {"payment_assessment", "payment", "payment_confirmation"} & {s["step"] for s in status["steps"]}
    states = runs_states(stack, journey)
    assert "NeedsPayment" in states and not PAYMENT_STATES & set(states)
