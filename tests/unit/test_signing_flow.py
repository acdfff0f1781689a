"""The signing flow's pure parts (issue 13): the office's visible-signature setting reaches the signer call, the
unencrypted-BSrE warning, NIK and role checks. The flow against the local runtime is in
tests/functional/test_signing_bsre_flow.py."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image
from pydantic import ValidationError as PydanticValidationError
from silastri.adapters.identity import Principal
from silastri.adapters.signing import SignatureAppearance, SignerIdentity
from silastri.domain.catalog import Office, SignatureAppearanceSetting, default_catalog
from silastri.domain.errors import ForbiddenError, ValidationError
from silastri.services import permits, signing


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (0, 70, 140)).save(out, format="PNG")
    return out.getvalue()


class RecordingSigner:
    """Test stub of the Signer port: records each sign_pdf call's keyword arguments, returns the PDF unchanged
    (what it returns is not a signature and is never treated as one here)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def sign_pdf(self, pdf: bytes, **kwargs: Any) -> bytes:
        self.calls.append(kwargs)
        return pdf

    def trust_roots_pem(self) -> list[bytes]:
        return []


def _office(**appearance: Any) -> Office:
    base = default_catalog().office("rokan-hilir").model_dump()
    base["signature_appearance"] = appearance
    return Office(**base)


def _head() -> Principal:
    return Principal(user_id="head-1", roles={"head"}, office_id="rokan-hilir", name="H. Kepala")


def test_rokan_hilir_signs_invisibly_by_default(unit_env, monkeypatch):
    unit_env()
    office = default_catalog().office("rokan-hilir")
    assert office.signature_appearance.visible is False
    assert permits.signature_appearance(office) == SignatureAppearance()
    stub = RecordingSigner()
    monkeypatch.setattr(permits, "signer_for", lambda credentials: stub)
    permits._sign(b"%PDF-1.7 test", _head(), office, "Penetapan")
    assert stub.calls == [{"signer": SignerIdentity(name="H. Kepala", title=office.head_title, acting=False),
                           "reason": "Penetapan", "location": office.city, "appearance": SignatureAppearance()}]


def test_a_visible_office_setting_reaches_the_signer_call_with_image_page_and_position(unit_env, monkeypatch):
    unit_env()
    png = _png()
    office = _office(visible=True, image="data:image/png;base64," + base64.b64encode(png).decode(), page=1,
                     x=380, y=60, width=160, height=80)
    stub = RecordingSigner()
    monkeypatch.setattr(permits, "signer_for", lambda credentials: stub)
    permits._sign(b"%PDF-1.7 test", _head(), office, "Penetapan")
    (call,) = stub.calls
    assert call["appearance"] == SignatureAppearance(visible=True, image_png=png, page=1, x=380, y=60, width=160,
                                                     height=80)


def test_a_specimen_file_is_read_from_the_data_directory(unit_env, monkeypatch, tmp_path):
    unit_env()
    png = _png()
    read: list[str] = []

    def data_file(name: str) -> bytes:
        read.append(name)
        return png

    monkeypatch.setattr("silastri.domain.catalog.data_file", data_file)
    appearance = permits.signature_appearance(_office(visible=True, image="specimen.png", x=1, y=1, width=10,
                                                      height=10))
    assert read == ["specimen.png"] and appearance.image_png == png and appearance.page == -1


@pytest.mark.parametrize("setting", [
    {"visible": True, "width": 10, "height": 10},                       # no image
    {"visible": True, "image": "specimen.png", "width": 0, "height": 10},
    {"visible": False, "image": "../../etc/passwd.png"},                # a path, not a name
    {"visible": False, "image": "specimen.jpg"},
    {"visible": False, "page": 0},
])
def test_an_incomplete_or_unsafe_appearance_setting_is_refused_by_the_catalog(setting):
    with pytest.raises(PydanticValidationError):
        SignatureAppearanceSetting(**setting)


def test_a_visible_setting_whose_image_is_not_png_is_refused_when_the_office_is_loaded(unit_env):
    unit_env()
    with pytest.raises(ValueError, match="not a PNG"):
        _office(visible=True, image="data:image/png;base64," + base64.b64encode(b"GIF89a...").decode(),
                width=10, height=10)


@pytest.mark.parametrize(("url", "unencrypted"), [
    ("https://esign.rokanhilirkab.go.id", False),
    ("http://10.20.0.5:8080", False), ("http://192.168.1.10", False), ("http://127.0.0.1:9000", False),
    ("http://localhost:8080", False),
    ("http://203.0.113.7", True), ("http://esign.rokanhilirkab.go.id", True),
])
def test_plain_http_to_a_non_private_address_counts_as_unencrypted(url, unencrypted):
    assert signing.unencrypted_url(url) is unencrypted


def test_the_warning_is_shown_in_bsre_mode_only_and_logged_once(unit_env, monkeypatch):
    unit_env(SIGNER_MODE="bsre", BSRE_URL="http://203.0.113.7:8080")
    logged: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(signing.logger, "warning", lambda message, **fields: logged.append((message, fields)))
    signing._warn_once.cache_clear()
    assert signing.connection_warning() == signing.UNENCRYPTED_WARNING
    assert signing.connection_warning() == signing.UNENCRYPTED_WARNING
    signing.warn_if_unencrypted()
    assert logged == [("BSrE connection is not encrypted (http:// to a non-private address)",
                       {"bsre": "http://203.0.113.7"})]
    unit_env(SIGNER_MODE="bsre", BSRE_URL="https://esign.example.go.id")
    assert signing.connection_warning() is None
    unit_env(SIGNER_MODE="dev-pki", BSRE_URL="http://203.0.113.7:8080")
    assert signing.connection_warning() is None


@pytest.mark.parametrize("value", ["123", "1407abcd12345678", "14070000000000001", None, 1407000000000000, ""])
def test_a_nik_must_be_16_digits(value):
    with pytest.raises(ValidationError) as caught:
        signing.checked_nik(value)
    assert caught.value.field == "nik" and "1407" not in caught.value.message


def test_a_nik_with_spaces_is_accepted_as_its_digits():
    assert signing.checked_nik("1407 0112 3456 7890") == "1407011234567890"


@pytest.mark.parametrize(("roles", "office", "allowed"), [
    ({"head"}, "rokan-hilir", True), ({"approver"}, "rokan-hilir", False), ({"head"}, None, False),
    ({"verifier", "back_office"}, "rokan-hilir", False),
])
def test_only_a_head_of_an_office_signs(roles, office, allowed):
    who = Principal(user_id="u", roles=roles, office_id=office)
    if allowed:
        signing.require_head(who)
    else:
        with pytest.raises(ForbiddenError):
            signing.require_head(who)
