"""SOP 1 — Pengajuan permohonan: the applicant submits (a system step: recorded as the completeness check
opens, ASL `CheckCompleteness`).

No decision is taken here; the workflow records the submission (services.automated.record_submission).
"""

from __future__ import annotations

from ..domain.steps import Role, StepDef, StepId

DEFINITION = StepDef(step_id=StepId.SUBMISSION, sop_number=1, title="Pengajuan permohonan",
                     title_en="Application submitted", role=Role.APPLICANT, standard_minutes=30)
