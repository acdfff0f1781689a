"""Public tracking: registration number + last four digits of the WhatsApp number → status only."""

from __future__ import annotations

import hmac
import re
from typing import Any

from ..adapters import dynamo, identity
from ..domain import steps
from ..domain.catalog import default_catalog
from ..domain.errors import NotFoundError

STATUS_LABELS = {
    "draft": "Draf", "in_progress": "Sedang diproses", "awaiting_revision": "Menunggu perbaikan berkas",
    "issued": "Izin telah ditandatangani — siap diambil", "completed": "Selesai — izin telah diambil",
    "rejected": "Ditolak", "withdrawn": "Ditarik oleh pemohon", "lapsed": "Gugur (batas waktu perbaikan terlewati)",
    "failed": "Terhenti — sedang ditangani petugas",
}
_NOT_FOUND = "permohonan tidak ditemukan; periksa nomor registrasi dan 4 angka terakhir nomor WhatsApp"


def public_status(registration_number: str, phone_last4: str) -> dict[str, Any]:
    """Status and the SOP steps' progress. The same answer for an unknown number and a wrong phone."""
    registration_number = (registration_number or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2,8}-\d{4}-\d{6}", registration_number) or not re.fullmatch(r"\d{4}", phone_last4 or ""):
        raise NotFoundError(_NOT_FOUND, field="registration_number")
    try:
        app = dynamo.application_by_registration(registration_number)
    except NotFoundError:
        raise NotFoundError(_NOT_FOUND, field="registration_number") from None
    phone = identity.contact_of(app.applicant_id).get("phone_number", "")
    if not hmac.compare_digest(phone[-4:], phone_last4):
        raise NotFoundError(_NOT_FOUND, field="registration_number")
    from .applications import status_view

    view = status_view(app)
    return {
        "registration_number": app.registration_number,
        "permit_type": default_catalog().permit_types[app.permit_type].name,
        "status": app.status.value,
        "status_label": STATUS_LABELS.get(app.status.value, app.status.value),
        "steps": [{k: s[k] for k in ("sop_number", "title", "state", "standard_time", "finished_at")}
                  for s in view["steps"]],
        "current_step": steps.STEPS[steps.StepId(app.current_step)].title if app.current_step else None,
    }
