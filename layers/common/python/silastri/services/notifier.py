"""Turns a notification event into WhatsApp and e-mail messages for the right people."""

from __future__ import annotations

from datetime import datetime

from ..adapters import identity, messaging
from ..domain import steps
from ..domain.clock import format_datetime_wib
from ..observability import NOTIFICATIONS_FAILED, count, logger
from ..settings import get_settings
from . import links


def _text(note: messaging.Notification) -> tuple[str, str, str | None]:
    """Subject, text (Bahasa Indonesia) and link for a notification kind."""
    base = get_settings().public_base_url.rstrip("/")
    reg = note.registration_number or "-"
    track = f"{base}/permohonan/{note.application_id}" if note.application_id else None
    if note.kind == "task_opened":
        step = steps.step(note.params["step"])
        return (f"Tugas baru: {step.title}",
                f"SILASTRI RV: permohonan {reg} menunggu {step.title} (SOP {step.sop_number}, "
                f"standar {step.standard_time_label}). Masuk untuk memproses:",
                links.task_link(note.params["task_id"]))
    if note.kind in ("sla_reminder", "sla_escalated"):
        step = steps.step(note.params["step"])
        due = format_datetime_wib(datetime.fromisoformat(note.params["due_at"])) if note.params.get("due_at") else "-"
        standard = note.params.get("standard") or step.standard_time_label
        if note.kind == "sla_reminder":
            return (f"Pengingat waktu standar: {reg}",
                    f"SILASTRI RV: {step.title} untuk permohonan {reg} telah memakai 80% waktu standar "
                    f"({standard}); batas waktu {due}.", links.task_link(note.params["task_id"]))
        from_role = steps.ROLE_NAMES.get(steps.Role(note.params["from_role"]), note.params["from_role"])
        return (f"Eskalasi: {reg} melewati waktu standar",
                f"SILASTRI RV: {step.title} untuk permohonan {reg} oleh {from_role} melewati batas waktu {due} "
                f"(standar {standard}). Mohon tindak lanjut sebagai atasan.", links.task_link(note.params["task_id"]))
    if note.kind == "sla_overdue":
        step = steps.step(note.params["step"])
        return (f"Melewati waktu standar: {reg}",
                f"SILASTRI RV: {step.title} untuk permohonan {reg} telah melewati waktu standar "
                f"({step.standard_time_label}).", links.task_link(note.params["task_id"]))
    if note.kind == "revision_requested":
        deadline = format_datetime_wib(datetime.fromisoformat(note.params["deadline"]))
        return (f"Perbaikan berkas {reg}",
                f"SILASTRI RV: berkas permohonan {reg} belum lengkap. Perbaiki sebelum {deadline}.", track)
    texts = {
        "submitted": f"SILASTRI RV: permohonan Anda diterima dengan nomor registrasi {reg}.",
        "receipt_issued": f"SILASTRI RV: berkas {reg} lengkap. Tanda terima dapat diunduh.",
        "closed_completed": f"SILASTRI RV: izin untuk permohonan {reg} telah diserahkan. Terima kasih.",
        "closed_rejected": f"SILASTRI RV: permohonan {reg} ditolak. Surat penolakan dapat diunduh.",
        "closed_withdrawn": f"SILASTRI RV: permohonan {reg} telah ditarik.",
        "closed_lapsed": f"SILASTRI RV: permohonan {reg} gugur karena batas waktu perbaikan terlewati.",
        "permit_ready": f"SILASTRI RV: izin {reg} telah ditandatangani. Silakan ambil dan isi SKM.",
        "activation_code": "SILASTRI RV: kode aktivasi akun Anda {code}. Berlaku 10 menit. Jangan berikan kepada siapa pun.",
    }
    text = texts.get(note.kind, f"SILASTRI RV: pembaruan permohonan {reg}.")
    return "SILASTRI RV", text.format(**note.params) if "{" in text else text, track


def deliver(note: messaging.Notification, channels: dict[str, messaging.Channel] | None = None) -> int:
    """Send one notification on WhatsApp and e-mail to each recipient; returns messages sent.

    Raises on a channel failure so the queue retries the record (and dead-letters it after repeated failures)."""
    channels = channels or messaging.channels()
    if note.user_id:
        recipients = [identity.contact_of(note.user_id)]
    elif note.office_id and note.role:
        recipients = identity.contacts_of_role(note.office_id, note.role)
    else:
        recipients = []
    subject, text, link = _text(note)
    sent = 0
    for contact in recipients:
        for channel, address in (("whatsapp", contact.get("phone_number")), ("email", contact.get("email"))):
            if not address:
                continue
            try:
                channels[channel].send(messaging.OutgoingMessage(channel=channel, to=address, subject=subject,
                                                                 text=text, link=link))
            except Exception:
                count(NOTIFICATIONS_FAILED, channel=channel, kind=note.kind)
                raise
            sent += 1
    logger.info("notification delivered", kind=note.kind, application_id=note.application_id, messages=sent)
    return sent
