"""Issued documents: receipt, permit decree, rejection letter; signing (TTE) and public verification.

Signing happens at the head's decision, inside the API call, so that signing secrets (a BSrE
passphrase, later) never enter the workflow's payloads or history."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..adapters import dynamo, storage
from ..adapters.identity import Principal
from ..domain.catalog import Office, PermitType, default_catalog
from ..domain.clock import now_utc, to_wib
from ..domain.errors import ConflictError, NotFoundError
from ..domain.models import Application, ApplicationStatus, PermitRecord
from ..observability import logger
from ..settings import SecretUnavailable, get_settings

if TYPE_CHECKING:
    from ..adapters.documents import Letterhead, SignatureBlock
    from ..adapters.signing import SignatureAppearance, Signer


@cache
def signer() -> Signer:
    """The configured signing adapter for one-step signing (development PKI or KMS)."""
    settings = get_settings()
    if settings.signer_mode == "kms":
        from ..adapters.signing_kms import KmsSigner

        if not settings.kms_key_id or not settings.signer_certificate_pem:
            raise RuntimeError("signer_mode=kms needs KMS_KEY_ID and SIGNER_CERTIFICATE_PEM")
        return KmsSigner(settings.kms_key_id, settings.signer_certificate_pem.encode())
    from ..adapters.signing import DevPkiSigner

    return DevPkiSigner(Path(settings.data_dir) / "pki")


def signer_for(credentials: SigningCredentials | None) -> Signer:
    """BSrE needs the head's NIK and a one-time passphrase/TOTP per signature: a one-shot signer that
    forgets them after use. Other modes sign without per-call secrets.

    Raises ValidationError (field `passphrase`) when BSrE credentials are missing or both a passphrase and a
    TOTP code are given."""
    settings = get_settings()
    if settings.signer_mode != "bsre":
        return signer()
    from ..domain.errors import ValidationError
    from . import signing

    if credentials is None or not (credentials.passphrase or credentials.totp) or not credentials.nik:
        raise ValidationError("passphrase atau kode TOTP BSrE wajib diisi untuk menandatangani", field="passphrase")
    if credentials.passphrase and credentials.totp:
        raise ValidationError("isi passphrase ATAU kode TOTP, tidak keduanya", field="passphrase")
    nik = signing.checked_nik(credentials.nik)
    if credentials.passphrase:
        return signing.bsre_service().with_credentials(nik, passphrase=credentials.passphrase)
    return signing.bsre_service().with_credentials(nik, totp=credentials.totp)


def signer_trust_roots() -> list[bytes]:
    """The certificates issued documents' signatures must chain to: the development PKI's root, BSrE's configured
    roots (SecretUnavailable when missing), or the KMS signer's certificate."""
    settings = get_settings()
    if settings.signer_mode == "dev-pki":
        return signer().trust_roots_pem()
    if settings.signer_mode == "bsre":
        return settings.bsre_trust_roots()
    return [settings.signer_certificate_pem.encode()] if settings.signer_certificate_pem else []


class SigningCredentials:
    """Per-signature secrets (BSrE). Held only for the duration of one call; never stored or logged."""

    __slots__ = ("nik", "passphrase", "totp")

    def __init__(self, nik: str | None, passphrase: str | None, totp: str | None) -> None:
        self.nik, self.passphrase, self.totp = nik, passphrase, totp

    def __repr__(self) -> str:
        return "SigningCredentials(<hidden>)"


def letterhead(office: Office) -> Letterhead:
    from ..adapters.documents import Letterhead

    return Letterhead(government=office.government, office_name=office.name, address=office.address, city=office.city)


def agency_letterhead(office: Office, definition: PermitType) -> Letterhead:
    """The recommending sector agency's own letterhead (catalog `technical_recommendation.letterhead`); the
    office's when the type names none."""
    from ..adapters.documents import Letterhead

    own = definition.stages.technical_recommendation.letterhead
    if own is None:
        return letterhead(office)
    return Letterhead(government=own.government or office.government, office_name=own.name, address=own.address,
                      city=own.city)


def signing_statement(draft: bool = False) -> tuple[str, str | None]:
    """What a signed document's footer says about its signature, and a notice (None for none): the BSrE
    sentence only when BSrE signs; the development PKI and the KMS signer say what they are. A draft says it
    is not signed yet."""
    from ..adapters.documents import BSRE_STATEMENT, DEV_PKI_NOTICE

    if draft:
        return ("Draf untuk pemeriksaan: belum ditandatangani. Dokumen resmi diterbitkan setelah ditandatangani "
                "secara elektronik oleh Kepala Dinas", "Draf — belum ditandatangani")
    mode = get_settings().signer_mode
    if mode == "bsre":
        return BSRE_STATEMENT, None
    if mode == "kms":
        return ("Dokumen ini ditandatangani secara elektronik dengan kunci AWS KMS dan sertifikat yang dipasang "
                "kantor; sertifikat ini bukan sertifikat elektronik yang diterbitkan oleh BSrE", None)
    return ("Dokumen ini ditandatangani dengan sertifikat PKI pengembangan lokal SILASTRI RV (bukan sertifikat "
            "elektronik BSrE/BSSN) dan tidak berlaku sebagai dokumen resmi", DEV_PKI_NOTICE)


def verify_url(permit_id: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/verifikasi/{permit_id}"


HOLDER_LABELS = {"organisation": "Nama Organisasi", "business": "Nama Usaha", "practitioner": "Nama Pemegang Izin",
                 "person": "Nama Pemegang Izin"}


def applicant_name(app: Application) -> str | None:
    """The name of the person who applied (their account's name): stored on the application since its draft;
    for older applications read from the account (None when it cannot be read)."""
    if app.applicant_name:
        return app.applicant_name
    from ..adapters import identity

    try:
        return identity.contact_of(app.applicant_id).get("name") or None
    except Exception as exc:  # noqa: BLE001 - the receipt is still issued, naming the holder instead
        logger.warning("applicant name unavailable for the receipt", error=type(exc).__name__)
        return None


def render_receipt(app: Application, checked_at: datetime) -> bytes:
    """The *Tanda Terima*: "Nama Pemohon" is the person who applied; the organisation (or other holder, when it is
    not that person) on its own row."""
    from ..adapters import documents

    catalog = default_catalog()
    office = catalog.office(app.office_id)
    definition = catalog.permit_type(app.office_id, app.permit_type)
    names = {r.requirement_id: r.name for r in definition.requirements}
    assert app.registration_number and app.submitted_at
    holder = app.holder_name(definition)
    applicant = applicant_name(app) or holder
    shown = definition.subject in ("organisation", "business") or holder.casefold() != applicant.casefold()
    return documents.render_receipt(
        letterhead(office), registration_number=app.registration_number, applicant_name=applicant,
        organisation_name=holder if shown else None, holder_label=HOLDER_LABELS[definition.subject],
        permit_type_name=definition.name,
        submitted_at=app.submitted_at, checked_at=checked_at,
        documents=[names.get(r, r) for r in app.current_documents()],
        pickup_code_url=f"{get_settings().public_base_url.rstrip('/')}/ambil/{app.registration_number}",
    )


def _signature(office: Office, name: str, acting: bool = False, title: str | None = None) -> SignatureBlock:
    """The signature block: the title with the regency, and the NIP and rank of the official the catalog names
    for `name` (the head, or the acting head when `acting`); none for a name it does not know."""
    from ..adapters.documents import SignatureBlock

    official = office.official(name, acting)
    return SignatureBlock(signer_name=name, signer_title=office.full_title(title or office.head_title), acting=acting,
                          employee_id=official.nip if official else None, rank=official.rank if official else None)


def signer_title(office: Office, definition: PermitType) -> str:
    """Who signs this type's decree: the catalog's title override, or the office's head."""
    return definition.signer.title or office.head_title


def legal_bases(definition: PermitType, office: Office | None = None) -> list[str]:
    """The decree's *Mengingat*: each legal basis of the type as text, then (with `office`) the regent's delegation
    of authority to the head of office; `;` between them and `.` after the last."""
    bases = [*definition.legal_bases, *([office.delegation] if office and office.delegation else [])]
    texts = [basis.text() for basis in bases]
    return [t + (";" if i < len(texts) - 1 else ".") for i, t in enumerate(texts)]


def recommendation_citation(app: Application, definition: PermitType) -> str | None:
    """The technical recommendation as the decree's *Memperhatikan* cites it, with the agency's letter number and
    date when it has them, e.g. `Rekomendasi Teknis Dinas Sosial Kabupaten Rokan Hilir Nomor
    460/DINSOS/0001/XI/2026 tanggal 21 November 2026.`; None when the application's plan had none."""
    from ..domain.clock import format_date_id

    if not (app.plan(definition)["technical_review"] and definition.technical_agency):
        return None
    text = f"Rekomendasi Teknis {definition.technical_agency}"
    if app.technical_recommendation_number:
        text += f" Nomor {app.technical_recommendation_number}"
    if app.technical_recommendation_date:
        text += f" tanggal {format_date_id(date.fromisoformat(app.technical_recommendation_date))}"
    return text + "."


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "-"


def decree_values(app: Application, office: Office, definition: PermitType) -> dict[str, str]:
    """What the decree's `{placeholders}` read: the form's answers ("-" when unanswered) and the office's and
    type's facts (catalog.DECREE_PLACEHOLDERS)."""
    values = _Blank({f.field: f.display(app.form.get(f.field)) for f in definition.form_fields})
    validity = definition.validity
    values.update(holder_name=app.holder_name(definition), regency=office.regency, government=office.government,
                  office_name=office.short_name, permit_type_name=definition.name,
                  validity=validity.label if not validity.until_revoked else validity.label.lower(),
                  agency=definition.technical_agency or "-")
    return values


def decree_texts(app: Application, office: Office, definition: PermitType) -> dict[str, Any]:
    """The decree's texts with their placeholders filled: considerations (Mengingat, the delegation of authority
    last), noting (Memperhatikan, with the technical recommendation's number and date when the application's
    plan had one), articles, recitals and tembusan (the type's, else the office's)."""
    values = decree_values(app, office, definition)
    noting = [text.format_map(values) for text in definition.decree.noting]
    citation = recommendation_citation(app, definition)
    if citation:
        noting.append(citation)
    tembusan = definition.decree.tembusan if definition.decree.tembusan is not None else office.tembusan
    return {
        "considerations": legal_bases(definition, office),
        "noting": noting,
        "decision_text": [text.format_map(values) for text in definition.decree.articles],
        "recitals": [text.format_map(values) for text in definition.decree.recitals] if definition.decree.recitals else None,
        "tembusan": [text.format_map(values) for text in tembusan],
    }


def _decree_label(office: Office, label: str) -> str:
    """A form label as the decree prints it: `Kecamatan (Kabupaten Rokan Hilir)` is `Kecamatan` on a decree of
    that regency."""
    return label.removesuffix(f" ({office.regency})")


def render_permit(app: Application, signer_name: str | None = None, acting: bool = False,
                  draft: bool = False) -> bytes:
    """The permit decree with its number, holder, validity, signature block, Tembusan and verification QR.

    `signer_name` None: the head the catalog names (else the head's title); `draft`: the footer says the decree
    is not signed yet (the preview before the head signs)."""
    from ..adapters import documents

    catalog = default_catalog()
    office = catalog.office(app.office_id)
    definition = catalog.permit_type(app.office_id, app.permit_type)
    assert app.permit_number and app.permit_id
    issued = to_wib(now_utc()).date()
    fields = {f.field: f for f in definition.form_fields}
    name = signer_name or (office.head.name if office.head else office.head_title)
    statement, notice = signing_statement(draft)
    return documents.render_permit(
        letterhead(office), permit_number=app.permit_number, title=definition.decree_title,
        holder_name=app.holder_name(definition),
        holder_details=[(_decree_label(office, fields[k].label), fields[k].display(v)) if k in fields else (k, v)
                        for k, v in app.form.items() if k != definition.holder_field.field],  # the holder: "Nama"
        **decree_texts(app, office, definition), issued_at=issued, valid_until=definition.valid_until(issued),
        open_ended=definition.validity.label.lower(),
        signature=_signature(office, name, acting, signer_title(office, definition)),
        verify_url=verify_url(app.permit_id), signing_statement=statement, notice=notice,
    )


def render_rejection(app: Application, signer_name: str | None = None, acting: bool = False,
                     draft: bool = False) -> bytes:
    """The rejection letter (`signer_name` and `draft` as for `render_permit`)."""
    from ..adapters import documents

    catalog = default_catalog()
    office = catalog.office(app.office_id)
    definition = catalog.permit_type(app.office_id, app.permit_type)
    assert app.registration_number
    name = signer_name or (office.head.name if office.head else office.head_title)
    statement, notice = signing_statement(draft)
    return documents.render_rejection_letter(
        letterhead(office), letter_number=app.rejection_letter_number, registration_number=app.registration_number,
        addressee=app.holder_name(definition), permit_type_name=definition.name,
        reasons=app.rejection_reasons or ["Berkas tidak memenuhi persyaratan."],
        issued_at=to_wib(now_utc()).date(), signature=_signature(office, name, acting),
        signing_statement=statement, notice=notice,
    )


def signature_appearance(office: Office) -> SignatureAppearance:
    """The office's TTE specimen setting as the signer takes it (catalog `signature_appearance`; invisible by
    default). The image is read from silastri/domain/data/ or decoded from its data URI.

    Raises ValueError when a visible setting's image is not a PNG."""
    import base64

    from ..adapters.signing import SignatureAppearance
    from ..domain.catalog import data_file

    setting = office.signature_appearance
    if not setting.visible:
        return SignatureAppearance()
    assert setting.image  # the catalog requires an image for a visible signature
    prefix = "data:image/png;base64,"
    image = (base64.b64decode(setting.image[len(prefix):], validate=True) if setting.image.startswith(prefix)
             else data_file(setting.image))
    if not image.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"signature image of office {office.office_id} is not a PNG")
    return SignatureAppearance(visible=True, image_png=image, page=setting.page, x=setting.x, y=setting.y,
                               width=setting.width, height=setting.height)


def _sign(pdf: bytes, principal: Principal, office: Office, reason: str, acting: bool = False,
          credentials: SigningCredentials | None = None, title: str | None = None) -> bytes:
    from ..adapters.signing import SignerIdentity

    identity = SignerIdentity(name=principal.name or principal.email or "Kepala Dinas", title=title or office.head_title,
                              acting=acting)
    return signer_for(credentials).sign_pdf(pdf, signer=identity, reason=reason, location=office.city,
                                            appearance=signature_appearance(office))


def sign_permit(application_id: str, principal: Principal, claim_id: str,
                credentials: SigningCredentials | None = None) -> PermitRecord:
    """Render the final decree in the signer's name, sign it (PAdES) and store it under the claim's key.

    Nothing is published here: the returned record is put in the registry (and the application marked
    issued) by `publish_permit`, only once the workflow has accepted the decision. Raises ConflictError
    when the application has no number yet; signer errors propagate (the claim is then released)."""
    app = dynamo.get_application(application_id)
    if not app.permit_number or not app.permit_id:
        raise ConflictError("izin belum memiliki nomor")
    catalog = default_catalog()
    office = catalog.office(app.office_id)
    definition = catalog.permit_type(app.office_id, app.permit_type)
    name = principal.name or principal.email or "Kepala Dinas"
    title = signer_title(office, definition)
    signed = _sign(render_permit(app, name, acting=principal.acting), principal, office,
                   f"Penetapan {definition.decree_title}", acting=principal.acting, credentials=credentials,
                   title=title)
    key = storage.issued_key(app.office_id, app.application_id, f"permit-{claim_id}")
    storage.put_document(key, signed)
    issued = now_utc()
    return PermitRecord(
        permit_id=app.permit_id, permit_number=app.permit_number, office_id=app.office_id,
        permit_type=app.permit_type, application_id=app.application_id, holder_name=app.holder_name(definition),
        issued_at=issued, valid_until=definition.valid_until(issued),  # None: until revoked
        signer_name=name, signer_title=("Plt. " if principal.acting else "") + title,
        sha256=hashlib.sha256(signed).hexdigest(),
        document_key=key,
    )


def publish_permit(record: PermitRecord) -> None:
    """Put a signed permit in the public registry and let the applicant download it (idempotent).

    Called only after the workflow accepted the head's decision (DESIGN: authorise → claim → effects →
    resume → publish)."""
    dynamo.put_permit(record)

    def change(target: Application) -> None:
        target.permit_key = record.document_key
        if target.status in (ApplicationStatus.IN_PROGRESS, ApplicationStatus.AWAITING_REVISION):
            target.status = ApplicationStatus.ISSUED

    dynamo.update_application(record.application_id, change, documents=False)


def sign_rejection(application_id: str, principal: Principal, claim_id: str,
                   credentials: SigningCredentials | None = None) -> str:
    """Sign the rejection letter and store it under the claim's key; returns the key (not yet on the file).
    The letter takes its number first (kept: signing again after a refused attempt reprints the same one)."""
    from . import letter_numbers

    letter_numbers.assign_rejection(application_id)
    app = dynamo.get_application(application_id)
    office = default_catalog().office(app.office_id)
    signed = _sign(render_rejection(app, principal.name or "Kepala Dinas", acting=principal.acting), principal,
                   office, "Penolakan permohonan izin", acting=principal.acting, credentials=credentials)
    key = storage.issued_key(app.office_id, app.application_id, f"rejection-letter-{claim_id}")
    storage.put_document(key, signed)
    return key


def render_technical_recommendation(app: Application, principal: Principal, findings: list[str],
                                    visited_on: date | None, recommended: bool, claim_id: str,
                                    letter_number: str | None = None, issued_on: date | None = None) -> str:
    """SOP 4 output: the Rekomendasi Teknis PDF on the sector agency's letterhead with its own `letter_number`,
    generated from the team's findings and dated `issued_on` (default today, WIB), stored under the deciding
    claim's key (so two officers can never overwrite each other's); returns its key."""
    from ..adapters import documents

    catalog = default_catalog()
    office = catalog.office(app.office_id)
    definition = catalog.permit_type(app.office_id, app.permit_type)
    assert app.registration_number
    pdf = documents.render_technical_recommendation(
        agency_letterhead(office, definition), registration_number=app.registration_number,
        organisation_name=app.holder_name(definition), agency_name=definition.technical_agency or office.name,
        findings=findings, recommended=recommended, visited_on=visited_on,
        issued_at=issued_on or to_wib(now_utc()).date(), letter_number=letter_number,
        permit_type_name=definition.name,
        signature=documents.SignatureBlock(signer_name=principal.name or "Tim Teknis",
                                           signer_title=f"Tim Teknis {definition.technical_agency or ''}".strip()),
    )
    key = storage.issued_key(app.office_id, app.application_id, f"technical-recommendation-{claim_id}")
    storage.put_document(key, pdf)
    return key


def revoke(permit_id: str, principal: Principal, reason: str) -> PermitRecord:
    """The head revokes an issued permit of their office, with a reason (kept in the registry and audit)."""
    from ..domain.errors import ForbiddenError, ValidationError

    if "head" not in principal.roles:
        raise ForbiddenError("hanya Kepala Dinas yang dapat mencabut izin", field="role")
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("alasan wajib diisi", field="reason")
    record = dynamo.get_permit(permit_id)
    if record.office_id != principal.office_id:
        raise ForbiddenError("izin ini milik kantor lain", field="office_id")
    if record.revoked:
        raise ConflictError("izin ini sudah dicabut")
    record.revoked, record.revoked_reason = True, reason.strip()
    dynamo.put_permit(record)
    return record


def registry_entry(*, permit_id: str | None = None, permit_number: str | None = None,
                   office_id: str | None = None) -> dict[str, Any]:
    """What the public registry says about an issued permit (for `silastri verify-permit`): by its public id
    (the QR code's), or by its number within one office (numbers are each office's own: two offices may print
    the same one). Raises NotFoundError (404) when there is no such issued permit."""
    record: PermitRecord | None
    if permit_id:
        try:
            record = dynamo.get_permit(permit_id)
        except NotFoundError:
            record = None
    else:
        record = next((r for r in dynamo.permits_by_number(permit_number or "")
                       if office_id is None or r.office_id == office_id), None)
    if record is None or not record.document_key:
        raise NotFoundError("izin tidak terdaftar", field="permit_id" if permit_id else "number")
    office = default_catalog().office(record.office_id)
    return {"permit_id": record.permit_id, "permit_number": record.permit_number, "sha256": record.sha256,
            "revoked": record.revoked, "revoked_reason": record.revoked_reason, "holder_name": record.holder_name,
            "permit_type": record.permit_type, "office_id": record.office_id, "office_name": office.short_name}


def new_permit_id() -> str:
    """The public id in the permit's QR code: random, so permits cannot be enumerated."""
    return uuid.uuid4().hex


def verify(permit_id: str) -> dict[str, Any]:
    """Public verification: registry entry + the stored PDF's signature, hash and revocation.

    ``timestamp_at`` (ISO UTC), ``timestamp_valid`` and ``timestamp_authority`` describe the
    signature's RFC 3161 timestamp (BSrE signs PAdES-BASELINE-T); all None for an untimestamped
    (development) signature. A timestamp that does not validate makes ``signature_valid`` false."""
    from ..adapters.signing import verify_signed_pdf

    record = dynamo.get_permit(permit_id)
    if not record.document_key:
        raise NotFoundError("izin belum diterbitkan", field="permit_id")
    data = storage.get_document(record.document_key)
    try:
        roots = signer_trust_roots()
    except SecretUnavailable as exc:  # a deployment error: said in the log, the page says "not valid"
        logger.error("trust roots unavailable for verification", reason=str(exc))
        roots = []
    report = verify_signed_pdf(data, roots)
    reasons = list(report.reasons)
    if hashlib.sha256(data).hexdigest() != record.sha256:
        reasons.append("hash-mismatch")
    if record.revoked:
        reasons.append("revoked")
    return {
        "permit_number": record.permit_number, "holder_name": record.holder_name, "office_id": record.office_id,
        "permit_type": default_catalog().permit_type_name(record.office_id, record.permit_type),
        "issued_at": record.issued_at.isoformat(),
        "valid_until": record.valid_until.isoformat() if record.valid_until else None,
        "signer_name": record.signer_name, "signer_title": record.signer_title,
        "signature_valid": report.valid, "revoked": record.revoked,
        "timestamp_at": report.timestamp_at.isoformat() if report.timestamp_at else None,
        "timestamp_valid": report.timestamp_valid, "timestamp_authority": report.timestamp_authority,
        "valid": report.valid and not reasons, "reasons": reasons,
        "checked_at": datetime.now(UTC).isoformat(),
    }
