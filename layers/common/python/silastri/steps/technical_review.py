"""SOP 4 — Rekomendasi teknis: the technical team of the recommending agency (e.g. Dinas Sosial) examines
the file, visits the site if needed, and recommends or not (ASL `TechnicalReview`, `TechnicalDecision`).

`recommend` renders the Rekomendasi Teknis and goes on to verification; `not_recommend` renders it too and
leads to a signed rejection letter; `revision` returns the file to the applicant for revision like an
incomplete file (`RequestRevision`: the round limit applies, the resubmission is checked for completeness
and forwarded to the technical team again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..domain import validation
from ..domain.errors import ValidationError
from ..domain.steps import Outcome, Role, StepDef, StepId
from ._common import StepContext, document_notes

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

DEFINITION = StepDef(
    step_id=StepId.TECHNICAL_REVIEW, sop_number=4, title="Rekomendasi teknis", title_en="Technical recommendation",
    role=Role.TECHNICAL_TEAM, standard_minutes=10,
    outcomes=[Outcome(outcome="recommend", label="Direkomendasikan", label_en="Recommend"),
              Outcome(outcome="not_recommend", label="Tidak direkomendasikan", label_en="Do not recommend",
                      note_required=True),
              Outcome(outcome="revision", label="Kembalikan ke pemohon untuk perbaikan",
                      label_en="Return to the applicant for revision", note_required=True)])

DETAILS = {
    "findings": "list of 0–30 texts — the examination's findings, printed in the Rekomendasi Teknis "
                "(default: the note; recommend / not_recommend)",
    "visited_on": "YYYY-MM-DD — the field visit, between the submission and today WIB (optional)",
    "document_notes": "{requirement_id: note} — documents the applicant must replace (revision)",
}

REVISION = "revision"


def validate(ctx: StepContext) -> dict[str, Any]:
    """Revision: the document notes name requirements of the permit type. Otherwise: at most 30 findings
    of plain text, and a plausible visit date (SOP 4: the visit happened between the submission — at most
    a year back — and today, WIB)."""
    if ctx.outcome == REVISION:
        return {"revision_notes": document_notes(ctx)}
    findings = ctx.details.get("findings") or ([ctx.note] if ctx.note else [])
    if not isinstance(findings, list) or len(findings) > 30:
        raise ValidationError("temuan harus berupa daftar teks (paling banyak 30)", field="findings")
    return {
        "findings": [validation.clean_text(f, f"findings.{i}", 1000, label="temuan", multiline=True)
                     for i, f in enumerate(findings)] or ["Pemeriksaan berkas sesuai persyaratan."],
        "visited_on": validation.plausible_visit_date(ctx.details.get("visited_on"),
                                                      submitted_at=ctx.app.submitted_at),
    }


def effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
            credentials: SigningCredentials | None) -> dict[str, Any]:
    """Revision: the notes for the applicant's revision page. Otherwise: the agency's letter number (its own
    gap-free sequence, kept by the application once taken), the Rekomendasi Teknis on the agency's letterhead
    (rendered once per claim) and its date, and for a negative one the reason the rejection letter gives."""
    if ctx.outcome == REVISION:
        return {"changes": {"revision_notes": checked["revision_notes"]}}
    from ..domain.clock import now_utc, to_wib
    from ..services import numbering, permits

    number = numbering.assign_recommendation(ctx.app.application_id)
    issued_on = to_wib(now_utc()).date()
    changes: dict[str, Any] = {"technical_recommendation_key": permits.render_technical_recommendation(
        ctx.app, ctx.principal, checked["findings"], checked["visited_on"], recommended=ctx.outcome == "recommend",
        claim_id=claim_id, letter_number=number, issued_on=issued_on),
        "technical_recommendation_date": issued_on.isoformat()}
    if ctx.outcome == "not_recommend":
        changes["rejection_reasons"] = [ctx.note_text]
    return {"changes": changes}
