"""The payment stage's pure rules (domain/payment.py) and the local payment provider (adapters/payment.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from silastri.adapters.payment import LocalPaymentProvider
from silastri.domain import payment
from silastri.domain.catalog import PaymentStage, default_catalog
from silastri.domain.errors import ValidationError
from silastri.domain.payment import PaymentRecord

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(("given", "expected"), [(1250000, 1250000), ("1.250.000", 1250000), ("Rp 50.000", 50000),
                                                 (" 7500 ", 7500)])
def test_an_assessment_takes_whole_rupiah(given, expected):
    assert payment.parse_assessment(given, "Perda retribusi, tarif × luas") == (expected, "Perda retribusi, tarif × luas")


@pytest.mark.parametrize("bad", [0, -5, "0", "1,5", 12.5, True, None, "satu juta", 10**13])
def test_an_amount_that_is_not_a_positive_whole_rupiah_is_refused_on_its_field(bad):
    with pytest.raises(ValidationError) as refused:
        payment.parse_assessment(bad, "dasar")
    assert refused.value.field == "amount"


@pytest.mark.parametrize("bad", [None, "", "   ", 5])
def test_an_assessment_needs_its_basis(bad):
    with pytest.raises(ValidationError) as refused:
        payment.parse_assessment(1000, bad)
    assert refused.value.field == "basis"


def test_rupiah_use_the_indonesian_thousands_separator():
    assert payment.format_rupiah(1250000) == "Rp 1.250.000"
    assert payment.format_rupiah(500) == "Rp 500"


def test_reference_numbers_are_deterministic_per_application_and_method():
    va = payment.reference_number("transfer", "app-1")
    assert va == payment.reference_number("transfer", "app-1") != payment.reference_number("transfer", "app-2")
    assert len(va) == 16 and va.isdigit() and va.startswith("8808")
    qris = payment.reference_number("qris", "app-1")
    assert qris.startswith("QRIS") and len(qris) == 16
    with pytest.raises(ValidationError):
        payment.reference_number("cash", "app-1")


def test_a_rejected_proof_gives_back_the_time_that_was_left_at_least_an_hour():
    record = PaymentRecord(remaining_seconds=2 * 86400)
    assert payment.due_after_rejection(record, NOW) == NOW + timedelta(days=2)
    assert payment.due_after_rejection(PaymentRecord(remaining_seconds=5), NOW) == NOW + timedelta(hours=1)


def test_the_wait_is_at_least_one_second_even_past_the_deadline():
    assert payment.timeout_seconds(NOW + timedelta(minutes=2), NOW) == 120
    assert payment.timeout_seconds(NOW - timedelta(days=1), NOW) == 1


def test_the_payment_stage_of_a_type_defaults_to_none_and_a_fixed_one_needs_its_amount():
    assert PaymentStage().mode == "none"
    with pytest.raises(ValueError, match="amount"):
        PaymentStage(mode="fixed")
    catalog = default_catalog()  # orsos and SIP keep their behaviour: no payment; the retribution is assessed
    assert catalog.permit_type("rokan-hilir", "izin-operasional-orsos").stage_plan({})["payment"] == "none"
    assert catalog.permit_type("rokan-hilir", "sip").stage_plan({})["payment"] == "none"
    assert catalog.permit_type("rokan-hilir", "izin-pemakaian-kekayaan-daerah").stage_plan({})["payment"] == "assessed"


def test_the_local_provider_issues_references_and_reports_them_paid_once_marked(tmp_path):
    provider = LocalPaymentProvider(tmp_path)
    due = NOW + timedelta(days=7)
    reference = provider.create_reference("app-1", 150000, "Retribusi", due, method="transfer")
    assert reference == provider.create_reference("app-1", 150000, "Retribusi", due, method="transfer")
    assert reference.expires_at == due and "Rp 150.000" in reference.instructions
    assert reference.reference_number in reference.instructions
    assert provider.status(reference, NOW) == "pending"
    assert provider.status(reference, due + timedelta(seconds=1)) == "expired"
    provider.mark_paid(reference.reference_number)
    assert provider.status(reference, due + timedelta(days=1)) == "paid"
    with pytest.raises(ValueError):
        provider.mark_paid("../../etc/passwd")
