"""Every permit type beside orsos and SIP, from submission to pickup on the running stack, through the API only,
each as its catalog entry (YAML) says (issue 10, point 4): the stages its stage plan holds, and a decree with the
holder named by its holder field, its validity, its legal bases in *Mengingat* and its office's letterhead."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from silastri.adapters.signing import DevPkiSigner, verify_signed_pdf
from silastri.domain.catalog import default_catalog
from silastri.domain.clock import format_date_id
from silastri.services.permits import legal_bases
from silastri_local.client import ApiClient, ApiError
from silastri_local.journey import ASSESSMENT, FORMS, Journey, form_for, officer_clients

WIB = ZoneInfo("Asia/Jakarta")


@pytest.fixture(scope="module")
def bengkalis(stack, api) -> dict[str, ApiClient]:
    return officer_clients(api, stack.officers(), "bengkalis")


def flat(text: str) -> str:
    return " ".join(text.split())


def issued(stack, journey: Journey, pdf: bytes) -> str:
    """Check the permit of a completed journey as the catalog entry of its type says; returns the decree's text.

    Holder: the answer to the type's holder field; validity: from today (WIB) for the type's period or until
    revoked; every legal basis in *Mengingat*; the issuing office's letterhead; a signature that validates and
    a public verification naming the permit."""
    status = journey.status()
    assert status["status"] == "completed", status["status"]
    catalog = default_catalog()
    office_id = journey.office_id or "rokan-hilir"
    office = catalog.office(office_id)
    definition = catalog.permit_type(office_id, journey.permit_type)
    assert journey.form
    text = flat(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    holder = definition.holder(journey.form)
    assert holder == journey.form[definition.holder_field.field] and holder in text
    today = datetime.now(WIB).date()
    until = definition.valid_until(today)
    validity = (f"{format_date_id(today)} sampai dengan {format_date_id(until)}" if until
                else f"Sejak {format_date_id(today)}, {definition.validity.label.lower()}")
    assert validity in text, validity
    mengingat = text[text.index("Mengingat"):text.index("MEMUTUSKAN")]
    for basis in legal_bases(definition, office):
        assert flat(basis) in mengingat, basis
    assert office.government.upper() in text and office.address in text
    other = next(o for o in catalog.offices.values() if o.office_id != office_id)
    assert other.regency.upper() not in text.upper()
    assert definition.decree_title.upper() in text
    assert verify_signed_pdf(pdf, DevPkiSigner(stack.data_dir / "pki").trust_roots_pem()).valid
    assert journey.api.get(f"/api/verify/{status['permit_id']}")["valid"] is True
    return text


def done_steps(status: dict[str, Any]) -> set[str]:
    return {s["step"] for s in status["steps"] if s["state"] == "done"}


def test_pharmacy_permit_has_the_health_office_recommendation_after_a_field_visit(stack, api, staff):
    journey = Journey(api, staff, "izin-operasional-apotek")
    pdf = journey.run_to_pickup()
    status = journey.status()
    assert status["stage_plan"] == {"technical_review": True, "field_visit": True, "payment": "none"}
    assert "technical_review" in done_steps(status) and status["payment"] is None
    assert "/DPMPTSP-SIA/" in status["permit_number"]
    text = issued(stack, journey, pdf)
    assert "Rekomendasi Teknis Dinas Kesehatan Kabupaten Rokan Hilir" in text
    assert f"apoteker penanggung jawab {journey.form['pharmacist_name']} (SIPA {journey.form['sipa_number']})" in text
    # the visit date is part of the recommendation: a visit in the future is refused
    other = Journey(api, staff, "izin-operasional-apotek")
    other.apply()
    other.submit()
    other.decide("back_office", "completeness_check", "complete")
    with pytest.raises(ApiError) as future:
        other.decide("technical_team", "technical_review", "recommend", None,
                     {"findings": ["Sarana sesuai"], "visited_on": "2099-01-01"})
    assert future.value.status == 400 and future.value.body["error"]["field"] == "visited_on"


def test_midwife_permit_needs_str_number_and_practice_address_and_skips_the_recommendation(stack, api, staff):
    journey = Journey(api, staff, "sip-bidan", answers={"practice_kind": "Praktik mandiri bidan"})
    applicant = journey.register()
    spec = journey.catalog_entry()
    for missing in ("str_number", "practice_address"):
        form = {**form_for(spec, FORMS.get("sip-bidan")), missing: ""}
        with pytest.raises(ApiError) as refused:
            applicant.post("/api/applications", {"permit_type": "sip-bidan", "form": form})
        assert refused.value.status == 400 and refused.value.body["error"]["field"] == f"form.{missing}"
    pdf = journey.run_to_pickup()
    status = journey.status()
    assert status["stage_plan"] == {"technical_review": False, "field_visit": False, "payment": "none"}
    assert "technical_review" not in {s["step"] for s in status["steps"]}
    assert status["permit_number"].startswith("503/") and "/DPMPTSP-SIPB/" in status["permit_number"]
    # the independent practice's floor plan was required (and uploaded); the facility's letter was not
    uploaded = {d["requirement_id"] for d in status["documents"]}
    assert "denah-praktik-mandiri" in uploaded and "surat-pimpinan-fasyankes" not in uploaded
    text = issued(stack, journey, pdf)
    assert f"Surat Tanda Registrasi Bidan Nomor {journey.form['str_number']}" in text
    assert flat(journey.form["practice_address"]) in text


def test_paud_permit_has_the_education_office_recommendation_and_is_valid_until_revoked(stack, api, staff):
    journey = Journey(api, staff, "izin-operasional-paud")
    pdf = journey.run_to_pickup()
    status = journey.status()
    assert status["stage_plan"]["technical_review"] is True and status["stage_plan"]["payment"] == "none"
    text = issued(stack, journey, pdf)
    assert "Rekomendasi Teknis Dinas Pendidikan Kabupaten Rokan Hilir" in text
    assert "selama pemegang izin menjalankan kegiatan" in text.lower()


def test_regional_asset_use_has_its_retribution_assessed_and_paid_before_numbering(stack, api, staff):
    journey = Journey(api, staff, "izin-pemakaian-kekayaan-daerah")
    pdf = journey.run_to_pickup()
    status = journey.status()
    assert status["stage_plan"] == {"technical_review": True, "field_visit": True, "payment": "assessed"}
    assert {"technical_review", "payment_assessment", "payment", "payment_confirmation"} <= done_steps(status)
    assert status["payment"]["state"] == "confirmed" and status["payment"]["amount"] == ASSESSMENT["amount"]
    assert status["payment"]["basis"] == ASSESSMENT["basis"]
    assert status["permit_number"].startswith("030/DPMPTSP-PKD/")
    text = issued(stack, journey, pdf)
    assert "Badan Pengelolaan Keuangan dan Aset Daerah Kabupaten Rokan Hilir" in text


def test_sports_hall_use_in_bengkalis_has_a_fixed_retribution(stack, api, bengkalis):
    journey = Journey(api, bengkalis, "izin-pemakaian-gedung-olahraga", office_id="bengkalis")
    pdf = journey.run_to_pickup()
    status = journey.status()
    assert status["stage_plan"] == {"technical_review": False, "field_visit": False, "payment": "fixed"}
    assert {"payment", "payment_confirmation"} <= done_steps(status)
    assert "payment_assessment" not in {s["step"] for s in status["steps"]}
    assert (status["payment"]["amount"], status["payment"]["amount_label"]) == (1500000, "Rp 1.500.000")
    assert "/DPMPTSP-BKS/GOR/" in status["permit_number"]
    text = issued(stack, journey, pdf)  # valid 30 days: the period is printed as dates
    assert "Retribusi Pemakaian Kekayaan Daerah sesuai tarif Peraturan Daerah" in text
    # the date of use answered in the form (ISO) is printed as Indonesians write it
    event_on = date.fromisoformat(journey.form["event_on"])
    assert f"pada tanggal {format_date_id(event_on)}" in " ".join(text.split()), text


@pytest.mark.parametrize(("setting", "reviewed"), [("Praktik mandiri", True), ("Fasilitas pelayanan kesehatan", False)])
def test_bengkalis_sip_has_the_recommendation_only_for_an_independent_practice(stack, api, bengkalis, setting,
                                                                                reviewed):
    journey = Journey(api, bengkalis, "sip", office_id="bengkalis", answers={"practice_setting": setting})
    pdf = journey.run_to_pickup()
    status = journey.status()
    assert status["stage_plan"] == {"technical_review": reviewed, "field_visit": reviewed, "payment": "none"}
    assert ("technical_review" in done_steps(status)) is reviewed
    assert ("technical_review" in {s["step"] for s in status["steps"]}) is reviewed
    text = issued(stack, journey, pdf)
    assert ("Rekomendasi Teknis Dinas Kesehatan Kabupaten Bengkalis" in text) is reviewed
    assert f"Surat Tanda Registrasi Nomor {journey.form['str_number']}" in text
