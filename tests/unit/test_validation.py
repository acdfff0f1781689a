"""Property-based tests (hypothesis) of the request parsers and plausibility checks: any input gives either the
cleaned value or a DomainError naming the field — never another exception (which the API would answer 500)."""

from __future__ import annotations

import json
import string
import unicodedata
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from silastri.domain import validation
from silastri.domain.catalog import default_catalog
from silastri.domain.errors import DomainError, ForbiddenError, NotFoundError, ValidationError
from silastri.domain.models import validate_form
from silastri.services import accounts, links

#: anything JSON can carry, including deep nesting, plus texts full of controls, bidi and surrogate escapes
TEXTS = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=60) | st.sampled_from(
    ["", " ", "\x00", "a\r\nb", "\u202eevil", "\u2066x\u2069", "\ufeffBOM", "ok", "٣", "１２"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXTS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXTS, inner, max_size=4), max_leaves=20)
BIDI_AND_CONTROLS = ["\x00", "\x07", "\r", "\n", "\x1b", "\x7f", "\x85", "\u200b", "\u200e", "\u202a", "\u202b",
                     "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u2028", "\ufeff"]


@pytest.fixture(autouse=True)
def env(unit_env):
    unit_env()


def only_domain_errors(call, *args, **kwargs):
    """The call either returns or raises a DomainError with a field; returns the result or the error."""
    try:
        return call(*args, **kwargs)
    except DomainError as exc:
        assert exc.status in (400, 403, 404, 409, 429) and exc.message
        return exc


# ----------------------------------------------------------------------------- JSON bodies

@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_a_json_object_or_a_400_on_body(raw):
    result = only_domain_errors(validation.json_object, raw)
    if isinstance(result, DomainError):
        assert isinstance(result, ValidationError) and result.field == "body"
    else:
        assert isinstance(result, dict)


@given(value=JSON_VALUES)
def test_any_json_value_parses_back_or_is_refused_for_not_being_an_object(value):
    result = only_domain_errors(validation.json_object, json.dumps(value).encode())
    assert isinstance(result, dict) == isinstance(value, dict)


@pytest.mark.parametrize("depth", [validation.MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_deeply_nested_bodies_are_refused_not_a_recursion_error(depth):
    for raw in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        wrapped = raw if raw.startswith("{") else '{"a":' + raw + "}"
        with pytest.raises(ValidationError) as err:
            validation.json_object(wrapped.encode())
        assert err.value.field == "body"


def test_nesting_up_to_the_limit_is_accepted_and_nan_is_not():
    depth = validation.MAX_JSON_DEPTH
    assert validation.json_object(('{"a":' * depth + "1" + "}" * depth).encode())
    for raw in (b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b"\xff\xfe{}", b"[]", b'"x"'):
        with pytest.raises(ValidationError):
            validation.json_object(raw)


# ----------------------------------------------------------------------------- texts on decrees

@given(value=JSON_VALUES, multiline=st.booleans())
def test_clean_text_returns_printable_text_or_names_the_field(value, multiline):
    result = only_domain_errors(validation.clean_text, value, "name", 200, multiline=multiline)
    if isinstance(result, DomainError):
        assert result.field == "name"
        return
    assert isinstance(result, str) and 0 < len(result) <= 200 and result == result.strip()
    for char in result:
        allowed = multiline and char in "\n\t"
        assert allowed or unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@pytest.mark.parametrize("bad", BIDI_AND_CONTROLS)
def test_controls_and_bidi_overrides_are_refused_in_names(bad):
    with pytest.raises(ValidationError) as err:
        validation.clean_text(f"Yayasan{bad}Sejahtera", "form.organisation_name", 200)
    assert err.value.field == "form.organisation_name"


def test_stacked_combining_marks_are_refused_but_real_diacritics_are_kept():
    assert validation.clean_text("Nguy\u1ec5n Th\u1ecb", "name", 100) == "Nguyễn Thị"
    assert validation.clean_text("Tie\u0302\u0301ng Vie\u0323\u0302t", "name", 100)  # two stacked marks (NFC keeps some)
    with pytest.raises(ValidationError) as err:
        validation.clean_text("A" + "\u0301" * 150, "name", 200)
    assert err.value.field == "name"


def test_line_breaks_are_kept_only_in_multiline_texts():
    assert validation.clean_text("baris 1\r\nbaris 2", "note", 100, multiline=True) == "baris 1\nbaris 2"
    assert validation.clean_text("Hj. Nurhayati, S.Sos.", "name", 100) == "Hj. Nurhayati, S.Sos."
    assert validation.clean_text("Cafe\u0301", "name", 100) == "Café"  # NFC
    assert validation.clean_text(None, "note", 10, required=False) == ""
    with pytest.raises(ValidationError):
        validation.clean_text("x" * 11, "note", 10)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(form=st.dictionaries(TEXTS | st.sampled_from(["practitioner_name", "district", "str_number"]), JSON_VALUES,
                            max_size=6))
def test_application_forms_are_cleaned_or_refused_with_the_field(form):
    definition = default_catalog().permit_type("rokan-hilir", "sip")
    result = only_domain_errors(validate_form, definition, form)
    if isinstance(result, DomainError):
        assert result.field and result.field.startswith("form")
    else:
        assert all(isinstance(v, str) and "\x00" not in v and "\n" not in v for v in result.values())


# ----------------------------------------------------------------------------- numbers and dates

@given(value=JSON_VALUES)
def test_copies_is_an_integer_from_one_to_ten_and_never_a_boolean(value):
    result = only_domain_errors(validation.copies, value)
    if not isinstance(result, DomainError):
        assert type(result) is int and 1 <= result <= 10
    assert isinstance(result, DomainError) or type(value) is int


def test_copies_true_is_refused():
    for value in (True, False, 0, 11, 2.0, "2", None):
        with pytest.raises(ValidationError) as err:
            validation.copies(value)
        assert err.value.field == "copies"
    assert validation.copies(3) == 3


NOW = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # 29 November 2026, 03:00 WIB
SUBMITTED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@given(value=JSON_VALUES | st.dates().map(date.isoformat))
def test_visit_dates_lie_between_a_year_before_submission_and_today_wib(value):
    result = only_domain_errors(validation.plausible_visit_date, value, submitted_at=SUBMITTED, now=NOW)
    if isinstance(result, DomainError):
        assert result.field == "visited_on"
    elif result is not None:
        assert date(2025, 3, 1) <= result <= date(2026, 11, 29)


@pytest.mark.parametrize("value", ["0001-01-01", "2999-12-31", "2026-11-30", "2025-02-28", "2026-02-30",
                                   "28-11-2026", "2026-11-28T00:00", " ", True, 20261128])
def test_implausible_visit_dates_are_refused(value):
    if value == " ":
        value = "   "
    with pytest.raises(ValidationError) as err:
        validation.plausible_visit_date(value, submitted_at=SUBMITTED, now=NOW)
    assert err.value.field == "visited_on"


def test_plausible_visit_dates_are_accepted_today_in_wib():
    assert validation.plausible_visit_date("2026-11-29", submitted_at=SUBMITTED, now=NOW) == date(2026, 11, 29)
    assert validation.plausible_visit_date("2025-03-01", submitted_at=SUBMITTED, now=NOW) == date(2025, 3, 1)
    assert validation.plausible_visit_date("", submitted_at=SUBMITTED, now=NOW) is None
    # no submission yet: a year before today
    assert validation.plausible_date("2025-11-29", "d", now=NOW) == date(2025, 11, 29)
    with pytest.raises(ValidationError):
        validation.plausible_date((NOW - timedelta(days=400)).date().isoformat(), "d", now=NOW)


# ----------------------------------------------------------------------------- accounts, ids, links

@given(value=JSON_VALUES)
def test_account_fields_are_checked_without_crashing(value):
    for check in (accounts.normalise_phone, accounts.check_nik, accounts.check_email, accounts.check_password):
        only_domain_errors(check, value)


@given(value=st.text(alphabet=string.digits + "+-() .", max_size=20))
def test_normalised_phones_are_e164(value):
    result = only_domain_errors(accounts.normalise_phone, value)
    if not isinstance(result, DomainError):
        assert result.startswith("+628") and result[1:].isdigit() and result.isascii()


@given(value=JSON_VALUES)
def test_path_ids_are_known_shapes_or_not_found(value):
    result = only_domain_errors(validation.identifier, value, "task_id")
    assert isinstance(result, NotFoundError) or (isinstance(result, str) and result.isascii())


@given(task_id=st.text(alphabet="0123456789abcdef", min_size=1, max_size=32), value=TEXTS)
def test_any_link_value_is_refused_with_403_unless_it_was_signed(task_id, value):
    result = only_domain_errors(links.check_task_link, task_id, value)
    assert isinstance(result, ForbiddenError) and result.field == "link"


def test_non_ascii_link_signatures_are_a_403():
    link = links.task_link("abc").split("?l=", 1)[1]
    expires, signature = link.split(".")
    for value in (f"{expires}.{signature[:-1]}é", f"{expires}.ü", f"١٢٣.{signature}", f"{expires}.{'é' * 40}"):
        with pytest.raises(ForbiddenError):
            links.check_task_link("abc", value)
    links.check_task_link("abc", link)
