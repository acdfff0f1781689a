"""The step registry: one module per SOP step, each consistent with the workflow (ASL) that routes its outcomes."""

from __future__ import annotations

import json
import pkgutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from silastri import steps as registry
from silastri.adapters.identity import Principal
from silastri.domain import steps
from silastri.domain.catalog import default_catalog
from silastri.domain.errors import ValidationError
from silastri.domain.models import Application, ApplicationStatus, Task
from silastri.steps import StepContext

ASL = json.loads((Path(__file__).parents[2] / "statemachine" / "licensing.asl.json").read_text())

#: steps done by the system, and the ASL state that does each (SOP 1 is recorded as the completeness check
#: opens; SOP 3 forwards with the receipt)
SYSTEM_STATES = {"submission": "CheckCompleteness", "forwarding": "IssueReceipt"}


def _states(states: dict) -> dict:
    found = dict(states)
    for state in states.values():
        for branch in state.get("Branches", []):
            found |= _states(branch["States"])
    return found


STATES = _states(ASL["States"])


def waits() -> dict[str, list[str]]:
    """Human step id → the ASL states that wait on its task token."""
    found: dict[str, list[str]] = {}
    for name, state in STATES.items():
        if str(state.get("Resource", "")).endswith(".waitForTaskToken"):
            found.setdefault(state["Parameters"]["Payload"]["step"], []).append(name)
    return found


def test_every_step_id_has_exactly_one_module_named_after_it():
    assert set(registry.definitions()) == set(steps.StepId)
    for step_id in steps.StepId:
        step = registry.module(step_id.value)
        assert step.definition.step_id == step_id
        assert step.source.__name__ == f"silastri.steps.{step_id.value}"


def test_every_module_in_the_package_is_registered():
    package = Path(registry.__file__).parent
    files = {m.name for m in pkgutil.iter_modules([str(package)]) if not m.name.startswith("_")}
    assert files == {step_id.value for step_id in steps.StepId}


def test_every_outcome_has_both_labels_and_every_module_documents_its_details():
    for step_id in steps.StepId:
        step = registry.module(step_id.value)
        assert step.definition.title and step.definition.title_en, step_id
        assert isinstance(step.details, dict), step_id
        assert step.source.__doc__ and f"SOP {step.definition.sop_number}" in step.source.__doc__, step_id
        for outcome in step.definition.outcomes:
            assert outcome.label.strip() and outcome.label_en.strip(), (step_id, outcome.outcome)
        names = [o.outcome for o in step.definition.outcomes]
        assert len(names) == len(set(names)), step_id
        assert (step.definition.standard_minutes or step.definition.standard_working_days), step_id


def test_every_human_step_in_the_workflow_has_a_module_and_no_module_is_missing_from_the_workflow():
    human = {s.step_id.value for s in registry.all_definitions() if s.outcomes}
    assert set(waits()) == human
    for step_id, state in SYSTEM_STATES.items():
        assert registry.definition(step_id).outcomes == [] and state in STATES
    assert human | set(SYSTEM_STATES) == {s.value for s in steps.StepId}


def test_the_workflow_routes_every_outcome_of_each_waiting_step_and_nothing_else():
    """Each wait goes on to its "Next" for the step's one normal outcome (SendTaskSuccess); every outcome that
    leaves the normal path resumes with its named error (SendTaskFailure), which the wait catches, keeping the
    decision in $.decision; no wait catches a decision error its step cannot produce."""
    for step_id, names in waits().items():
        outcomes = {o.outcome for o in registry.definition(step_id).outcomes}
        normal = {o for o in outcomes if steps.resume_error(o) is None}
        leaving = {steps.resume_error(o) for o in outcomes} - {None}
        assert len(normal) == 1, (step_id, normal)
        for name in names:
            state = STATES[name]
            assert state["Next"] in STATES, name
            caught = {e: c for c in state["Catch"] for e in c["ErrorEquals"] if e.startswith("Keputusan.")}
            assert all(c["ResultPath"] == "$.decision" and c["Next"] in STATES for c in caught.values()), name
            # withdrawing is caught wherever the applicant may still withdraw (not once the decision is taken)
            assert leaving <= set(caught) <= leaving | {steps.resume_error(steps.WITHDRAWN)}, (step_id, name)
            errors = [e for c in state["Catch"] for e in c["ErrorEquals"]]
            assert errors[-1] == "States.ALL" and len(errors) == len(set(errors)), name  # catch-all last


def test_every_human_step_declares_its_checks_and_effects():
    for definition in registry.all_definitions():
        source = registry.module(definition.step_id.value).source
        has = hasattr(source, "validate") and hasattr(source, "effects")
        assert has == bool(definition.outcomes), definition.step_id


def test_the_domain_reads_the_definitions_from_the_step_modules_in_sop_order():
    assert list(steps.STEPS) == [d.step_id for d in registry.all_definitions()]
    assert [d.step_id.value for d in registry.all_definitions()][:4] == [
        "submission", "completeness_check", "revision", "forwarding"]
    assert steps.step("numbering") is registry.definition("numbering") is steps.STEPS[steps.StepId.NUMBERING]
    with pytest.raises(ValidationError) as unknown:
        steps.step("payment_dance")
    assert unknown.value.field == "step"


@pytest.mark.parametrize(("role", "outcome", "note", "error"), [
    ("technical_team", "revision", "Lengkapi denah lokasi", None),
    ("technical_team", "revision", " ", ValidationError),
    ("back_office", "revision", "Lengkapi denah lokasi", Exception),
])
def test_the_technical_team_may_return_a_file_for_revision_with_a_note(role, outcome, note, error):
    if error:
        with pytest.raises(error):
            steps.check_decision("technical_review", {role}, outcome, note)
    else:
        chosen = steps.check_decision("technical_review", {role}, outcome, note)
        assert chosen.label == "Kembalikan ke pemohon untuk perbaikan" and chosen.note_required


def _context(outcome: str, note: str | None, details: dict) -> StepContext:
    now = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)
    app = Application(application_id="a1", office_id="rokan-hilir", applicant_id="u1",
                      permit_type="izin-operasional-orsos", status=ApplicationStatus.IN_PROGRESS,
                      created_at=now, submitted_at=now)
    task = Task(task_id="t1", application_id="a1", office_id="rokan-hilir", step="technical_review",
                role="technical_team", opened_at=now, execution_name="run-1")
    principal = Principal(user_id="o1", roles={"technical_team"}, office_id="rokan-hilir")
    return StepContext(task=task, app=app, principal=principal, outcome=outcome, note=note, details=details)


def test_a_technical_revision_keeps_the_document_notes_for_the_applicant_and_renders_no_recommendation():
    requirement = default_catalog().permit_type("rokan-hilir", "izin-operasional-orsos").requirements[0]
    step = registry.module("technical_review")
    ctx = _context("revision", "Denah tidak sesuai", {"document_notes": {requirement.requirement_id: " Ganti denah "}})
    checked = step.validate(ctx)  # no findings, no visit date needed to send a file back
    assert checked == {"revision_notes": {requirement.requirement_id: "Ganti denah"}}
    assert step.effects(ctx, checked, "claim-1", None) == {
        "changes": {"revision_notes": {requirement.requirement_id: "Ganti denah"}}}
    with pytest.raises(ValidationError) as unknown:  # a note on a document the type does not ask for: 400
        step.validate(_context("revision", "x", {"document_notes": {"no-such-document": "x"}}))
    assert unknown.value.field == "document_notes.no-such-document"
    with pytest.raises(ValidationError) as bad:
        step.validate(_context("revision", "x", {"document_notes": ["x"]}))
    assert bad.value.field == "document_notes"


def test_the_recommendation_still_checks_findings_and_the_visit_date():
    step = registry.module("technical_review")
    with pytest.raises(ValidationError) as bad:
        step.validate(_context("recommend", None, {"findings": "not a list"}))
    assert bad.value.field == "findings"
    with pytest.raises(ValidationError) as future:
        step.validate(_context("recommend", None, {"visited_on": "2999-01-01"}))
    assert future.value.field == "visited_on"
    assert step.validate(_context("recommend", None, {}))["findings"] == ["Pemeriksaan berkas sesuai persyaratan."]


def test_optional_parts_default_to_nothing():
    forwarding = registry.module("forwarding")
    ctx = _context("recommend", None, {})
    assert forwarding.validate(ctx) == {} and forwarding.effects(ctx, {}, "c", None) == {}
    assert registry.module("verification").view(ctx.app, ctx.task) == {}
    assert registry.module("revision").status_while_open == ApplicationStatus.AWAITING_REVISION
    assert registry.module("printing").audit == ("copies",)
    assert registry.module("approval").status_while_open is None and registry.module("approval").audit == ()
