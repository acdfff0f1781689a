"""The payment stage (issue 10) on the local runtime, through the API only, on the seeded catalog.

GIVEN the shared stack, WHEN applications of a type with a fixed retribution (Bengkalis's sports-hall use, the
Perda's tariff per day) and of one whose retribution the technical team assesses (Rokan Hilir's use of regional
assets) go through the SOP, THEN the payment is assessed, referenced, paid, checked (a proof rejected once) before
numbering, the SLA clock stands still while the applicant pays, and an unpaid one lapses at its deadline. Types
without a payment (orsos, SIP) never open a payment task."""

from __future__ import annotations

import json

import pytest
from silastri.domain.numbering import first_run_name
from silastri_local.client import ApiClient, ApiError, wait_for
from silastri_local.journey import Journey, journey_at, officer_clients

from .conftest import runs_states

FIXED = "izin-pemakaian-gedung-olahraga"  # bengkalis.yaml: payment fixed, Rp 1.500.000
FIXED_AMOUNT = 1500000
ASSESSED = "izin-pemakaian-kekayaan-daerah"  # rokan-hilir.yaml: payment assessed by BPKAD's technical team
PAYMENT_STATES = {"AssessPayment", "RecordFixedAssessment", "IssuePaymentReference", "AwaitPayment", "ConfirmPayment"}


@pytest.fixture(scope="module")
def bengkalis(stack, api) -> dict[str, ApiClient]:
    return officer_clients(api, stack.officers(), "bengkalis")




def test_fixed_payment_is_referenced_paid_rejected_once_confirmed_and_the_permit_issued(stack, api, bengkalis):
    journey = journey_at(api, bengkalis, "payment", FIXED, office_id="bengkalis")
    stage = journey.catalog_entry()["stages"]["payment"]
    payment = journey.awaiting_payment()
    assert (payment["mode"], payment["amount"], payment["amount_label"]) == ("fixed", FIXED_AMOUNT, "Rp 1.500.000")
    assert payment["basis"] == stage["legal_basis"] and "Kabupaten Bengkalis" in payment["basis"]
    assert payment["method"] == "transfer" and payment["reference_number"].startswith("8808")
    assert len(payment["reference_number"]) == 16 and payment["reference_number"] in payment["instructions"]
    assert payment["due_wib"].endswith("WIB")
    status = journey.status()
    assert status["stage_plan"] == {"technical_review": False, "field_visit": False, "payment": "fixed"}
    assert status["current_step"] == "payment" and status["expected_completion"] is None  # the clock is paused
    assert "payment_assessment" not in {s["step"] for s in status["steps"]}  # fixed: nobody assesses
    # the applicant is told the amount, the reference and the deadline (WhatsApp template)
    wait_for(lambda: [m for m in api.outbox() if m["to"] == journey.credentials["phone"]
                      and (m.get("template") or {}).get("name") == "silastri_tagihan_retribusi"
                      and payment["reference_number"] in m["text"]], what="payment_due message")
    # the proof goes the upload path (a checked PDF) and on to the back office, who sees it
    journey.pay("Bukti transfer yang buram")
    row = journey.task("back_office", "payment_confirmation")
    detail = bengkalis["back_office"].get(f"/api/tasks/{row['task_id']}")
    assert detail["payment"]["proof"]["url"] and detail["payment"]["amount"] == FIXED_AMOUNT
    with pytest.raises(ApiError) as no_note:
        journey.decide("back_office", "payment_confirmation", "proof_rejected")
    assert no_note.value.status == 400
    journey.decide("back_office", "payment_confirmation", "proof_rejected", "Bukti transfer tidak terbaca")
    again = journey.awaiting_payment(rejections=1)
    assert again["last_rejection_note"] == "Bukti transfer tidak terbaca"
    # a new bill: a payment the bank reported for the rejected reference cannot settle this one
    assert again["reference_number"] != payment["reference_number"] and len(again["reference_number"]) == 16
    journey.pay("Bukti transfer yang jelas")
    journey.decide("back_office", "payment_confirmation", "confirmed")
    journey.advance(start="numbering")  # numbering, signing, printing, SKM and pickup
    status = journey.status()
    assert status["status"] == "completed" and status["payment"]["state"] == "confirmed"
    done = {s["step"] for s in status["steps"] if s["state"] == "done"}
    assert {"payment", "payment_confirmation", "numbering", "pickup"} <= done
    states = runs_states(stack, journey)
    assert "RecordFixedAssessment" in states and "AssessPayment" not in states and "TechnicalReview" not in states
    assert states.index("ConfirmPayment") < states.index("ConfirmNumber") < states.index("SignPermit")


def test_assessed_payment_is_entered_by_the_technical_team_and_confirmed_from_the_provider(stack, api, staff):
    journey = journey_at(api, staff, "payment_assessment", ASSESSED)
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
    payment = journey.awaiting_payment()
    assert (payment["mode"], payment["amount"], payment["basis"]) == ("assessed", 1250000, basis)
    assert payment["name"] == "Retribusi Pemakaian Kekayaan Daerah"
    assert journey.status()["expected_completion"] is None  # waiting on the applicant: the clock stands still
    # first proof rejected, then the provider (local simulation) reports the reference paid: no proof needed
    journey.pay("Bukti bayar salah nominal")
    journey.decide("back_office", "payment_confirmation", "proof_rejected", "Nominal tidak sesuai tagihan")
    payment = journey.awaiting_payment(rejections=1)
    assert journey.applicant
    with pytest.raises(ApiError) as unpaid:
        journey.applicant.post(f"/api/applications/{journey.application_id}/payment", {})
    assert unpaid.value.status == 400 and unpaid.value.body["error"]["field"] == "upload_id"
    journey.applicant.post(f"/lokal/pembayaran/{payment['reference_number']}")
    journey.applicant.post(f"/api/applications/{journey.application_id}/payment", {})
    row = journey.task("back_office", "payment_confirmation")
    detail = staff["back_office"].get(f"/api/tasks/{row['task_id']}")
    assert detail["payment"]["provider_status"] == "paid" and detail["payment"]["provider_confirmed"] is True
    journey.decide("back_office", "payment_confirmation", "confirmed")
    journey.advance(start="numbering")
    status = journey.status()
    assert status["status"] == "completed"
    assert {"payment_assessment", "payment", "payment_confirmation"} <= {s["step"] for s in status["steps"]}
    states = runs_states(stack, journey)
    assert states.index("TechnicalReview") < states.index("AssessPayment") < states.index("ConfirmNumber")


def test_an_unpaid_application_lapses_at_the_deadline(stack, api, bengkalis):
    journey = journey_at(api, bengkalis, "payment", FIXED, office_id="bengkalis")
    # GIVEN the payment wait is running, WHEN the run is re-entered at the wait with one second left (as a
    # continued run carries the time left), THEN the ASL's timeout lapses the application
    sfn = stack.aws("stepfunctions")
    machine = sfn.list_state_machines()["stateMachines"][0]["stateMachineArn"]
    name = first_run_name("bengkalis", journey.registration_number)
    sfn.stop_execution(executionArn=machine.replace(":stateMachine:", ":execution:") + ":" + name)
    journey.wait_status(lambda s: s["status"] == "stopped", "stopped run reconciled")
    payload = {"application_id": journey.application_id, "office_id": "bengkalis", "permit_type": FIXED,
               "registration_number": journey.registration_number, "plan": journey.plan(),
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
    assert status["stage_plan"]["payment"] == "none"
    assert not {"payment_assessment", "payment", "payment_confirmation"} & {s["step"] for s in status["steps"]}
    states = runs_states(stack, journey)
    assert "NeedsPayment" in states and not PAYMENT_STATES & set(states)
