"""Signing without a timestamp reuses the room pyHanko reserved for the signer's first signature (no dummy signature
each time, issue 12), and a signature that outgrows a remembered room is made afresh: every result verifies."""

from __future__ import annotations

from pathlib import Path

import pytest
from silastri.adapters import signing
from silastri.adapters.signing import DevPkiSigner, SignerIdentity, verify_signed_pdf

HEAD = SignerIdentity(name="H. Ahmad Fauzi, S.Sos., M.Si.", title="Kepala Dinas")


@pytest.fixture
def pdf() -> bytes:
    import io

    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Keputusan Kepala Dinas")
    page.save()
    return buffer.getvalue()


def test_the_second_signature_reuses_the_room_and_both_verify(tmp_path: Path, pdf: bytes,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    signer = DevPkiSigner(tmp_path)
    roots = signer.trust_roots_pem()
    first = signer.sign_pdf(pdf, signer=HEAD, reason="Penetapan", location="Bagansiapiapi")
    pades = signer._pades_signer(HEAD)
    room = signing._reserved_for(pades)
    assert room is not None and room > 0

    estimates: list[int] = []
    real = signing._remember_reserved
    monkeypatch.setattr(signing, "_remember_reserved", lambda s, out: (estimates.append(1), real(s, out)))
    second = signer.sign_pdf(pdf, signer=HEAD, reason="Penetapan", location="Bagansiapiapi")
    assert estimates == []  # signed straight into the remembered room
    assert len(second) == len(first)
    assert verify_signed_pdf(first, roots).valid and verify_signed_pdf(second, roots).valid


def test_a_room_too_small_falls_back_to_a_fresh_estimate(tmp_path: Path, pdf: bytes) -> None:
    signer = DevPkiSigner(tmp_path)
    signer.sign_pdf(pdf, signer=HEAD, reason="Penetapan", location="Bagansiapiapi")
    pades = signer._pades_signer(HEAD)
    signing._RESERVED[id(pades)] = (pades, 64)  # far too small for a CMS with two certificates
    signed = signer.sign_pdf(pdf, signer=HEAD, reason="Penetapan", location="Bagansiapiapi")
    assert verify_signed_pdf(signed, signer.trust_roots_pem()).valid
    assert (signing._reserved_for(pades) or 0) > 64  # the fresh estimate is remembered again


def test_the_encoded_certificate_attribute_signs_pyhankos_own_attributes(tmp_path: Path, pdf: bytes) -> None:
    """The signing-certificate attribute given pre-encoded (issue 12) leaves the signed attributes byte for byte
    those pyHanko makes itself for a PAdES signature."""
    import asyncio
    import hashlib

    from pyhanko.sign import signers

    signer = DevPkiSigner(tmp_path)
    assert verify_signed_pdf(signer.sign_pdf(pdf, signer=HEAD, reason="Penetapan", location="Bagansiapiapi"),
                             signer.trust_roots_pem()).valid
    pades = signer._pades_signer(HEAD)
    assert pades.signed_attr_prov_spec is not None
    plain = signers.SimpleSigner(signing_cert=pades.signing_cert, signing_key=pades.signing_key,
                                 cert_registry=pades.cert_registry)
    digest = hashlib.sha256(pdf).digest()
    ours = asyncio.run(pades.signed_attrs(digest, "sha256", use_pades=True)).dump()
    theirs = asyncio.run(plain.signed_attrs(digest, "sha256", use_pades=True)).dump()
    assert ours == theirs
