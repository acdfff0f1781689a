"""SOP 2 — Pemeriksaan kelengkapan berkas: the back office checks the file (ASL `CheckCompleteness`; SOP 1's
submission is recorded as this task opens).

`complete` issues the receipt (Tanda Terima); `incomplete` sends the file back to the applicant
(`RequestRevision`) with a note and, per document, what to replace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.steps import Outcome, Role, StepDef, StepId
from ._common import StepContext, document_notes

if TYPE_CHECKING:
    from ..domain.models import Application
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(
    step_id=StepId.COMPLETENESS_CHECK, sop_number=2, title="Pemeriksaan kelengkapan berkas",
    title_en="Completeness check", role=Role.BACK_OFFICE, standard_minutes=15,
    outcomes=[Outcome(outcome="complete", label="Berkas lengkap — terbitkan tanda terima",
                      label_en="Complete — issue receipt"),
              Outcome(outcome="incomplete", label="Berkas belum lengkap — kembalikan ke pemohon",
                      label_en="Incomplete — back to the applicant", note_required=True)])

DETAILS = {"document_notes": "{requirement_id: note} — documents the applicant must replace (incomplete)"}


def validate(ctx: StepContext) -> dict[str, Any]:
    """The document notes name requirements of the permit type (kept only when the file is incomplete)."""
    notes = document_notes(ctx)
    return {"revision_notes": notes if ctx.outcome == "incomplete" else {}}


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """The applicant's revision page reads `revision_notes` (emptied when the file is complete)."""
    return {"changes": {"revision_notes": checked["revision_notes"]}}


def prepare(app: Application) -> None:
    """SOP 1 before SOP 2: the submission is on record and announced (services.automated.record_submission)."""
    from ..services import automated

    automated.record_submission(app.application_id)
