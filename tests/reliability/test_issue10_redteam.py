"""Red team of issue 10 (payment stage, step modules, many offices) through the API of a running local stack.

Each test is one defect found by playing a user or an attacker: its docstring says what the user does, what
should happen (DESIGN "Promises kept": bad input gets a 4xx with a field-level reason, never a 500, and changes
nothing), and what happened when it was found; all pass since the fixes (amounts parsed as ASCII digits in
groups of three, a new bill after a rejected proof, the local bank refusing references it never issued, notes on
another type's documents a 400, catalog lookups answered in Bahasa Indonesia). Validation probes send a second, invalid field (an empty `basis`, a control
character) so that a probe that the product wrongly accepts still leaves the task open for the next probe."""

from __future__ import annotations

from typing import Any

import pytest
from silastri_local.client import ApiClient, ApiError
from silastri_local.journey import FINDINGS, Journey, sample_pdf

PKD = "izin-pemakaian-kekayaan-daerah"  # the seeded type whose retribution the technical team assesses


def answer(client: ApiClient, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    try:
        return 200, client.call(method, path, body)
    except ApiError as exc:
        return exc.status, exc.body


def field_of(body: Any) -> str | None:
    return (body.get("error") or {}).get("field") if isinstance(body, dict) else None


def to_assessment(journey: Journey) -> str:
    """Submit a PKD application and take it through the SOP until the technical team assesses the retribution;
    the assessment task's id."""
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "complete")
    journey.decide("technical_team", "technical_review", "recommend", None, FINDINGS)
    journey.decide("verifier", "verification", "verified")
    journey.decide("approver", "approval", "approved")
    return str(journey.task("technical_team", "payment_assessment")["task_id"])


def awaiting_payment(journey: Journey, rejections: int = 0) -> dict[str, Any]:
    return journey.wait_status(lambda s: bool((s.get("payment") or {}).get("can_pay"))
                               and s["payment"]["rejections"] == rejections, "the applicant's payment wait")["payment"]


@pytest.fixture(scope="module")
def assessment(api, staff) -> tuple[Journey, str]:
    """One PKD application waiting for the technical team's assessment (probes below never decide it)."""
    journey = Journey(api, staff, PKD)
    return journey, to_assessment(journey)


@pytest.fixture(scope="module")
def technical_review(api, staff) -> tuple[Journey, str]:
    """One orsos application waiting for the technical team's recommendation (probes below never decide it)."""
    journey = Journey(api, staff, "izin-operasional-orsos")
    journey.apply()
    journey.submit()
    journey.decide("back_office", "completeness_check", "complete")
    return journey, str(journey.task("technical_team", "technical_review")["task_id"])


# ----------------------------------------------------------------------------- payment assessment

def test_an_amount_written_with_a_superscript_digit_is_a_400_not_a_500(assessment, staff):
    """The technical team types the amount "²" (a digit to str.isdigit): should be 400 field amount; is a 500."""
    _, task_id = assessment
    status, body = answer(staff["technical_team"], "POST", f"/api/tasks/{task_id}/decision",
                          {"outcome": "assessed", "details": {"amount": "²", "basis": "Tarif Perda x 10 m2"}})
    assert status == 400, (status, body)
    assert field_of(body) == "amount"


@pytest.mark.parametrize("amount", ["1.5", "1.50", "15.00.000", "1..000"])
def test_an_amount_with_misplaced_thousands_dots_is_refused(assessment, staff, amount):
    """The technical team types "1.5" (a decimal, or 1,5 juta): should be 400 field amount ("1.500.000" style
    only); the dots are dropped and the applicant is billed Rp 15 (the probe's bad basis alone stops it)."""
    _, task_id = assessment
    status, body = answer(staff["technical_team"], "POST", f"/api/tasks/{task_id}/decision",
                          {"outcome": "assessed", "details": {"amount": amount, "basis": "\x00"}})
    assert status == 400 and field_of(body) == "amount", (amount, status, body)


@pytest.mark.parametrize("amount", ["١٥٠٠٠٠", "１５００００"])
def test_an_amount_in_non_ascii_digits_is_refused(assessment, staff, amount):
    """The technical team pastes Arabic-Indic or full-width digits: should be 400 field amount (the bank and the
    decree read ASCII Rupiah); they are accepted as a number (the probe's bad basis alone stops it)."""
    _, task_id = assessment
    status, body = answer(staff["technical_team"], "POST", f"/api/tasks/{task_id}/decision",
                          {"outcome": "assessed", "details": {"amount": amount, "basis": "\x00"}})
    assert status == 400 and field_of(body) == "amount", (amount, status, body)


# ----------------------------------------------------------------------------- the applicant's payment

def test_a_rejected_provider_payment_cannot_be_claimed_again_without_a_proof(api, staff):
    """The bank reports the reference paid, the applicant says "paid" without a proof, the back office rejects it
    (money not in the treasury); the new reference should be unpaid (the applicant must pay or send a proof);
    it is the same number, still "paid", and "paid" without a proof is accepted again at once."""
    journey = Journey(api, staff, PKD)
    task_id = to_assessment(journey)
    staff["technical_team"].post(f"/api/tasks/{task_id}/decision",
                                 {"outcome": "assessed", "details": {"amount": 250000, "basis": "Tarif Perda x 5 m2"}})
    first = awaiting_payment(journey)
    assert journey.applicant
    journey.applicant.post(f"/lokal/pembayaran/{first['reference_number']}", {})
    journey.applicant.post(f"/api/applications/{journey.application_id}/payment", {})
    journey.decide("back_office", "payment_confirmation", "proof_rejected", "Dana belum masuk ke kas daerah")
    again = awaiting_payment(journey, rejections=1)
    status, body = answer(journey.applicant, "POST", f"/api/applications/{journey.application_id}/payment", {})
    assert status == 400 and field_of(body) == "upload_id", (again["reference_number"], status, body)


def test_the_local_bank_simulation_refuses_a_reference_never_issued(api, staff):
    """A signed-in user marks "AAAAAAAA" (no such reference) paid on /lokal/pembayaran: should be 404 "nomor
    referensi tidak dikenal" (as its docstring says); it answers 200 "paid" and writes a marker."""
    applicant = Journey(api, staff, "sip").register()
    status, body = answer(applicant, "POST", "/lokal/pembayaran/AAAAAAAA", {})
    assert status == 404 and field_of(body) == "reference_number", (status, body)


# ----------------------------------------------------------------------------- technical team's revision

def test_a_revision_naming_another_types_requirement_names_the_field(technical_review, staff):
    """The technical team returns an orsos file with a note for "str" (a SIP requirement): should be 400 with
    field document_notes.str and an Indonesian message; it is 404, field "requirement_id" (not in the request),
    message "unknown requirement 'str' for izin-operasional-orsos"."""
    _, task_id = technical_review
    status, body = answer(staff["technical_team"], "POST", f"/api/tasks/{task_id}/decision",
                          {"outcome": "revision", "note": "Perbaiki berkas",
                           "details": {"document_notes": {"str": "STR sudah kedaluwarsa"}}})
    assert status == 400, (status, body)
    assert field_of(body) == "document_notes.str", body
    assert "unknown" not in body["error"]["message"], body


def test_a_revision_note_that_is_not_text_is_refused_at_its_field(technical_review, staff):
    """The technical team sends {"domisili": 5} as a document note: should be 400 field document_notes.domisili
    (the note is not text); held if so — guards the order of the checks in steps/_common.document_notes."""
    _, task_id = technical_review
    status, body = answer(staff["technical_team"], "POST", f"/api/tasks/{task_id}/decision",
                          {"outcome": "revision", "note": "Perbaiki", "details": {"document_notes": {"domisili": 5}}})
    assert status == 400 and field_of(body) == "document_notes.domisili", (status, body)


# ----------------------------------------------------------------------------- applications of other offices

@pytest.mark.parametrize(("office_id", "permit_type", "field"), [
    ("kampar", "sip", "office_id"),                            # no such office
    ("rokan-hilir", "izin-tambang", "permit_type"),            # no such type
    ("bengkalis", "izin-operasional-apotek", "permit_type"),   # a type only the other office offers
])
def test_an_application_for_an_unknown_office_or_type_is_refused_in_bahasa_indonesia(api, staff, office_id,
                                                                                     permit_type, field):
    """An applicant creates an application for an office/type that does not exist: should be 4xx with the field
    and an Indonesian message (the UI's language); the message is English ("unknown office 'kampar'")."""
    applicant = Journey(api, staff, "sip").register()
    status, body = answer(applicant, "POST", "/api/applications",
                          {"office_id": office_id, "permit_type": permit_type, "form": {}})
    assert 400 <= status < 500 and field_of(body) == field, (status, body)
    assert not body["error"]["message"].startswith("unknown"), body


def test_the_proof_upload_is_still_a_pdf_check(api, staff):
    """(held) A proof uploaded while the wait is open goes through the PDF check like any requirement."""
    journey = Journey(api, staff, PKD)
    task_id = to_assessment(journey)
    staff["technical_team"].post(f"/api/tasks/{task_id}/decision",
                                 {"outcome": "assessed", "details": {"amount": "1.500.000", "basis": "Tarif x 10 m2"}})
    payment = awaiting_payment(journey)
    assert (payment["amount"], payment["amount_label"]) == (1500000, "Rp 1.500.000")
    assert payment["due_wib"].endswith(" WIB")
    with pytest.raises(ApiError) as refused:
        journey.upload("bukti-pembayaran", b"not a pdf", "bukti.pdf")
    assert refused.value.status == 422
    assert journey.upload("bukti-pembayaran", sample_pdf("Bukti"), "bukti.pdf")["state"] == "accepted"
