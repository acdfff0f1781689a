"""SOP 3 — Penerusan berkas: the file goes to the technical team, or straight to the verifier when the
permit type needs no technical recommendation (a system step, done with the receipt in ASL `IssueReceipt`).

No decision is taken here (services.automated.forward_application).
"""

from __future__ import annotations

from ..domain.steps import StepDef, StepId

DEFINITION = StepDef(step_id=StepId.FORWARDING, sop_number=3, title="Penerusan berkas", title_en="Forwarding",
                     role=None, standard_working_days=7)
