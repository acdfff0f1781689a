"""Officers' search by (partial) registration number, and the banner after each decision."""

from __future__ import annotations

import pytest
from silastri.domain import steps
from silastri.domain.errors import ValidationError
from silastri.services.officer_search import parse_number


@pytest.mark.parametrize(("typed", "expected"), [
    ("REG-2026-000001", (2026, 1)), ("reg-2026-000001", (2026, 1)), (" REG 2026 1 ", (2026, 1)),
    ("2026-000123", (2026, 123)), ("2026/12", (2026, 12)), ("000001", (None, 1)), ("1", (None, 1)),
    ("123456", (None, 123456)),
])
def test_a_full_or_partial_number_is_read(typed, expected):
    assert parse_number(typed, "REG") == expected


@pytest.mark.parametrize("typed", ["", "REG", "ABC-2026-000001", "0", "1234567", "26-1", "1-2-3", "satu", "１"])
def test_anything_else_is_a_field_error(typed):
    with pytest.raises(ValidationError) as caught:
        parse_number(typed, "REG")
    assert caught.value.field == "nomor"


def test_every_officer_outcome_has_a_banner_that_says_where_the_file_went():
    from chalicelib.officer_pages import FORWARDED, decision_notice

    back = {"incomplete", "revision", "proof_rejected"}
    for definition in steps.STEPS.values():
        if definition.role is None or definition.role == steps.Role.APPLICANT:
            continue
        for outcome in definition.outcomes:
            text = decision_notice(definition.step_id.value, outcome.outcome)
            assert text.startswith(("Keputusan Anda telah tercatat", "Izin telah diserahkan")), text
            if outcome.outcome in back:
                assert "pemohon" in text and "diteruskan" not in text, (definition.step_id, outcome.outcome)
            if outcome.outcome in {"returned", "rejected", "not_recommend"} | back:
                assert text != FORWARDED, (definition.step_id, outcome.outcome)
    assert "dikembalikan kepada pemohon" in decision_notice("completeness_check", "incomplete")
