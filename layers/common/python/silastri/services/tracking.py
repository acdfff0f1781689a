"""Public tracking: registration number + the full WhatsApp number of the applicant → status only.

Registration numbers are sequential, so the phone number is the secret part: all of it, not the last digits.
Failed lookups count against limits per registration number and per client address (429 beyond them)."""

from __future__ import annotations

import hmac
import re
from typing import Any

from ..adapters import dynamo, identity
from ..domain import steps
from ..domain.catalog import default_catalog
from ..domain.errors import NotFoundError
from . import ratelimit
from .accounts import normalise_phone

STATUS_LABELS = {
    "draft": "Draf", "in_progress": "Sedang diproses", "awaiting_revision": "Menunggu perbaikan berkas",
    "issued": "Izin telah ditandatangani — siap diambil", "completed": "Selesai — izin telah diambil",
    "rejected": "Ditolak", "withdrawn": "Ditarik oleh pemohon", "lapsed": "Gugur (batas waktu perbaikan terlewati)",
    "failed": "Terhenti — sedang ditangani petugas",
    "stopped": "Dihentikan sementara — menunggu dilanjutkan oleh operator",
}
_NOT_FOUND = "permohonan tidak ditemukan; periksa nomor registrasi dan nomor WhatsApp pemohon"
_NUMBER = re.compile(r"[A-Z]{2,8}-[0-9]{4}-[0-9]{6}")


def public_status(registration_number: str, phone: str, *, client_address: str) -> dict[str, Any]:
    """Status and the SOP steps' progress, for the registration number and the applicant's WhatsApp number.

    The same 404 for an unknown number and a wrong phone; ValidationError (400, field `phone`) for a number
    that is not an Indonesian mobile number; TooManyRequestsError (429) when the lookup limits are reached —
    checked before anything is looked up. A successful lookup does not count against the limits."""
    registration_number = registration_number.strip().upper() if isinstance(registration_number, str) else ""
    if not _NUMBER.fullmatch(registration_number):
        raise NotFoundError(_NOT_FOUND, field="registration_number")
    wanted = normalise_phone(phone)
    reservation = ratelimit.attempt((ratelimit.TRACK_NUMBER, registration_number),
                                    (ratelimit.TRACK_ADDRESS, client_address))
    # two offices on the same prefix share registration numbers: the applicant's phone picks theirs
    app = next((candidate for candidate in dynamo.applications_by_registration(registration_number)
                if hmac.compare_digest(identity.contact_of(candidate.applicant_id).get("phone_number", "").encode(),
                                       wanted.encode())), None)
    if app is None:
        raise NotFoundError(_NOT_FOUND, field="registration_number")
    reservation.succeeded()
    from .applications import status_view

    view = status_view(app)
    return {
        "registration_number": app.registration_number,
        "permit_type": default_catalog().permit_type_name(app.office_id, app.permit_type),
        "status": app.status.value,
        "status_label": STATUS_LABELS.get(app.status.value, app.status.value),
        "steps": [{k: s[k] for k in ("sop_number", "title", "state", "standard_time", "finished_at")}
                  for s in view["steps"]],
        "current_step": steps.STEPS[steps.StepId(app.current_step)].title if app.current_step else None,
    }
