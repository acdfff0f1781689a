"""The SOP's steps, one module each: what a step is, what it checks, what its decision does.

Each step module declares
- ``DEFINITION`` (domain.steps.StepDef): step id, SOP number, title, role, outcomes (labels, which need a
  note), standard time;
- ``DETAILS``: the decision details it reads ({name: what it is}); anything else is ignored;
and, for a human step,
- ``validate(ctx) -> dict``: checks that must hold before the decision is claimed (no effects); returns the
  checked inputs the effects need; raises ValidationError / ForbiddenError / ConflictError;
- ``effects(ctx, checked, claim_id, credentials) -> dict``: the claimed decision's effects, keyed by the
  claim, publishing nothing; returns ``changes`` (application fields the run's next steps read), what
  services.tasks publishes once the run accepted the decision (``permit``, ``signed``) and ``audit`` (values
  the effects settled, written into the decision's audit entry, e.g. the permit number assigned);
and optionally
- ``view(app, task) -> dict``: extra fields for the officer's task page (e.g. the proposed number);
- ``prepare(app)``: what must be ready before the step's task opens (idempotent: a resumed run prepares
  again), e.g. SOP 1's submission record before the completeness check, the number proposed at SOP 7, the
  draft decree the head reviews at SOP 8 — work that has no workflow state of its own (`app` is read without
  its documents: a step that needs them reads the application itself);
- ``opened(app, task)``: what happens when the step's task opens, beyond queueing it (e.g. a message);
- ``STATUS_WHILE_OPEN``: the application's status while the task is open (the applicant must act);
- ``AUDIT``: names of checked values written into the decision's audit entry.

The order of the steps lives in the ASL (statemachine/licensing.asl.json). A new step is one module here
(listed in ``_MODULES``), its id in domain.steps.StepId, and its states in the ASL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..domain.errors import ValidationError
from ..domain.models import Application, ApplicationStatus, Task
from ..domain.steps import StepDef, StepId
from . import (
    approval,
    completeness_check,
    forwarding,
    numbering,
    payment,
    payment_assessment,
    payment_confirmation,
    pickup,
    printing,
    rejection_signing,
    revision,
    signing,
    submission,
    technical_review,
    verification,
)
from ._common import StepContext

if TYPE_CHECKING:
    from ..services.permits import SigningCredentials

__all__ = ["Step", "StepContext", "all_definitions", "definition", "definitions", "module"]

#: every step module, in the order the SOP goes through them (status pages list steps in this order)
_MODULES: tuple[ModuleType, ...] = (submission, completeness_check, revision, forwarding, technical_review,
                                    verification, approval, payment_assessment, payment, payment_confirmation,
                                    numbering, signing, printing, pickup, rejection_signing)


def _no_checks(ctx: StepContext) -> dict[str, Any]:
    return {}


def _no_effects(ctx: StepContext, checked: dict[str, Any], claim_id: str,
                credentials: SigningCredentials | None) -> dict[str, Any]:
    return {}


def _no_view(app: Application, task: Task) -> dict[str, Any]:
    return {}


def _nothing_on_open(app: Application, task: Task) -> None:
    return None


def _nothing_to_prepare(app: Application) -> None:
    return None


@dataclass(frozen=True)
class Step:
    """A step module with its optional parts filled in (system steps have no checks and no effects)."""

    source: ModuleType
    definition: StepDef
    details: dict[str, str]
    validate: Callable[[StepContext], dict[str, Any]] = _no_checks
    effects: Callable[[StepContext, dict[str, Any], str, SigningCredentials | None], dict[str, Any]] = _no_effects
    view: Callable[[Application, Task], dict[str, Any]] = _no_view
    prepare: Callable[[Application], None] = _nothing_to_prepare
    opened: Callable[[Application, Task], None] = _nothing_on_open
    status_while_open: ApplicationStatus | None = None
    audit: tuple[str, ...] = field(default_factory=tuple)

    @property
    def step_id(self) -> StepId:
        return self.definition.step_id


def _load(source: ModuleType) -> Step:
    optional = {name: getattr(source, attribute) for name, attribute in (
        ("validate", "validate"), ("effects", "effects"), ("view", "view"), ("prepare", "prepare"),
        ("opened", "opened"),
        ("status_while_open", "STATUS_WHILE_OPEN"), ("audit", "AUDIT")) if hasattr(source, attribute)}
    return Step(source=source, definition=source.DEFINITION, details=getattr(source, "DETAILS", {}), **optional)


_REGISTRY: dict[StepId, Step] = {step.step_id: step for step in map(_load, _MODULES)}


def module(step_id: str) -> Step:
    """The step `step_id` (a StepId value). Raises ValidationError(field="step") for an unknown step."""
    try:
        return _REGISTRY[StepId(step_id)]
    except (ValueError, KeyError):
        raise ValidationError(f"unknown step '{step_id}'", field="step") from None


def definition(step_id: str) -> StepDef:
    """The StepDef of `step_id`. Raises ValidationError(field="step") for an unknown step."""
    return module(step_id).definition


def definitions() -> dict[StepId, StepDef]:
    """Every step's definition by id, in SOP order."""
    return {step_id: step.definition for step_id, step in _REGISTRY.items()}


def all_definitions() -> list[StepDef]:
    """Every step's definition, in SOP order."""
    return [step.definition for step in _REGISTRY.values()]
