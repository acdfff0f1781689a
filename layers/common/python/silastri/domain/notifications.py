"""The notification plan (which event reaches whom, on which channel, with which template) and the message
templates, read from data files and checked before use. Pure: no I/O beyond reading the package's data.

Files (in `silastri/domain/data/`):
- `notification_plans.json`: named plans; an office picks one (`data/catalog/<office>.yaml` → `office.notification_plan`).
- `whatsapp_templates.json`: the WhatsApp templates exactly as Meta's message-template API takes them
  (name, category, language, components with example values), so an office can submit the file for
  approval as it is. Business-initiated WhatsApp messages may only use approved templates (Meta, WhatsApp
  Business Platform: "Message templates"); free text is allowed only within 24 h of the user's last message.
- `email_templates.json`: subject and body per template, `{name}` placeholders (e-mail and the in-app inbox).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

CHANNELS = ("whatsapp", "email", "inbox")
Channel = Literal["whatsapp", "email", "inbox"]

# Parameters every application event carries (filled by the notifier from the application and office).
COMMON_PARAMS = ("registration_number", "permit_type_name", "office_name", "application_path", "application_url")

# The lifecycle events a plan can route, with the parameters each one adds to COMMON_PARAMS.
EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "submitted": ("Permohonan diterima (nomor registrasi)", ()),
    "revision_requested": ("Berkas perlu diperbaiki (dengan tenggat)", ("deadline", "round")),
    "receipt_issued": ("Berkas lengkap, tanda terima terbit", ()),
    "payment_due": ("Retribusi perlu dibayar (besaran, nomor referensi, tenggat)",
                    ("payment_name", "amount", "reference_number", "method_name", "deadline")),
    "step_done": ("Satu tahap SOP selesai", ("step_title", "outcome_label")),
    "permit_ready": ("Izin siap diambil", ("pickup_place", "pickup_hours", "pickup_bring", "pickup_until")),
    "closed_completed": ("Izin telah diserahkan (selesai)", ()),
    "closed_rejected": ("Permohonan ditolak (dengan alasan)", ("reason",)),
    "closed_lapsed": ("Permohonan gugur (tenggat perbaikan lewat)", ()),
    "closed_withdrawn": ("Permohonan ditarik pemohon", ()),
    "task_opened": ("Tugas baru untuk petugas", ("step_title", "sop_number", "standard", "task_url", "task_path")),
    "sla_reminder": ("Pengingat 80% waktu standar", ("step_title", "standard", "due_at", "task_url", "task_path")),
    "sla_overdue": ("Tugas melewati waktu standar", ("step_title", "standard", "due_at", "task_url", "task_path")),
    "sla_escalated": ("Eskalasi ke atasan", ("step_title", "standard", "due_at", "task_url", "task_path", "from_role_name")),
    "activation_code": ("Kode aktivasi akun", ("code",)),
    "reset_code": ("Kode atur ulang kata sandi", ("code",)),
    "email_code": ("Kode verifikasi alamat e-mail", ("code",)),
}
ACCOUNT_EVENTS = ("activation_code", "reset_code", "email_code")  # not about an application: no COMMON_PARAMS

# Meta renders an authentication template's body itself; this is the Indonesian text it shows (for the
# local outbox preview and the e-mail fallback only — never sent as text).
AUTHENTICATION_PREVIEW = "*{{1}}* adalah kode verifikasi Anda. Demi keamanan, jangan bagikan kode ini."

_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


def params_of(event: str) -> tuple[str, ...]:
    """Every parameter a template bound to `event` may use."""
    extra = EVENTS[event][1]
    return extra if event in ACCOUNT_EVENTS else COMMON_PARAMS + extra


# ----------------------------------------------------------------------------- templates


class WhatsAppTemplate(BaseModel):
    """One template in Meta's message-template format (the body of `POST /{waba-id}/message_templates`)."""

    name: str = Field(pattern=r"^[a-z0-9_]{1,512}$")
    language: str
    category: Literal["UTILITY", "AUTHENTICATION", "MARKETING"]
    components: list[dict[str, Any]]

    def component(self, kind: str) -> dict[str, Any] | None:
        return next((c for c in self.components if c.get("type") == kind), None)

    @property
    def body_text(self) -> str:
        if self.category == "AUTHENTICATION":
            return AUTHENTICATION_PREVIEW
        body = self.component("BODY") or {}
        return str(body.get("text", ""))

    @property
    def body_placeholders(self) -> int:
        return 1 if self.category == "AUTHENTICATION" else len(set(_PLACEHOLDER.findall(self.body_text)))

    @property
    def url_button(self) -> dict[str, Any] | None:
        """The first button that takes a parameter (a dynamic URL, or the one-time-password button)."""
        buttons = (self.component("BUTTONS") or {}).get("buttons", [])
        for button in buttons:
            if button.get("type") == "URL" and "{{1}}" in str(button.get("url", "")):
                return button
            if button.get("type") == "OTP":
                return button
        return None

    def problems(self) -> list[str]:
        """What Meta would refuse, checked here before submission (Meta: template guidelines)."""
        found: list[str] = []
        where = f"template WhatsApp {self.name}"
        if self.category == "AUTHENTICATION":
            if not self.url_button or self.url_button.get("type") != "OTP":
                found.append(f"{where}: template autentikasi wajib punya tombol OTP (copy code)")
            return found
        body = self.component("BODY")
        if not body or not body.get("text"):
            return [f"{where}: komponen BODY dengan teks wajib ada"]
        text = str(body["text"])
        numbers = sorted({int(n) for n in _PLACEHOLDER.findall(text)})
        if numbers != list(range(1, len(numbers) + 1)):
            found.append(f"{where}: parameter harus bernomor urut mulai {{{{1}}}}")
        if re.match(r"^\s*\{\{\d+\}\}", text) or re.search(r"\{\{\d+\}\}[\s.!?]*$", text):
            found.append(f"{where}: teks tidak boleh diawali atau diakhiri parameter")
        if re.search(r"\{\{\d+\}\}\s*\{\{\d+\}\}", text):
            found.append(f"{where}: dua parameter tidak boleh berdampingan")
        if len(text) > 1024:
            found.append(f"{where}: teks lebih dari 1024 karakter")
        examples = (body.get("example") or {}).get("body_text") or [[]]
        if numbers and len(examples[0]) != len(numbers):
            found.append(f"{where}: contoh nilai (example.body_text) harus {len(numbers)} buah")
        button = self.url_button
        if button and button.get("type") == "URL" and not button.get("example"):
            found.append(f"{where}: tombol URL dinamis wajib punya contoh (example)")
        return found


class EmailTemplate(BaseModel):
    subject: str
    body: str

    def fields(self) -> set[str]:
        return {name for _, name, _, _ in _formatter().parse(self.subject + self.body) if name}


def _formatter() -> Any:
    import string

    return string.Formatter()


# ----------------------------------------------------------------------------- the plan


class WhatsAppBinding(BaseModel):
    """Which template, and which event parameter goes to each numbered placeholder and to the button."""

    template: str
    parameters: list[str] = Field(default_factory=list)
    button: str | None = None


class TemplateRef(BaseModel):
    template: str


class Rule(BaseModel):
    """One line of the plan: on `event`, tell `to` on each channel given."""

    event: str
    to: str = Field(description="'applicant', 'role' (the role the event names) or an officer role id")
    whatsapp: WhatsAppBinding | None = None
    email: TemplateRef | None = None
    inbox: TemplateRef | None = None

    @model_validator(mode="after")
    def _known(self) -> Rule:
        if self.event not in EVENTS:
            raise ValueError(f"peristiwa tidak dikenal: {self.event}")
        if not (self.whatsapp or self.email or self.inbox):
            raise ValueError(f"aturan {self.event} → {self.to} tanpa saluran")
        if self.to == "applicant" and self.inbox:
            raise ValueError(f"aturan {self.event}: kotak masuk hanya untuk petugas")
        return self

    def channels(self) -> list[Channel]:
        return [c for c in CHANNELS if getattr(self, c) is not None]  # type: ignore[misc]


class NotificationPlan(BaseModel):
    name: str
    description: str = ""
    rules: list[Rule]

    def rules_for(self, event: str) -> list[Rule]:
        return [rule for rule in self.rules if rule.event == event]


class MessageCatalog(BaseModel):
    """Plans and templates together, as loaded from the data files."""

    plans: dict[str, NotificationPlan]
    whatsapp: dict[str, WhatsAppTemplate]
    email: dict[str, EmailTemplate]

    def plan(self, name: str) -> NotificationPlan:
        try:
            return self.plans[name]
        except KeyError:
            raise KeyError(f"rencana notifikasi '{name}' tidak ada") from None

    def problems(self, officer_roles: tuple[str, ...] = ()) -> list[str]:
        """Every mismatch between plans and templates (empty when all is well). Checked at start."""
        found: list[str] = []
        for template in self.whatsapp.values():
            found.extend(template.problems())
        for plan in self.plans.values():
            for rule in plan.rules:
                where = f"rencana {plan.name}, {rule.event} → {rule.to}"
                allowed = set(params_of(rule.event))
                if rule.to not in ("applicant", "role") and officer_roles and rule.to not in officer_roles:
                    found.append(f"{where}: penerima tidak dikenal")
                if rule.whatsapp:
                    found_template = self.whatsapp.get(rule.whatsapp.template)
                    if found_template is None:
                        found.append(f"{where}: template WhatsApp {rule.whatsapp.template} tidak ada")
                    else:
                        template = found_template
                        if len(rule.whatsapp.parameters) != template.body_placeholders:
                            found.append(f"{where}: template {template.name} butuh {template.body_placeholders} "
                                         f"parameter, rencana memberi {len(rule.whatsapp.parameters)}")
                        if bool(template.url_button) != bool(rule.whatsapp.button):
                            found.append(f"{where}: parameter tombol template {template.name} tidak sesuai")
                        if template.language != "id":
                            found.append(f"{where}: bahasa template {template.name} harus 'id'")
                    for name in rule.whatsapp.parameters + ([rule.whatsapp.button] if rule.whatsapp.button else []):
                        if name not in allowed:
                            found.append(f"{where}: parameter {name} tidak tersedia pada peristiwa ini")
                for channel in ("email", "inbox"):
                    ref = getattr(rule, channel)
                    if ref is None:
                        continue
                    email = self.email.get(ref.template)
                    if email is None:
                        found.append(f"{where}: template e-mail {ref.template} tidak ada")
                        continue
                    for name in sorted(email.fields() - allowed):
                        found.append(f"{where}: template e-mail {ref.template} memakai {{{name}}} yang tidak tersedia")
        return found


def _load(name: str) -> Any:
    return json.loads(resources.files("silastri.domain").joinpath("data", name).read_text("utf-8"))


def parse(plans: Any, whatsapp: Any, email: Any) -> MessageCatalog:
    """Build the catalog from decoded JSON; raises ValueError with a readable reason."""
    try:
        raw = plans["plans"]
        return MessageCatalog(
            plans={name: NotificationPlan(name=name, description=body.get("description", ""),
                                          rules=_rules(raw, name)) for name, body in raw.items()},
            whatsapp={t["name"]: WhatsAppTemplate(**t) for t in whatsapp["templates"]},
            email={name: EmailTemplate(**body) for name, body in email["templates"].items()},
        )
    except (ValidationError, KeyError, TypeError) as exc:
        raise ValueError(f"berkas rencana/template notifikasi tidak valid: {exc}") from None


def _rules(raw: dict[str, Any], name: str, seen: tuple[str, ...] = ()) -> list[Rule]:
    """A plan's rules, with those of the plan it `extends` (its own rules replace the base's for the same
    event and recipient)."""
    if name in seen:
        raise ValueError(f"rencana {name} memperluas dirinya sendiri")
    if name not in raw:
        raise ValueError(f"rencana {name} tidak ada")
    body = raw[name]
    own = [Rule(**rule) for rule in body.get("rules", [])]
    base = _rules(raw, body["extends"], seen + (name,)) if body.get("extends") else []
    replaced = {(rule.event, rule.to) for rule in own}
    return [rule for rule in base if (rule.event, rule.to) not in replaced] + own


@lru_cache(maxsize=1)
def default_messages() -> MessageCatalog:
    """The packaged plans and templates; raises ValueError when any plan names a missing or mismatched template."""
    catalog = parse(_load("notification_plans.json"), _load("whatsapp_templates.json"), _load("email_templates.json"))
    from .steps import OFFICER_ROLES

    problems = catalog.problems(tuple(r.value for r in OFFICER_ROLES))
    if problems:
        raise ValueError("rencana notifikasi tidak cocok dengan template:\n- " + "\n- ".join(problems))
    return catalog


# ----------------------------------------------------------------------------- rendering


def clean_parameter(value: Any) -> str:
    """A template parameter as Meta accepts it: no newlines or tabs, no more than 4 spaces in a row,
    at most 1024 characters (WhatsApp Cloud API error 132018 otherwise)."""
    text = re.sub(r"[\r\n\t]+", " ", str(value if value is not None else "-"))
    text = re.sub(r" {4,}", "   ", text).strip() or "-"
    return text[:1024]


BODY_LIMIT = 1024  # characters of a template body as the recipient reads it (Meta: template body limit)


def _fit(body: str, values: list[str]) -> list[str]:
    """Shorten the longest parameters (ending them with "…") until the rendered body fits BODY_LIMIT."""
    budget = BODY_LIMIT - len(_PLACEHOLDER.sub("", body))
    values = list(values)
    while values and sum(map(len, values)) > budget:
        longest = max(range(len(values)), key=lambda i: len(values[i]))
        excess = sum(map(len, values)) - budget
        keep = max(1, len(values[longest]) - excess - 1)
        if keep >= len(values[longest]) - 1 and len(values[longest]) <= 2:
            break  # nothing left to shorten
        values[longest] = values[longest][:keep].rstrip() + "…"
    return values


class RenderedWhatsApp(BaseModel):
    template: str
    language: str
    category: str
    body_parameters: list[str]
    button_parameter: str | None
    preview: str  # what the recipient reads (the outbox shows it)


def render_whatsapp(catalog: MessageCatalog, binding: WhatsAppBinding, params: dict[str, Any]) -> RenderedWhatsApp:
    """The template call for one message; KeyError if the event lacks a bound parameter."""
    template = catalog.whatsapp[binding.template]
    values = _fit(template.body_text, [clean_parameter(params[name]) for name in binding.parameters])
    preview = _PLACEHOLDER.sub(lambda m: values[int(m.group(1)) - 1], template.body_text)
    button = clean_parameter(params[binding.button]) if binding.button else None
    return RenderedWhatsApp(template=template.name, language=template.language, category=template.category,
                            body_parameters=values, button_parameter=button, preview=preview)


class RenderedEmail(BaseModel):
    template: str
    subject: str
    body: str


def render_email(catalog: MessageCatalog, ref: TemplateRef, params: dict[str, Any]) -> RenderedEmail:
    template = catalog.email[ref.template]
    values = {k: ("-" if v is None else v) for k, v in params.items()}
    return RenderedEmail(template=ref.template, subject=template.subject.format_map(values),
                         body=template.body.format_map(values))


def message_id(event_id: str, recipient_id: str, channel: str) -> str:
    """The identity of one message: one per (event, recipient, channel), whoever sends it and how often."""
    return hashlib.sha256(f"{event_id}|{recipient_id}|{channel}".encode()).hexdigest()[:40]
