"""Pure domain rules: catalog, steps and decisions, numbering formats, IKM, working days."""

from datetime import UTC, datetime

import pytest
from silastri.domain import ikm, numbering, steps
from silastri.domain.calendar import WorkingCalendar
from silastri.domain.catalog import default_catalog
from silastri.domain.clock import format_datetime_wib
from silastri.domain.errors import ForbiddenError, NotFoundError, ValidationError
from silastri.domain.models import validate_form


def test_catalog_seeds_rokan_hilir_with_both_permit_types():
    catalog = default_catalog()
    office = catalog.office("rokan-hilir")
    assert office.regency == "Kabupaten Rokan Hilir"
    orsos = catalog.permit_type("rokan-hilir", "izin-operasional-orsos")
    sip = catalog.permit_type("rokan-hilir", "sip")
    assert orsos.stage_plan({}) == {"technical_review": True, "field_visit": False, "payment": "none"}
    assert orsos.technical_agency == "Dinas Sosial Kabupaten Rokan Hilir"
    assert sip.stage_plan({}) == {"technical_review": False, "field_visit": False, "payment": "none"}
    assert sip.technical_agency is None
    assert len(orsos.requirements) == 11
    assert all(t.fee == 0 for t in catalog.offered("rokan-hilir"))


def test_unknown_permit_type_and_office_are_refused_with_the_field():
    catalog = default_catalog()
    with pytest.raises(NotFoundError) as err:
        catalog.permit_type("rokan-hilir", "izin-tambang")
    assert err.value.field == "permit_type"
    with pytest.raises(NotFoundError):
        catalog.office("kota-antah")


def test_a_second_office_is_configuration_only():
    catalog = default_catalog()
    assert catalog.offered("bengkalis") and catalog.office("bengkalis").regency == "Kabupaten Bengkalis"
    assert catalog.permit_type("bengkalis", "sip").permit_type == "sip"
    # its own variant: Rokan Hilir's SIP never asks a recommendation, Bengkalis' does for independent practice
    assert catalog.permit_type("bengkalis", "sip") != catalog.permit_type("rokan-hilir", "sip")
    with pytest.raises(NotFoundError):
        catalog.permit_type("bengkalis", "izin-operasional-apotek")


def test_permit_number_format_of_the_office():
    catalog = default_catalog()
    office = catalog.office("rokan-hilir")
    orsos = catalog.permit_type("rokan-hilir", "izin-operasional-orsos")
    when = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    assert numbering.format_permit_number(office, orsos, 7, when) == "503/DPMPTSP-IOS/0007/XI/2026"
    assert numbering.format_registration_number(office, 123, when) == "REG-2026-000123"
    # 31 Dec 20:00 UTC is already 1 January in WIB
    new_year = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    assert numbering.format_permit_number(office, orsos, 1, new_year) == "503/DPMPTSP-IOS/0001/I/2027"


@pytest.mark.parametrize(
    ("step_id", "role", "outcome", "note", "error"),
    [
        ("completeness_check", "back_office", "complete", None, None),
        ("completeness_check", "verifier", "complete", None, ForbiddenError),
        ("completeness_check", "back_office", "incomplete", None, ValidationError),
        ("completeness_check", "back_office", "incomplete", "KTP bendahara tidak terbaca", None),
        ("technical_review", "technical_team", "not_recommend", "", ValidationError),
        ("verification", "verifier", "approved", None, ValidationError),
        ("approval", "approver", "rejected", "alamat di luar wilayah", None),
        ("signing", "back_office", "signed", None, ForbiddenError),
        ("signing", "head", "signed", None, None),
        ("forwarding", "back_office", "done", None, ForbiddenError),
    ],
)
def test_which_role_may_take_which_decision(step_id, role, outcome, note, error):
    if error:
        with pytest.raises(error):
            steps.check_decision(step_id, {role}, outcome, note)
    else:
        assert steps.check_decision(step_id, {role}, outcome, note).outcome == outcome


def test_every_human_step_has_a_role_and_outcomes_and_sop_numbers_cover_1_to_10():
    numbers = {s.sop_number for s in steps.STEPS.values()}
    assert numbers == set(range(1, 11))
    for definition in steps.STEPS.values():
        if definition.outcomes:
            assert definition.role is not None


def test_form_validation_names_the_field():
    orsos = default_catalog().permit_type("rokan-hilir", "izin-operasional-orsos")
    good = {
        "organisation_name": "Yayasan Peduli Rohil", "organisation_address": "Jl. Pelabuhan 2",
        "district": "Bangko", "chair_name": "Siti", "legal_entity_number": "AHU-0001", "field_of_activity": "Panti asuhan",
    }
    assert validate_form(orsos, good)["district"] == "Bangko"
    for bad, field in [({**good, "district": " "}, "form.district"), ({**good, "x": "1"}, "form.x"),
                       ({**good, "chair_name": "<script>"}, "form.chair_name"),
                       ({**good, "organisation_name": "a" * 201}, "form.organisation_name")]:
        with pytest.raises(ValidationError) as err:
            validate_form(orsos, bad)
        assert err.value.field == field


def test_ikm_formula_and_grades():
    def survey(score):
        return ikm.SurveyAnswers(scores={e: score for e in ikm.ELEMENT_IDS})

    assert ikm.compute_ikm([survey(4)]).converted == 100.0
    assert ikm.compute_ikm([survey(4)]).grade == "A"
    # mean 3.5 on every element → IKM 3.5 → 87.5 → B (88.31 is the A boundary, on the unrounded value)
    result = ikm.compute_ikm([survey(4), survey(3)])
    assert result.converted == 87.5 and result.grade == "B"
    assert ikm.compute_ikm([survey(1)]).grade == "D"
    with pytest.raises(ValueError):
        ikm.SurveyAnswers(scores={"persyaratan": 5})


def test_working_days_skip_weekends_and_times_are_wib():
    friday = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 10:00 WIB Friday
    assert WorkingCalendar().add_working_days(friday.date(), 1).weekday() == 0
    assert format_datetime_wib(friday) == "27 November 2026 10:00 WIB"


def test_add_years_keeps_the_day_or_falls_back_on_29_february():
    from datetime import date

    from silastri.domain.clock import add_years

    assert add_years(date(2026, 11, 28), 5) == date(2031, 11, 28)
    assert add_years(date(2028, 2, 29), 5) == date(2033, 2, 28)
