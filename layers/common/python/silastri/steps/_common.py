"""What every step module works with: the decision's context, and helpers two steps share.

Nothing here imports the services at module level: the step definitions are read by the domain (standard
times, outcomes) without loading the AWS adapters; the services are imported where an effect needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ..domain import validation
from ..domain.catalog import default_catalog
from ..domain.errors import NotFoundError, ValidationError
from ..domain.models import Application, Task

if TYPE_CHECKING:
    from ..adapters.identity import Principal
    from ..services.permits import SigningCredentials

T = TypeVar("T")

#: what the two signing steps (the permit, the rejection letter) read from a decision's details
SIGNING_DETAILS = {
    "confirm_resign": "true — sign again after an attempt whose outcome is unknown (BSrE)",
    "signer_nik, passphrase, totp": "BSrE one-time secrets, taken out before anything is stored",
}


@dataclass(frozen=True)
class StepContext:
    """One decision at one step: the task, its application, who decides, the outcome, the note (cleaned)
    and the step-specific `details` (signing secrets already taken out).

    For `validate` the task is the open one and the application as read before the claim; for `effects`
    the task is the claimed one and the application is read again after the claim."""

    task: Task
    app: Application
    principal: Principal
    outcome: str
    note: str | None
    details: dict[str, Any]

    @property
    def note_text(self) -> str:
        """The note stripped, "" when none (e.g. a rejection reason)."""
        return self.note.strip() if self.note else ""


def document_notes(ctx: StepContext) -> dict[str, str]:
    """`details["document_notes"]`: {requirement_id: note} for the documents the applicant must replace.

    Every key must be a requirement of the application's permit type, every note
    1–1000 characters of plain text. Raises ValidationError(field="document_notes" / "document_notes.<id>")."""
    notes = ctx.details.get("document_notes") or {}
    if not isinstance(notes, dict):
        raise ValidationError("catatan dokumen tidak valid", field="document_notes")
    definition = default_catalog().permit_type(ctx.app.office_id, ctx.app.permit_type)
    cleaned = {}
    for requirement_id, text in notes.items():
        try:
            definition.requirement(requirement_id)
        except NotFoundError:
            raise ValidationError(f"'{str(requirement_id)[:64]}' bukan persyaratan {definition.name}",
                                  field=f"document_notes.{str(requirement_id)[:64]}") from None
        cleaned[requirement_id] = validation.clean_text(
            text, f"document_notes.{requirement_id}", 1000, label="catatan dokumen", multiline=True)
    return cleaned


def signed(ctx: StepContext, checked: dict[str, Any], credentials: SigningCredentials | None,
           sign: Callable[[], T]) -> T:
    """Sign with the configured signer (SOP 8: the permit or the rejection letter).

    BSrE: the passphrase/TOTP is required, the certificate status is checked first (refused early unless
    ISSUE, before the secret is sent), and the call is one numbered attempt in the audit trail
    (`signing.attempt`: unknown outcomes, refusals). Other signers sign directly. Raises
    SignatureSettingUnusable when the office's visible-signature setting cannot be used (nothing signed)."""
    from ..services import permits, signing

    try:  # the office's visible-signature setting must be usable before anything is signed or sent
        permits.signature_appearance(default_catalog().office(ctx.app.office_id))
    except (ValueError, OSError, NotFoundError) as exc:
        raise signing.SignatureSettingUnusable(
            f"pengaturan tanda tangan tampak (spesimen) kantor tidak dapat dipakai: {exc}; tidak ada yang "
            "ditandatangani. Hubungi administrator", field="signature_appearance") from None
    if not signing.is_bsre():
        return sign()
    if credentials is None or not (credentials.passphrase or credentials.totp):
        raise ValidationError("passphrase atau kode TOTP BSrE wajib diisi untuk menandatangani", field="passphrase")
    if credentials.passphrase and credentials.totp:
        raise ValidationError("isi passphrase ATAU kode TOTP, tidak keduanya", field="passphrase")
    reservation = signing.throttle_signing(ctx.principal)  # guessing passphrases online is throttled like passwords
    signing.check_certificate(credentials.nik)
    result = signing.attempt(ctx.app, ctx.task.task_id, ctx.task.step, ctx.principal,
                             confirm_resign=checked.get("confirm_resign", False), sign=sign)
    reservation.succeeded()  # a signature that went through does not count against the head
    return result


def resign_confirmation(ctx: StepContext) -> dict[str, Any]:
    """Before signing again after an attempt whose outcome is unknown: only an explicit re-sign
    (`details["confirm_resign"] is True`) goes ahead (`signing.require_resign_confirmation`)."""
    from ..services import signing

    signing.require_resign_confirmation(ctx.app, ctx.task.step, ctx.outcome, ctx.details)
    return {"confirm_resign": ctx.details.get("confirm_resign") is True}
