"""The SOP's steps, who does each, their standard time and the decisions each allows.

The order of the steps lives in the ASL file (statemachine/); this module holds the vocabulary (roles, step
ids, what a step definition and an outcome are) and the decision rule every step shares. Each step's own
definition (role, outcomes, which need a note, standard time) is declared by its module in
``silastri.steps``; ``step()`` and ``STEPS`` read them there. The workflow routes on the outcome.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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


RETURN = Outcome(outcome="returned", label="Kembalikan ke tahap sebelumnya", label_en="Return one step back",
                 note_required=True)


class _Definitions(Mapping[StepId, StepDef]):
    """Every step's definition by id, in SOP order, read from the step modules (``silastri.steps``) on first
    use: this module keeps the vocabulary, each step module its own definition. The step modules import
    only the domain at load time, so reading a definition loads no adapter."""

    def _all(self) -> dict[StepId, StepDef]:
        from .. import steps as step_modules

        return step_modules.definitions()

    def __getitem__(self, step_id: StepId) -> StepDef:
        return self._all()[step_id]

    def __iter__(self) -> Iterator[StepId]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


STEPS: Mapping[StepId, StepDef] = _Definitions()

WITHDRAWN = "withdrawn"

#: Decisions that leave a step's normal path resume the waiting run with SendTaskFailure and this error name,
#: which the wait state catches (statemachine/licensing.asl.json, "Catch"); every other outcome is the step's
#: normal path and resumes it with SendTaskSuccess (the wait's "Next"). Named in Bahasa Indonesia like the SOP.
LEAVING_PATH: dict[str, str] = {
    WITHDRAWN: "Keputusan.Tarik",               # the applicant withdraws (any wait)
    "incomplete": "Keputusan.TidakLengkap",     # SOP 2: the file goes back to the applicant
    "revision": "Keputusan.Perbaikan",          # SOP 4: the technical team asks the applicant for a revision
    "returned": "Keputusan.Kembalikan",         # one step back (verification, approval, signing)
    "not_recommend": "Keputusan.Tolak",         # SOP 4: not recommended → rejection letter
    "rejected": "Keputusan.Tolak",              # SOP 6: rejected → rejection letter
    "proof_rejected": "Keputusan.BuktiDitolak",  # payment: the proof is rejected, the applicant pays again
}


def resume_error(outcome: str) -> str | None:
    """The error name a decision `outcome` resumes its run with (LEAVING_PATH), None for the normal path."""
    return LEAVING_PATH.get(outcome)


def step(step_id: str) -> StepDef:
    """The definition of `step_id` (declared by its module in ``silastri.steps``).

    Raises ValidationError(field="step") for an unknown step."""
    from .. import steps as step_modules

    return step_modules.definition(step_id)


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
