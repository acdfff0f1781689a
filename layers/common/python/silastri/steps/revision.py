"""SOP 2 (loop) — Perbaikan berkas oleh pemohon: the applicant replaces the documents the back office or
the technical team asked for and resubmits (ASL `AwaitRevision`; the SLA clock is paused meanwhile).

The documents are checked by services.applications.resubmit before it decides `resubmitted`; the run then
continues at the completeness check (`ContinueAtCompletenessCheck`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain.models import ApplicationStatus
from ..domain.steps import Outcome, Role, StepDef, StepId
from ._common import StepContext

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(step_id=StepId.REVISION, sop_number=2, title="Perbaikan berkas oleh pemohon",
                     title_en="Revision by the applicant", role=Role.APPLICANT, standard_working_days=14,
                     outcomes=[Outcome(outcome="resubmitted", label="Kirim ulang berkas", label_en="Resubmit")])

DETAILS: dict[str, str] = {}

#: while this step's task is open the application waits on the applicant
STATUS_WHILE_OPEN = ApplicationStatus.AWAITING_REVISION


def validate(ctx: StepContext) -> dict[str, Any]:
    """Nothing beyond the resubmission's own document check."""
    return {}


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """None: the replaced documents are already on the application."""
    return {}
