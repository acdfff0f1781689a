"""An application's whole journey, played through the API only (the applicant and every officer).

Used by `silastri demo`, `silastri bench` and the workflow tests."""

from __future__ import annotations

import io
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from .client import ApiClient, fetch, post_form, wait_for

FORMS = {
    "izin-operasional-orsos": {
        "organisation_name": "Yayasan Peduli Anak Rokan Hilir", "organisation_address": "Jl. Perniagaan No. 12",
        "district": "Bangko", "chair_name": "Hj. Nurhayati", "legal_entity_number": "AHU-0012345.AH.01.04.2026",
        "field_of_activity": "Lembaga kesejahteraan sosial anak",
    },
    "sip": {
        "practitioner_name": "dr. Andi Pratama", "profession": "Dokter umum", "str_number": "STR-1234567890",
        "practice_address": "Klinik Sehat, Jl. Sudirman No. 5, Bagansiapiapi", "district": "Bangko",
    },
}
#: short names for `silastri demo/bench --type` beside every permit type id of the office
TYPES = {"orsos": "izin-operasional-orsos", "sip": "sip"}
#: sample answers for text fields of other permit types, by field name (else a value made from the label)
SAMPLE_TEXT = {
    "pharmacy_name": "Apotek Sehat Bersama", "pharmacist_name": "apt. Rina Wulandari, S.Farm.",
    "sipa_number": "SIPA-1407-2026-0012", "pharmacy_address": "Jl. Perdamaian No. 7, Bagansiapiapi",
    "midwife_name": "Bd. Siti Aminah, S.Keb.", "facility_name": "Puskesmas Bagansiapiapi",
    "institution_name": "TK Tunas Harapan", "organiser_name": "Yayasan Tunas Harapan Rokan Hilir",
    "head_name": "Dra. Hj. Maimunah", "address": "Jl. Pendidikan No. 3, Bagansiapiapi",
    "user_name": "CV Maju Bersama", "asset_location": "Gedung Serbaguna, Jl. Merdeka No. 9, Bagansiapiapi",
    "purpose": "Pameran produk UMKM", "practice_address": "Jl. Sudirman No. 5, Bagansiapiapi",
    "str_number": "STR-1234567890", "chair_name": "Hj. Nurhayati", "legal_entity_number": "AHU-0012345.AH.01.04.2026",
    "organisation_name": "Yayasan Peduli Anak", "organisation_address": "Jl. Perniagaan No. 12",
    "field_of_activity": "Lembaga kesejahteraan sosial anak", "practitioner_name": "dr. Andi Pratama",
    "event_name": "Turnamen Bulu Tangkis Pelajar Se-Kabupaten",
}


def form_for(spec: dict[str, Any], known: dict[str, str] | None = None) -> dict[str, str]:
    """A valid form for a permit type as `/api/catalog` describes it: `known` answers where they fit (the
    seeded FORMS), enums their first option, dates today (WIB), numbers their minimum (1), texts sample values."""
    known = known or {}
    today = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()
    form: dict[str, str] = {}
    for field_spec in spec["form_fields"]:
        name, kind = field_spec["field"], field_spec.get("type", "text")
        value = known.get(name)
        if kind == "enum":
            options = [str(option) for option in field_spec["options"]]
            form[name] = value if value is not None and value in options else options[0]
        elif kind == "date":
            form[name] = today
        elif kind == "number":
            form[name] = str(max(1, field_spec.get("minimum") or 1))
        else:
            text = str(value or SAMPLE_TEXT.get(name) or f"Contoh {field_spec['label'].lower()}")
            form[name] = text[: field_spec.get("max_length", 200)]
    return form


def sample_pdf(title: str) -> bytes:
    """A small, well-formed one-page PDF standing in for a scanned requirement."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    pdf.setFont("Helvetica", 14)
    pdf.drawString(72, 760, title)
    pdf.drawString(72, 740, "Dokumen contoh untuk demo SILASTRI RV")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@dataclass
class StepLine:
    sop: str
    actor: str
    output: str
    seconds: float


#: who decides each officer step of STEP_ORDER (where `advance(until=...)` waits for the task to open)
OFFICER_OF = {"completeness_check": "back_office", "technical_review": "technical_team", "verification": "verifier",
              "approval": "approver", "payment_assessment": "technical_team", "payment_confirmation": "back_office",
              "numbering": "back_office", "signing": "head", "printing": "back_office", "pickup": "back_office"}


def _skipped(step: str, plan: dict[str, Any]) -> bool:
    """Whether the stage plan leaves `step` out (no task will open there)."""
    return ((step == "technical_review" and not plan["technical_review"])
            or (step == "payment_assessment" and plan["payment"] != "assessed")
            or (step == "payment_confirmation" and plan["payment"] == "none"))


@dataclass
class Journey:
    """One applicant and one application, moved through the SOP by the officers' API calls."""

    api: ApiClient
    officers: dict[str, ApiClient]
    permit_type: str
    on_step: Callable[[StepLine], None] = lambda line: None
    office_id: str | None = None          # None: the deployment's default office
    form: dict[str, str] | None = None    # None: FORMS' answers where they fit, sample values otherwise
    answers: dict[str, str] = field(default_factory=dict)  # answers that replace FORMS' / the sample values
    assessment: dict[str, Any] | None = None  # the technical team's retribution assessment (None: ASSESSMENT)
    applicant: ApiClient | None = None
    application_id: str = ""
    registration_number: str = ""
    lines: list[StepLine] = field(default_factory=list)
    credentials: dict[str, str] = field(default_factory=dict)
    _mark: float = field(default_factory=time.perf_counter)

    def _done(self, sop: str, actor: str, output: str) -> None:
        now = time.perf_counter()
        line = StepLine(sop, actor, output, now - self._mark)
        self._mark = now
        self.lines.append(line)
        self.on_step(line)

    # ---------------------------------------------------------------- applicant

    def register(self) -> ApiClient:
        email = f"pemohon-{uuid.uuid4().hex[:10]}@contoh.id"
        phone = "08" + "".join(str(secrets.randbelow(10)) for _ in range(10))
        password = "Pemohon-" + secrets.token_hex(4) + "A1"
        nik = "1407" + "".join(str(secrets.randbelow(10)) for _ in range(12))  # 14 07: Rokan Hilir region code
        self.api.post("/api/auth/register", {"name": "Pemohon Demo", "email": email, "phone": phone,
                                             "password": password, "nik": nik})
        self.credentials = {"email": email, "phone": "+62" + phone[1:], "password": password, "nik": nik}
        self.api.post("/api/auth/activate", {"email": email, "code": self.latest_code("+62" + phone[1:])})
        self.applicant = self.api.login(email, password)
        return self.applicant

    def latest_code(self, e164: str) -> str:
        """The six-digit code in the newest WhatsApp message to `e164` in the local outbox."""

        reader = next(iter(self.officers.values()), None) or self.api  # the outbox is for officers only

        def code() -> str | None:
            for message in reversed(reader.outbox()):
                if message["to"] == e164:
                    found = re.search(r"\b(\d{6})\b", message["text"])
                    return found.group(1) if found else None
            return None

        return str(wait_for(code, what="code in the outbox"))

    def catalog_entry(self, client: ApiClient | None = None) -> dict[str, Any]:
        """This journey's permit type as `/api/catalog` describes it (for its office)."""
        reader = client or self.applicant or self.api
        catalog = reader.get("/api/catalog" + (f"?office={self.office_id}" if self.office_id else ""))
        return next(t for t in catalog["permit_types"] if t["permit_type"] == self.permit_type)

    def apply(self) -> str:
        """Register (if needed), create the draft with a valid form, and upload every requirement the form makes
        needed (optional ones left out)."""
        applicant = self.applicant or self.register()
        spec = self.catalog_entry(applicant)
        form = self.form if self.form is not None else form_for(spec, {**FORMS.get(self.permit_type, {}),
                                                                      **self.answers})
        self.form = form  # what was sent (the decree's holder and texts come from it)
        body: dict[str, Any] = {"permit_type": self.permit_type, "form": form}
        if self.office_id:
            body["office_id"] = self.office_id
        created = applicant.post("/api/applications", body)
        self.application_id = created["application_id"]
        for requirement in spec["requirements"]:
            if requirement.get("optional"):
                continue
            condition = requirement.get("required_when")
            if condition and form.get(condition["field"]) not in (
                    [condition["equals"]] if condition.get("equals") is not None else condition.get("in") or []):
                continue
            self.upload(requirement["requirement_id"], sample_pdf(requirement["name"]))
        return self.application_id

    def upload(self, requirement_id: str, data: bytes, filename: str = "dokumen.pdf") -> dict[str, Any]:
        assert self.applicant
        slot = self.applicant.post(f"/api/applications/{self.application_id}/uploads",
                                   {"requirement_id": requirement_id, "filename": filename, "size_bytes": len(data)})
        status = post_form(slot["url"], slot["fields"], data, filename)
        if status >= 300:
            raise RuntimeError(f"upload refused by storage: HTTP {status}")
        return self.applicant.post(f"/api/applications/{self.application_id}/uploads/{slot['upload_id']}/complete")

    def submit(self, key: str | None = None) -> dict[str, Any]:
        assert self.applicant
        result = self.applicant.post(f"/api/applications/{self.application_id}/submit",
                                     headers={"Idempotency-Key": key or uuid.uuid4().hex})
        self.registration_number = result["registration_number"]
        self._done("1", "applicant", f"permohonan {self.registration_number}")
        return result

    def status(self) -> dict[str, Any]:
        assert self.applicant
        return self.applicant.get(f"/api/applications/{self.application_id}")

    # ---------------------------------------------------------------- officers

    def task(self, role: str, step: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the application's task for `step` is in `role`'s queue."""
        officer = self.officers[role]

        def find() -> dict[str, Any] | None:
            for row in officer.get("/api/tasks")["tasks"]:
                if row["application_id"] == self.application_id and row["step"] == step:
                    return row
            return None

        return wait_for(find, timeout=timeout, what=f"{step} task for {role}")

    def decide(self, role: str, step: str, outcome: str, note: str | None = None,
               details: dict[str, Any] | None = None) -> dict[str, Any]:
        row = self.task(role, step)
        return self.officers[role].post(f"/api/tasks/{row['task_id']}/decision",
                                        {"outcome": outcome, "note": note, "details": details or {}})

    def wait_status(self, predicate: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30) -> dict[str, Any]:
        return wait_for(lambda: (lambda s: s if predicate(s) else None)(self.status()), timeout=timeout, what=what)

    # ---------------------------------------------------------------- the happy path

    def plan(self) -> dict[str, Any]:
        """The submitted application's stage plan as its status shows it: `{"technical_review": bool,
        "field_visit": bool, "payment": "none" | "fixed" | "assessed"}` (fixed at submission from type and form)."""
        return dict(self.status()["stage_plan"])

    def advance(self, until: str | None = None, start: str = "completeness_check") -> Journey:
        """Play the submitted application's SOP from step `start` on, as its stage plan says: the technical review
        (with findings, and the visit date when the plan has a field visit) only when planned, the payment stage
        when the plan's payment is fixed or assessed (the technical team assesses `self.assessment`, the applicant
        uploads a proof and says paid, the back office confirms), then numbering, signing, printing and the
        applicant's SKM. Stops before deciding step `until` (one of STEP_ORDER; its place in the SOP even when the
        plan skips it); None: on to pickup and completion."""
        plan = self.plan()
        for step in STEP_ORDER[STEP_ORDER.index(start):]:
            if step == until:
                if step == "payment" and plan["payment"] != "none":
                    self.awaiting_payment()
                elif step in OFFICER_OF and not _skipped(step, plan):
                    self.task(OFFICER_OF[step], step)  # its task is open (the run got there), not merely next
                return self
            getattr(self, "_" + step)(plan)
        return self

    def _completeness_check(self, plan: dict[str, Any]) -> None:
        self.decide("back_office", "completeness_check", "complete", "Berkas lengkap")
        self.wait_status(lambda s: s["downloads"]["receipt"], "receipt")
        self._done("2", "back_office", "Tanda Terima")
        self._done("3", "back_office", "diteruskan ke " + ("Tim Teknis" if plan["technical_review"]
                                                          else "Ahli Muda (verifikasi)"))

    def _technical_review(self, plan: dict[str, Any]) -> None:
        if not plan["technical_review"]:
            return  # SOP 3–4: straight to the verifier
        details: dict[str, Any] = {"findings": ["Lokasi, sarana dan kegiatan sesuai dengan permohonan"]}
        if plan.get("field_visit"):
            details["visited_on"] = FINDINGS["visited_on"]
        self.decide("technical_team", "technical_review", "recommend", "Lokasi dan kegiatan sesuai", details)
        self._done("4", "technical_team", "Rekomendasi Teknis" + (" (kunjungan lapangan)" if plan.get("field_visit")
                                                                  else ""))

    def _verification(self, plan: dict[str, Any]) -> None:
        self.decide("verifier", "verification", "verified", "Berkas terverifikasi")
        self._done("5", "verifier", "Verifikasi Berkas")

    def _approval(self, plan: dict[str, Any]) -> None:
        self.decide("approver", "approval", "approved", "Disetujui")
        self._done("6", "approver", "Persetujuan Izin")

    def _payment_assessment(self, plan: dict[str, Any]) -> None:
        if plan["payment"] == "assessed":
            self.decide("technical_team", "payment_assessment", "assessed", details=self.assessment or ASSESSMENT)
            self._done("6", "technical_team", "Penetapan retribusi")

    def _payment(self, plan: dict[str, Any]) -> None:
        if plan["payment"] != "none":
            payment = self.awaiting_payment()
            self.pay(f"Bukti pembayaran {payment['reference_number']}")
            self._done("6", "applicant", f"dibayar {payment['amount_label']} ({payment['method']})")

    def _payment_confirmation(self, plan: dict[str, Any]) -> None:
        if plan["payment"] != "none":
            self.decide("back_office", "payment_confirmation", "confirmed", "Pembayaran diterima")
            self._done("6", "back_office", "Pembayaran terkonfirmasi")

    def _numbering(self, plan: dict[str, Any]) -> None:
        row = self.task("back_office", "numbering")
        number = self.officers["back_office"].get(f"/api/tasks/{row['task_id']}")["proposed_number"]
        self.officers["back_office"].post(f"/api/tasks/{row['task_id']}/decision",
                                          {"outcome": "confirmed", "details": {"number": number}})
        # another file confirmed at the same moment may have taken the number shown: this one got the next
        self._done("7", "back_office", f"Nomor izin {self.status()['permit_number']}")

    def _signing(self, plan: dict[str, Any]) -> None:
        self.decide("head", "signing", "signed")
        self._done("8", "head", "TTE (PAdES)")

    def _printing(self, plan: dict[str, Any]) -> None:
        self.decide("back_office", "printing", "printed", details={"copies": 1})
        self._done("9", "back_office", "Dokumen Izin dicetak")
        assert self.applicant  # the SKM is filled before the pickup (SOP 10)
        self.applicant.post(f"/api/applications/{self.application_id}/survey",
                            {"scores": dict.fromkeys(SKM_ELEMENTS, 4), "comment": "Pelayanan cepat"})

    def _pickup(self, plan: dict[str, Any]) -> None:
        self.decide("back_office", "pickup", "handed_over")
        self.wait_status(lambda s: s["status"] == "completed", "completion")
        self._done("10", "applicant", "izin diambil, SKM terisi")

    def awaiting_payment(self, rejections: int = 0) -> dict[str, Any]:
        """Wait until the applicant can pay (the reference issued; after `rejections` rejected proofs); its
        payment view (amount, reference, instructions, deadline)."""
        return dict(self.wait_status(
            lambda s: (s["payment"] or {}).get("state") == "awaiting_payment" and s["payment"]["can_pay"]
            and s["payment"]["rejections"] == rejections,
            f"payment reference (after {rejections} rejections)")["payment"])

    def pay(self, title: str = "Bukti pembayaran") -> None:
        """The applicant uploads a proof of payment (a PDF, requirement `bukti-pembayaran`) and says it is paid."""
        assert self.applicant
        proof = self.upload("bukti-pembayaran", sample_pdf(title), "bukti-pembayaran.pdf")
        self.applicant.post(f"/api/applications/{self.application_id}/payment", {"upload_id": proof["upload_id"]})

    def run_to_pickup(self) -> bytes:
        """Every SOP step of the permit type's stage plan in order; returns the signed permit PDF."""
        if not self.application_id:
            self.apply()
        self.submit()
        self.advance()
        assert self.applicant
        link = self.applicant.get(f"/api/applications/{self.application_id}/files/permit")
        return fetch(link["url"])


#: The SOP's human steps in order (`Journey.advance`, `journey_at`): the ones a stage plan skips keep their place.
STEP_ORDER = ("completeness_check", "technical_review", "verification", "approval", "payment_assessment", "payment",
              "payment_confirmation", "numbering", "signing", "printing", "pickup")
#: A technical team's findings, visited today (WIB): a plausible SOP 4 decision.
FINDINGS = {"findings": ["Sekretariat ada dan papan nama terpasang"],
            "visited_on": datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()}
#: A technical team's assessment of an assessed retribution (SOP 6): amount in whole Rupiah and its basis.
ASSESSMENT = {"amount": 1250000,
              "basis": "Pemakaian 50 m² × Rp 25.000 per m² untuk 12 bulan (tarif Perda Pajak Daerah dan Retribusi "
                       "Daerah, lampiran retribusi pemakaian kekayaan daerah)"}


def journey_at(api: ApiClient, staff: dict[str, ApiClient], step: str,
               permit_type: str = "izin-operasional-orsos", office_id: str | None = None) -> Journey:
    """A new application moved through the SOP, as its stage plan says, until it waits at `step` (orsos unless
    said): completeness_check, technical_review, verification, approval, payment_assessment, payment,
    payment_confirmation, numbering, signing, printing or pickup (the SKM filled)."""
    journey = Journey(api, staff, permit_type, office_id=office_id)
    journey.apply()
    journey.submit()
    return journey.advance(until=step)


SKM_ELEMENTS = ["persyaratan", "prosedur", "waktu", "biaya", "produk", "kompetensi", "perilaku", "pengaduan", "sarana"]


def officer_clients(api: ApiClient, officers: dict[str, dict[str, str]],
                    office_id: str | None = None) -> dict[str, ApiClient]:
    """Logged-in clients by role for one office's seeded officers (the login sheet `officers.json`): the default
    office's (keys without an office prefix) unless `office_id` names another (keys `<office_id>:<role>`)."""
    prefix = f"{office_id}:" if office_id else ""
    return {key.removeprefix(prefix): api.login(entry["email"], entry["password"]) for key, entry in officers.items()
            if (key.startswith(prefix) if prefix else ":" not in key)}
