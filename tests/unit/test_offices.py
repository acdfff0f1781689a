"""Two offices in one deployment, by configuration only: each its own calendar closures, numbering and names."""

from __future__ import annotations

from datetime import date

from silastri.domain.catalog import default_catalog
from silastri.domain.numbering import first_run_name


def test_each_office_has_its_own_closures_on_top_of_the_national_calendar():
    catalog = default_catalog()
    anniversary = date(2026, 7, 31)  # a Friday: Bengkalis closes for its anniversary, Rokan Hilir works
    assert catalog.office("bengkalis").calendar().is_working_day(anniversary) is False
    assert catalog.office("rokan-hilir").calendar().is_working_day(anniversary) is True
    national = date(2026, 8, 17)  # Hari Kemerdekaan: closed everywhere
    assert not any(catalog.office(o).calendar().is_working_day(national) for o in ("bengkalis", "rokan-hilir"))


def test_the_same_registration_number_names_two_runs():
    catalog = default_catalog()
    assert catalog.office("bengkalis").registration_prefix == catalog.office("rokan-hilir").registration_prefix
    assert first_run_name("bengkalis", "REG-2026-000001") != first_run_name("rokan-hilir", "REG-2026-000001")


def test_each_office_offers_its_own_variant_of_a_permit_type():
    catalog = default_catalog()
    home, other = catalog.permit_type("rokan-hilir", "sip"), catalog.permit_type("bengkalis", "sip")
    assert home.name != other.name
    # Bengkalis asks Dinas Kesehatan only for an independent practice; Rokan Hilir never
    assert other.stage_plan({"practice_setting": "Praktik mandiri"})["technical_review"] is True
    assert other.stage_plan({"practice_setting": "Fasilitas pelayanan kesehatan"})["technical_review"] is False
    assert home.stage_plan({})["technical_review"] is False
