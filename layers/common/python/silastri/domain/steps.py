"""The SOP's steps, who does each, their standard time and the decisions each allows.

The order of the steps lives in the ASL file (statemachine/); this module only says what a step *is*:
which role acts, which outcomes exist there, which need a note. The workflow routes on the outcome.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from .errors import ForbiddenError, ValidationError


class Role(StrEnum):
    APPLICANT = "applicant"
    BACK_OFFICE = "back_office"
    TECHNICAL_TEAM = "technical_team"
    VERIFIER = "verifier"
    APPROVER = "approver"
    HEAD = "head"


OFFICER_ROLES = (Role.BACK_OFFICE, Role.TECHNICAL_TEAM, Role.VERIFIER, Role.APPROVER, Role.HEAD)

ROLE_NAMES = {
    Role.APPLICANT: "Pemohon",
    Role.BACK_OFFICE: "Back Office",
    Role.TECHNICAL_TEAM: "Tim Teknis OPD",
    Role.VERIFIER: "Penata Perizinan Ahli Muda",
    Role.APPROVER: "Penata Perizinan Ahli Madya",
    Role.HEAD: "Kepala Dinas",
    "system": "Sistem SILASTRI",
}


class StepId(StrEnum):
    SUBMISSION = "submission"
    COMPLETENESS_CHECK = "completeness_check"
    REVISION = "revision"
    FORWARDING = "forwarding"
    TECHNICAL_REVIEW = "technical_review"
    VERIFICATION = "verification"
    APPROVAL = "approval"
    NUMBERING = "numbering"
    SIGNING = "signing"
    PRINTING = "printing"
    PICKUP = "pickup"
    REJECTION_SIGNING = "rejection_signing"
    # payment stage (issue 10; between approval and numbering, only for types whose plan has a payment)
    PAYMENT_ASSESSMENT = "payment_assessment"
    PAYMENT = "payment"
    PAYMENT_CONFIRMATION = "payment_confirmation"


class Outcome(BaseModel):
    outcome: str
    label: str
    label_en: str
    note_required: bool = False


class StepDef(BaseModel):
    step_id: StepId
    sop_number: int
    title: str
    title_en: str
    role: Role | None  # None: done by the system
    standard_minutes: int | None = None
    standard_working_days: int | None = None
    outcomes: list[Outcome] = []

    @property
    def standard_time_label(self) -> str:
        if self.standard_working_days:
            return f"{self.standard_working_days} hari kerja"
        return f"{self.standard_minutes} menit"

    def outcome(self, name: str) -> Outcome:
        for outcome in self.outcomes:
            if outcome.outcome == name:
                return outcome
        allowed = ", ".join(o.outcome for o in self.outcomes)
        raise ValidationError(f"keputusan '{name}' tidak tersedia pada tahap ini; pilih salah satu: {allowed}", field="outcome")


def _o(outcome: str, label: str, label_en: str, note_required: bool = False) -> Outcome:
    return Outcome(outcome=outcome, label=label, label_en=label_en, note_required=note_required)


RETURN = _o("returned", "Kembalikan ke tahap sebelumnya", "Return one step back", note_required=True)

STEPS: dict[StepId, StepDef] = {
    s.step_id: s
    for s in [
        StepDef(step_id=StepId.SUBMISSION, sop_number=1, title="Pengajuan permohonan", title_en="Application submitted",
                role=Role.APPLICANT, standard_minutes=30),
        StepDef(step_id=StepId.COMPLETENESS_CHECK, sop_number=2, title="Pemeriksaan kelengkapan berkas",
                title_en="Completeness check", role=Role.BACK_OFFICE, standard_minutes=15,
                outcomes=[_o("complete", "Berkas lengkap — terbitkan tanda terima", "Complete — issue receipt"),
                          _o("incomplete", "Berkas belum lengkap — kembalikan ke pemohon", "Incomplete — back to the applicant",
                             note_required=True)]),
        StepDef(step_id=StepId.REVISION, sop_number=2, title="Perbaikan berkas oleh pemohon", title_en="Revision by the applicant",
                role=Role.APPLICANT, standard_working_days=14,
                outcomes=[_o("resubmitted", "Kirim ulang berkas", "Resubmit")]),
        StepDef(step_id=StepId.FORWARDING, sop_number=3, title="Penerusan berkas", title_en="Forwarding",
                role=None, standard_working_days=7),
        StepDef(step_id=StepId.TECHNICAL_REVIEW, sop_number=4, title="Rekomendasi teknis", title_en="Technical recommendation",
                role=Role.TECHNICAL_TEAM, standard_minutes=10,
                outcomes=[_o("recommend", "Direkomendasikan", "Recommend"),
                          _o("not_recommend", "Tidak direkomendasikan", "Do not recommend", note_required=True)]),
        StepDef(step_id=StepId.VERIFICATION, sop_number=5, title="Verifikasi berkas", title_en="Verification",
                role=Role.VERIFIER, standard_minutes=10,
                outcomes=[_o("verified", "Terverifikasi — teruskan ke Ahli Madya", "Verified"), RETURN]),
        StepDef(step_id=StepId.APPROVAL, sop_number=6, title="Persetujuan izin", title_en="Approval",
                role=Role.APPROVER, standard_minutes=10,
                outcomes=[_o("approved", "Setujui", "Approve"), RETURN,
                          _o("rejected", "Tolak permohonan", "Reject", note_required=True)]),
        # payment stage (issue 10): the validation and effects are in services/payments.py
        StepDef(step_id=StepId.PAYMENT_ASSESSMENT, sop_number=6, title="Penetapan retribusi", title_en="Fee assessment",
                role=Role.TECHNICAL_TEAM, standard_minutes=30,
                outcomes=[_o("assessed", "Tetapkan besaran dan dasar perhitungan", "Assess amount and basis")]),
        StepDef(step_id=StepId.PAYMENT, sop_number=6, title="Pembayaran retribusi oleh pemohon",
                title_en="Payment by the applicant", role=Role.APPLICANT, standard_working_days=7,
                outcomes=[_o("paid", "Sudah dibayar — kirim bukti pembayaran", "Paid — send the proof")]),
        StepDef(step_id=StepId.PAYMENT_CONFIRMATION, sop_number=6, title="Konfirmasi pembayaran",
                title_en="Payment confirmation", role=Role.BACK_OFFICE, standard_minutes=15,
                outcomes=[_o("confirmed", "Pembayaran terkonfirmasi", "Payment confirmed"),
                          _o("proof_rejected", "Bukti pembayaran ditolak — kembali ke pemohon", "Proof rejected",
                             note_required=True)]),
        StepDef(step_id=StepId.NUMBERING, sop_number=7, title="Penomoran izin", title_en="Permit numbering",
                role=Role.BACK_OFFICE, standard_minutes=10,
                outcomes=[_o("confirmed", "Konfirmasi nomor izin", "Confirm the permit number")]),
        StepDef(step_id=StepId.SIGNING, sop_number=8, title="Penandatanganan elektronik (TTE)", title_en="Electronic signature",
                role=Role.HEAD, standard_minutes=15,
                outcomes=[_o("signed", "Tandatangani (TTE)", "Sign"), RETURN]),
        StepDef(step_id=StepId.PRINTING, sop_number=9, title="Pencetakan dokumen izin", title_en="Printing",
                role=Role.BACK_OFFICE, standard_minutes=15,
                outcomes=[_o("printed", "Sudah dicetak", "Printed")]),
        StepDef(step_id=StepId.PICKUP, sop_number=10, title="Pengambilan izin dan pengisian SKM", title_en="Pickup and survey",
                role=Role.BACK_OFFICE, standard_minutes=5,
                outcomes=[_o("handed_over", "Izin diserahkan kepada pemohon", "Handed over")]),
        StepDef(step_id=StepId.REJECTION_SIGNING, sop_number=8, title="Penandatanganan surat penolakan",
                title_en="Signing the rejection letter", role=Role.HEAD, standard_minutes=15,
                outcomes=[_o("signed", "Tandatangani surat penolakan (TTE)", "Sign the rejection letter")]),
    ]
}

WITHDRAWN = "withdrawn"


def step(step_id: str) -> StepDef:
    try:
        return STEPS[StepId(step_id)]
    except ValueError:
        raise ValidationError(f"unknown step '{step_id}'", field="step") from None


def check_decision(step_id: str, actor_roles: set[str], outcome: str, note: str | None) -> Outcome:
    """Check that an actor holding `actor_roles` may record `outcome` at `step_id`.

    Raises ForbiddenError for the wrong role, ValidationError for an unknown outcome or a missing note.
    """
    definition = step(step_id)
    if definition.role is None or definition.role.value not in actor_roles:
        raise ForbiddenError(f"tahap ini diputuskan oleh {ROLE_NAMES.get(definition.role, definition.role) if definition.role else 'sistem'}", field="role")
    chosen = definition.outcome(outcome)
    if chosen.note_required and not (note and note.strip()):
        raise ValidationError("catatan wajib diisi untuk keputusan ini", field="note")
    return chosen
