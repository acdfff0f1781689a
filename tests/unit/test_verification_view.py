"""What the public verification page (the QR code's target) says of a permit: an expired permit is never a green
"SAH" (review of issue 11: a QR of last year's event permit read SAH with a small note)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def result(valid_until: datetime | None, *, valid: bool = True, revoked: bool = False) -> dict:
    return {"valid": valid, "revoked": revoked, "office_id": "rokan-hilir", "permit_number": "503/DPMPTSP-SIP/0001/XI/2026",
            "holder_name": "dr. Uji", "permit_type": "Surat Izin Praktik", "issued_at": "2026-11-01T03:00:00+00:00",
            "valid_until": valid_until.isoformat() if valid_until else None, "signer_name": "Kepala",
            "signer_title": "Kepala Dinas", "reasons": [] if valid else ["signature:digest-mismatch"]}


def test_a_genuine_permit_past_its_validity_is_not_shown_as_sah():
    from chalicelib.pages import verification_view

    now = datetime.now(UTC)
    assert verification_view(result(now + timedelta(days=30)))["verdict"] == "sah"
    assert verification_view(result(None))["verdict"] == "sah"  # valid until revoked
    past = verification_view(result(now - timedelta(days=1)))
    assert past["verdict"] == "kedaluwarsa" and past["expired"]
    assert verification_view(result(now - timedelta(days=1), revoked=True))["verdict"] == "dicabut"
    assert verification_view(result(now + timedelta(days=1), valid=False))["verdict"] == "tidak-sah"
