"""The catalog as data: both offices' YAML files load, `silastri catalog check` passes on them, and each kind of
mistake is reported as FILE:LINE: message with a non-zero exit."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from silastri.domain import numbering
from silastri.domain.catalog import default_catalog
from silastri.domain.catalog_files import CatalogError, load_paths, packaged_files
from silastri.domain.errors import ValidationError
from silastri.domain.models import Application, DocumentState, DocumentVersion, validate_form
from silastri.services.applications import workflow_input
from silastri_local.cli import main

DATA = Path(__file__).resolve().parents[2] / "layers/common/python/silastri/domain/data/catalog"
ROKAN_HILIR = (DATA / "rokan-hilir.yaml").read_text(encoding="utf-8")
BENGKALIS = (DATA / "bengkalis.yaml").read_text(encoding="utf-8")


def check(capsys: pytest.CaptureFixture[str], *files: Path) -> tuple[int, str]:
    code = main(["catalog", "check", *map(str, files)])
    return code, capsys.readouterr().out


def mutated(tmp_path: Path, original: str, old: str, new: str, name: str = "rokan-hilir.yaml",
            after: str | None = None) -> tuple[Path, str]:
    """The catalog file with the first `old` (after the text `after`, if given) replaced by `new`."""
    start = original.index(after) if after else 0
    at = original.index(old, start)
    text = original[:at] + new + original[at + len(old):]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path, text


def line_of(text: str, needle: str, after: str | None = None) -> int:
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def assert_reported(code: int, out: str, path: Path, line: int, words: str) -> None:
    assert code == 1, out
    expected = f"{path}:{line}: "
    assert any(row.startswith(expected) and words in row for row in out.splitlines()), out


# ----------------------------------------------------------------------------- the shipped catalog

def test_both_offices_load_with_their_own_permit_types():
    catalog = default_catalog()
    assert set(catalog.offices) == {"rokan-hilir", "bengkalis"}
    assert [t.permit_type for t in catalog.offered("rokan-hilir")] == [
        "izin-operasional-orsos", "sip", "izin-operasional-apotek", "sip-bidan", "izin-operasional-paud",
        "izin-pemakaian-kekayaan-daerah"]
    assert [t.permit_type for t in catalog.offered("bengkalis")] == ["izin-operasional-orsos", "sip",
                                                                    "izin-pemakaian-gedung-olahraga"]
    rohil, bengkalis = catalog.office("rokan-hilir"), catalog.office("bengkalis")
    assert rohil.registration_prefix == bengkalis.registration_prefix == "REG"  # on purpose
    assert rohil.numbering_format != bengkalis.numbering_format
    assert bengkalis.office_hours.closures and bengkalis.government == "Pemerintah Kabupaten Bengkalis"
    assert catalog.permit_type("bengkalis", "izin-operasional-orsos").technical_agency == "Dinas Sosial Kabupaten Bengkalis"


def test_catalog_check_passes_on_both_files(capsys):
    code, out = check(capsys, DATA / "rokan-hilir.yaml", DATA / "bengkalis.yaml")
    assert code == 0
    assert "OK: 2 kantor, 9 jenis izin" in out


def test_catalog_check_without_files_checks_the_shipped_catalog(capsys):
    code, out = check(capsys)
    assert code == 0 and "OK: 2 kantor" in out
    assert len(packaged_files()) == 2


def test_each_office_numbers_in_its_own_format():
    catalog = default_catalog()
    when = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    bengkalis = catalog.office("bengkalis")
    assert numbering.format_permit_number(bengkalis, catalog.permit_type("bengkalis", "sip"), 7, when) == \
        "503/00007/DPMPTSP-BKS/SIP/11/2026"
    rohil = catalog.office("rokan-hilir")
    # a type's own format wins over the office's
    assert numbering.format_permit_number(rohil, catalog.permit_type("rokan-hilir", "sip-bidan"), 7, when) == \
        "503/0007/DPMPTSP-SIPB/XI/2026"
    assert numbering.format_permit_number(
        rohil, catalog.permit_type("rokan-hilir", "izin-pemakaian-kekayaan-daerah"), 7, when) == "030/DPMPTSP-PKD/007/2026"


# ----------------------------------------------------------------------------- reading a permit type

def test_the_technical_recommendation_can_depend_on_a_form_answer():
    sip = default_catalog().permit_type("bengkalis", "sip")
    assert sip.stage_plan({"practice_setting": "Praktik mandiri"}) == {
        "technical_review": True, "field_visit": True, "payment": "none"}
    assert sip.stage_plan({"practice_setting": "Fasilitas pelayanan kesehatan"})["technical_review"] is False
    assert default_catalog().permit_type("rokan-hilir", "izin-pemakaian-kekayaan-daerah").stage_plan({}) == {
        "technical_review": True, "field_visit": True, "payment": "assessed"}


def test_validity_in_years_months_or_until_revoked():
    catalog = default_catalog()
    issued = date(2026, 1, 31)
    assert catalog.permit_type("rokan-hilir", "sip").valid_until(issued) == date(2031, 1, 31)
    assert catalog.permit_type("rokan-hilir", "izin-pemakaian-kekayaan-daerah").valid_until(issued) == date(2027, 1, 31)
    moment = datetime(2026, 1, 31, 3, 0, tzinfo=UTC)
    paud = catalog.permit_type("rokan-hilir", "izin-operasional-paud")
    assert paud.valid_until(moment) is None
    assert paud.validity.label == "Selama pemegang izin menjalankan kegiatan"
    months = catalog.permit_type("rokan-hilir", "izin-pemakaian-kekayaan-daerah").validity.model_copy(
        update={"months": 1})
    assert months.until(issued) == date(2026, 2, 28)  # the 31st becomes the end of a shorter month


def test_the_holder_is_the_field_the_catalog_marks():
    apotek = default_catalog().permit_type("rokan-hilir", "izin-operasional-apotek")
    assert apotek.holder_field.field == "pharmacy_name"
    app = Application(application_id="a", office_id="rokan-hilir", applicant_id="u",
                      permit_type="izin-operasional-apotek", form={"pharmacy_name": "Apotek Sehat"},
                      created_at=datetime(2026, 11, 3, tzinfo=UTC))
    assert app.holder_name() == app.holder_name(apotek) == "Apotek Sehat"


def test_forms_are_checked_by_field_type():
    paud = default_catalog().permit_type("rokan-hilir", "izin-operasional-paud")
    good = {"institution_name": "TK Tunas", "paud_form": "Kelompok Bermain (KB)", "organiser_name": "Yayasan Tunas",
            "head_name": "Maimunah", "address": "Jl. Pendidikan 3\nBagansiapiapi", "district": "Bangko",
            "pupils": "25", "founded_on": "2025-07-14"}
    assert validate_form(paud, good)["address"] == "Jl. Pendidikan 3\nBagansiapiapi"  # textarea keeps the line
    assert validate_form(paud, {**good, "pupils": 25})["pupils"] == "25"
    for bad, field in [({**good, "district": "Dumai"}, "form.district"), ({**good, "paud_form": "SD"}, "form.paud_form"),
                       ({**good, "pupils": "dua puluh"}, "form.pupils"), ({**good, "pupils": "0"}, "form.pupils"),
                       ({**good, "pupils": True}, "form.pupils"), ({**good, "founded_on": "14-07-2025"}, "form.founded_on"),
                       ({**good, "founded_on": "2025-02-30"}, "form.founded_on")]:
        with pytest.raises(ValidationError) as err:
            validate_form(paud, bad)
        assert err.value.field == field
    assert "founded_on" not in validate_form(paud, {k: v for k, v in good.items() if k != "founded_on"})


def test_optional_and_conditional_requirements_are_not_asked_when_not_needed():
    bidan = default_catalog().permit_type("rokan-hilir", "sip-bidan")
    app = Application(application_id="a", office_id="rokan-hilir", applicant_id="u", permit_type="sip-bidan",
                      form={"practice_kind": "Praktik mandiri bidan"}, created_at=datetime(2026, 11, 3, tzinfo=UTC))
    missing = app.missing_requirements(bidan)
    assert "pas-foto" not in missing and "surat-pimpinan-fasyankes" not in missing
    assert "denah-praktik-mandiri" in missing
    app.documents = [DocumentVersion(upload_id=r, requirement_id=r, version=1, state=DocumentState.ACCEPTED, key=r,
                                     filename="x.pdf", uploaded_at=datetime(2026, 11, 3, tzinfo=UTC)) for r in missing]
    assert app.missing_requirements(bidan) == []


def test_the_run_carries_the_plan_stored_at_submission():
    app = Application(application_id="a", office_id="bengkalis", applicant_id="u", permit_type="sip",
                      registration_number="REG-2026-000001", form={"practice_setting": "Praktik mandiri"},
                      created_at=datetime(2026, 11, 3, tzinfo=UTC))
    assert workflow_input(app)["plan"]["technical_review"] is True
    app.stage_plan = {"technical_review": False, "field_visit": False, "payment": "none"}  # as stored
    payload = workflow_input(app)
    assert payload["plan"] == app.stage_plan and payload["needs_technical_recommendation"] is False
    assert set(payload) == {"application_id", "office_id", "permit_type", "registration_number", "plan",
                            "needs_technical_recommendation"}


# ----------------------------------------------------------------------------- one test per kind of mistake

def test_an_unknown_key_is_reported_at_its_line(tmp_path, capsys):
    path, text = mutated(tmp_path, ROKAN_HILIR, "    name: Surat Izin Praktik\n",
                         "    name: Surat Izin Praktik\n    colour: merah\n")
    assert_reported(*check(capsys, path), path, line_of(text, "colour: merah"), "colour: kunci tidak dikenal")


def test_a_value_of_the_wrong_type_is_reported_at_its_line(tmp_path, capsys):
    path, text = mutated(tmp_path, ROKAN_HILIR, "pickup_window_days: 90", "pickup_window_days: sembilan puluh")
    assert_reported(*check(capsys, path), path, line_of(text, "pickup_window_days"), "office.pickup_window_days")


def test_a_type_without_a_holder_field_is_reported(tmp_path, capsys):
    old = "{field: practitioner_name, label: Nama tenaga kesehatan, max_length: 200, holder_name: true}"
    path, text = mutated(tmp_path, ROKAN_HILIR, old, old.replace(", holder_name: true", ""))
    line = line_of(text, "form_fields:", after="- permit_type: sip\n")
    assert_reported(*check(capsys, path), path, line, "holder_name: true")


def test_two_holder_fields_are_reported_at_the_second(tmp_path, capsys):
    old = "{field: str_number, label: Nomor STR, max_length: 100}"
    path, text = mutated(tmp_path, ROKAN_HILIR, old, old[:-1] + ", holder_name: true}", after="- permit_type: sip\n")
    line = line_of(text, "{field: str_number", after="- permit_type: sip\n")
    assert_reported(*check(capsys, path), path, line, "lebih dari satu kolom holder_name")


def test_a_condition_naming_an_unknown_field_is_reported(tmp_path, capsys):
    path, text = mutated(tmp_path, BENGKALIS, "when: {field: practice_setting,", "when: {field: practice_place,",
                         name="bengkalis.yaml")
    assert_reported(*check(capsys, path), path, line_of(text, "when: {field: practice_place"),
                    "kolom 'practice_place' tidak ada")


def test_a_condition_naming_an_unknown_option_is_reported(tmp_path, capsys):
    path, text = mutated(tmp_path, BENGKALIS, "when: {field: practice_setting, equals: Praktik mandiri}",
                         "when: {field: practice_setting, equals: Praktik sendiri}", name="bengkalis.yaml")
    assert_reported(*check(capsys, path), path, line_of(text, "equals: Praktik sendiri"),
                    "'Praktik sendiri' bukan pilihan kolom 'practice_setting'")


def test_a_requirement_condition_naming_an_unknown_field_is_reported(tmp_path, capsys):
    path, text = mutated(tmp_path, ROKAN_HILIR, "required_when: {field: ownership,", "required_when: {field: pemilik,")
    assert_reported(*check(capsys, path), path, line_of(text, "{field: pemilik"), "kolom 'pemilik' tidak ada")


def test_an_unknown_stage_time_key_is_reported(tmp_path, capsys):
    path, text = mutated(tmp_path, ROKAN_HILIR, "technical_review: {working_days: 7}", "technical_reviu: {working_days: 7}")
    assert_reported(*check(capsys, path), path, line_of(text, "technical_reviu"), "'technical_reviu' bukan id tahap SOP")


def test_a_fixed_payment_without_an_amount_is_reported(tmp_path, capsys):
    path, text = mutated(tmp_path, ROKAN_HILIR, "mode: assessed", "mode: fixed")
    line = line_of(text, "      payment:", after="- permit_type: izin-pemakaian-kekayaan-daerah")
    assert_reported(*check(capsys, path), path, line, "amount is given exactly when mode is 'fixed'")


def test_a_validity_with_two_periods_is_reported(tmp_path, capsys):
    path, text = mutated(tmp_path, ROKAN_HILIR, "validity: {months: 12}", "validity: {months: 12, years: 1}")
    assert_reported(*check(capsys, path), path, line_of(text, "validity: {months: 12, years: 1}"),
                    "validity is exactly one of")


def test_an_unknown_numbering_placeholder_is_reported(tmp_path, capsys):
    old = 'numbering_format: "{classification}/{seq:04d}/DPMPTSP-{unit}/{month_roman}/{year}"'
    path, text = mutated(tmp_path, ROKAN_HILIR, old, old.replace("{month_roman}", "{bulan}"))
    assert_reported(*check(capsys, path), path, line_of(text, "{bulan}"), "placeholder '{bulan}' tidak dikenal")


def test_an_unknown_decree_placeholder_is_reported(tmp_path, capsys):
    path, text = mutated(tmp_path, ROKAN_HILIR, "kepada {holder_name} di Kecamatan {district}",
                         "kepada {nama_apotek} di Kecamatan {district}")
    assert_reported(*check(capsys, path), path, line_of(text, "{nama_apotek}"), "placeholder '{nama_apotek}' tidak dikenal")


def test_a_duplicate_permit_type_id_is_reported(tmp_path, capsys):
    path, text = mutated(tmp_path, ROKAN_HILIR, "- permit_type: sip-bidan", "- permit_type: sip")
    line = line_of(text, "- permit_type: sip\n", after="- permit_type: izin-operasional-apotek")
    assert_reported(*check(capsys, path), path, line, "jenis izin 'sip' ganda")


def test_a_bad_office_id_is_reported(tmp_path, capsys):
    path, text = mutated(tmp_path, ROKAN_HILIR, "office_id: rokan-hilir", "office_id: Rokan Hilir!")
    assert_reported(*check(capsys, path), path, line_of(text, "office_id: Rokan Hilir!"), "office.office_id")


def test_the_same_office_in_two_files_is_reported(tmp_path, capsys):
    first, _ = mutated(tmp_path, ROKAN_HILIR, "office_id: rokan-hilir", "office_id: rokan-hilir")
    second = tmp_path / "copy" / "rokan-hilir.yaml"
    second.parent.mkdir()
    second.write_text(ROKAN_HILIR, encoding="utf-8")
    assert_reported(*check(capsys, first, second), second, line_of(ROKAN_HILIR, "office_id: rokan-hilir"),
                    "sudah ada di")


def test_a_file_named_after_another_office_is_reported(tmp_path, capsys):
    path = tmp_path / "kampar.yaml"
    path.write_text(BENGKALIS, encoding="utf-8")
    assert_reported(*check(capsys, path), path, line_of(BENGKALIS, "office_id: bengkalis"), "kampar.yaml")


def test_yaml_syntax_and_duplicate_keys_are_reported_at_their_line(tmp_path, capsys):
    path, text = mutated(tmp_path, ROKAN_HILIR, "  city: Bagansiapiapi\n", "  city: Bagansiapiapi\n  city: Bagan\n")
    assert_reported(*check(capsys, path), path, line_of(text, "  city: Bagan\n"), "kunci 'city' ganda")
    path, text = mutated(tmp_path, ROKAN_HILIR, "escalation_chain: [back_office,", "escalation_chain: [back_office,,")
    code, out = check(capsys, path)
    assert code == 1 and f"{path}:" in out and "YAML tidak valid" in out


def test_an_invalid_catalog_stops_loading_with_the_same_message(tmp_path, capsys):
    path, _ = mutated(tmp_path, ROKAN_HILIR, "validity: {months: 12}", "validity: {}")
    code, out = check(capsys, path)
    with pytest.raises(CatalogError) as err:
        load_paths([path])
    assert code == 1
    assert [str(m) for m in err.value.mistakes] == out.splitlines()
    assert all(line in str(err.value) for line in out.splitlines())


def test_a_date_answer_prints_on_the_decree_in_indonesian():
    """The form keeps ISO dates; the decree (its details and its {placeholders}) prints them as Indonesians write."""
    from silastri.domain.catalog import default_catalog

    hall = default_catalog().permit_type("bengkalis", "izin-pemakaian-gedung-olahraga")
    field = next(f for f in hall.form_fields if f.field == "event_on")
    assert field.display("2026-12-05") == "5 Desember 2026"
    assert field.display(None) == "-"
    assert next(f for f in hall.form_fields if f.field == "participants").display(120) == "120"
    assert any("{event_on}" in article for article in hall.decree.articles)
