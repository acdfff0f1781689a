"""Offices and their permit-type catalog, read from one YAML file per office (a new office is configuration only).

`silastri/domain/data/catalog/<office_id>.yaml` holds `office:` (letterhead, numbering, hours and closures,
notification plan…) and `permit_types:` (each type's requirements, form, stage plan, standard times, validity,
numbering, decree text and signer). `catalog_files.py` reads the files with line numbers and reports mistakes as
`FILE:LINE: message` (`silastri catalog check`); an invalid catalog stops the stack from starting."""

from __future__ import annotations

import base64
import binascii
import string
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationInfo, model_validator

from .calendar import OfficeHours, WorkingCalendar
from .errors import NotFoundError

_D = TypeVar("_D", date, datetime)

#: placeholders a numbering format may use (`{seq:04d}` takes a format spec; the others are plain)
NUMBERING_PLACEHOLDERS = frozenset({"classification", "unit", "seq", "month_roman", "month", "year"})
#: placeholders every decree text may use, beside the permit type's own form fields
DECREE_PLACEHOLDERS = frozenset({"holder_name", "regency", "government", "office_name", "permit_type_name",
                                 "validity", "agency"})
#: placeholders a sector agency's letter-number format may use (`{seq:04d}` takes a format spec)
AGENCY_NUMBERING_PLACEHOLDERS = frozenset({"seq", "month_roman", "month", "year"})
#: the context key that makes a permit type skip its cross-reference checks (the file loader runs them itself,
#: with the line of each mistake)
DEFER_CHECKS = "defer_cross_checks"

Problem = tuple[tuple[str | int, ...], str]


class _Strict(BaseModel):
    """Catalog entries refuse keys they do not know (a misspelt key is a mistake, not a silent default)."""

    model_config = ConfigDict(extra="forbid")


def format_names(template: str) -> list[tuple[str, str]]:
    """(placeholder name, format spec) of every `{…}` in `template`; ValueError for a malformed template."""
    return [(name, spec or "") for _, name, spec, _ in string.Formatter().parse(template) if name is not None]


class LegalBasis(_Strict):
    """One item of a decree's *Mengingat*: e.g. Undang-Undang Nomor 23 Tahun 2014 tentang Pemerintahan Daerah."""

    kind: str = Field(min_length=2, max_length=200)          # "Undang-Undang", "Peraturan Pemerintah", "Peraturan Daerah Kabupaten …"
    number: str | None = Field(default=None, min_length=1, max_length=20)
    year: int | None = Field(default=None, ge=1945, le=2100)
    title: str = Field(min_length=2, max_length=400)
    amended: str | None = Field(default=None, max_length=400)  # "sebagaimana telah diubah dengan …"

    @model_validator(mode="after")
    def _number_with_year(self) -> LegalBasis:
        if (self.number is None) != (self.year is None):
            raise ValueError("number and year go together (both or neither)")
        return self

    def text(self) -> str:
        """As printed in the decree, e.g. `Undang-Undang Nomor 23 Tahun 2014 tentang Pemerintahan Daerah`."""
        head = f"{self.kind} Nomor {self.number} Tahun {self.year}" if self.number else self.kind
        return f"{head} tentang {self.title}" + (f" {self.amended}" if self.amended else "")


class Condition(_Strict):
    """A form answer: `{field, equals: value}` or `{field, in: [values]}`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: str
    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in", min_length=1)

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        if (self.equals is None) == (self.in_ is None):
            raise ValueError("a condition has exactly one of 'equals' or 'in'")
        return self

    def values(self) -> list[str]:
        return [self.equals] if self.equals is not None else list(self.in_ or [])

    def holds(self, form: dict[str, Any]) -> bool:
        """Whether the form's answer to `field` matches (a missing answer never does)."""
        answer = form.get(self.field)
        return isinstance(answer, str) and answer in self.values()


class Requirement(_Strict):
    requirement_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = Field(min_length=2)
    name_en: str = Field(min_length=2)
    # never needed (`optional`), or needed only when a form answer matches (`required_when`); otherwise always
    optional: bool = False
    required_when: Condition | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> Requirement:
        if self.optional and self.required_when:
            raise ValueError("a requirement is either optional or required_when, not both")
        return self

    def needed(self, form: dict[str, Any]) -> bool:
        """Whether the application with `form` must upload this requirement before submitting."""
        if self.optional:
            return False
        return self.required_when.holds(form) if self.required_when else True


FieldType = Literal["text", "textarea", "number", "date", "enum"]


class FormField(_Strict):
    field: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: str = Field(min_length=2)
    type: FieldType = "text"
    required: bool = True
    max_length: int = Field(default=200, ge=1, le=2000)
    options: list[str] | None = None           # enum only: the allowed answers, in display order
    minimum: int | None = None                 # number only
    maximum: int | None = None
    hint: str | None = None
    holder_name: bool = False                  # exactly one field of a type: the permit holder's name

    @model_validator(mode="after")
    def _fits_type(self) -> FormField:
        if self.type == "enum":
            if not self.options:
                raise ValueError("an enum field needs a non-empty list of options")
            if len(set(self.options)) != len(self.options):
                raise ValueError("enum options must be unique")
        elif self.options is not None:
            raise ValueError(f"options are for enum fields, not {self.type}")
        if (self.minimum is not None or self.maximum is not None) and self.type != "number":
            raise ValueError("minimum/maximum are for number fields")
        if self.holder_name and (self.type not in ("text", "textarea") or not self.required):
            raise ValueError("the holder's name is a required text field")
        return self

    def display(self, value: Any) -> str:
        """An answer as a decree prints it: a date as `29 November 2026` (the form keeps ISO `2026-11-29`),
        anything else as given; "-" when unanswered."""
        if value is None or value == "":
            return "-"
        if self.type == "date" and isinstance(value, str):
            from .clock import format_date_id

            try:
                return format_date_id(date.fromisoformat(value))
            except ValueError:
                return value
        return str(value)


class AgencyLetterhead(_Strict):
    """The sector agency's own letterhead (*kop surat*) on its Rekomendasi Teknis: `government` None means the
    office's (e.g. "Pemerintah Kabupaten Rokan Hilir")."""

    government: str | None = Field(default=None, min_length=3, max_length=200)
    name: str = Field(min_length=3, max_length=200)          # "Dinas Sosial"
    address: str = Field(min_length=3, max_length=300)
    city: str = Field(min_length=2, max_length=100)          # place of issue


class AgencyNumbering(_Strict):
    """The sector agency's own letter numbers for its recommendations: one gap-free sequence per office, `code`
    and year (types recommended by the same agency share its `code`, hence its sequence). `format` places
    `{seq}` and may use AGENCY_NUMBERING_PLACEHOLDERS, e.g. `460/{seq:04d}/DINSOS/{month_roman}/{year}`."""

    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9-]{0,19}$")
    format: str = Field(min_length=3, max_length=100)

    @model_validator(mode="after")
    def _usable(self) -> AgencyNumbering:
        problems = numbering_format_problems(self.format, AGENCY_NUMBERING_PLACEHOLDERS)
        if problems:
            raise ValueError(problems[0])
        return self

    def number(self, seq: int, when: datetime) -> str:
        """The letter number with sequence `seq`, dated `when` (month and year in WIB)."""
        from .clock import ROMAN_MONTHS, to_wib

        local = to_wib(when)
        return self.format.format(seq=seq, month_roman=ROMAN_MONTHS[local.month - 1], month=local.month,
                                  year=local.year)


class TechnicalRecommendation(_Strict):
    """SOP 3–4: whether the sector agency's technical team reviews the file (always, never, or when a form
    answer matches), which agency, whether its review includes a field visit, and the agency's letterhead and
    letter numbering for its Rekomendasi Teknis (both required when there is a recommendation)."""

    mode: Literal["always", "never", "when"] = "never"
    when: Condition | None = None
    agency: str | None = None
    field_visit: bool = False
    letterhead: AgencyLetterhead | None = None
    numbering: AgencyNumbering | None = None

    @model_validator(mode="after")
    def _consistent(self) -> TechnicalRecommendation:
        if (self.mode == "when") != (self.when is not None):
            raise ValueError("'when' is given exactly when mode is 'when'")
        if self.mode != "never" and not self.agency:
            raise ValueError("a technical recommendation needs the recommending agency")
        if self.mode != "never" and (self.letterhead is None or self.numbering is None):
            raise ValueError("a technical recommendation needs the agency's letterhead and numbering "
                             "(its own letter numbers)")
        if self.mode == "never" and self.field_visit:
            raise ValueError("a field visit needs a technical recommendation (mode always or when)")
        return self

    def applies(self, form: dict[str, Any]) -> bool:
        return self.mode == "always" or (self.mode == "when" and self.when is not None and self.when.holds(form))


PaymentMethod = Literal["transfer", "qris"]


def _all_methods() -> list[PaymentMethod]:
    return ["transfer", "qris"]


class PaymentStage(_Strict):
    """A retribution or fee paid before signing: none, a fixed amount (IDR), or assessed by the technical team.

    `due_working_days`: how long the applicant has to pay once the amount is known."""

    mode: Literal["none", "fixed", "assessed"] = "none"
    amount: PositiveInt | None = None
    name: str = ""
    legal_basis: str | None = None
    methods: list[PaymentMethod] = Field(default_factory=_all_methods)
    due_working_days: int = Field(default=7, ge=1, le=60)

    @model_validator(mode="after")
    def _consistent(self) -> PaymentStage:
        if (self.mode == "fixed") != (self.amount is not None):
            raise ValueError("amount is given exactly when mode is 'fixed'")
        if self.mode != "none" and not self.name:
            raise ValueError("a payment needs its name (e.g. 'Retribusi Pemakaian Kekayaan Daerah')")
        if self.mode != "none" and not self.methods:
            raise ValueError("a payment needs at least one method")
        return self


class Stages(_Strict):
    technical_recommendation: TechnicalRecommendation = Field(default_factory=TechnicalRecommendation)
    payment: PaymentStage = Field(default_factory=PaymentStage)


class Validity(_Strict):
    """How long an issued permit is valid: `{years: n}`, `{months: n}`, `{days: n}` or `{until_revoked: true}`
    (while the holder runs the activity and the permit is not revoked)."""

    years: PositiveInt | None = None
    months: PositiveInt | None = None
    days: PositiveInt | None = None
    until_revoked: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Validity:
        given = [n for n in (self.years, self.months, self.days) if n is not None] + ([1] if self.until_revoked else [])
        if len(given) != 1:
            raise ValueError("validity is exactly one of years, months, days or until_revoked: true")
        return self

    def until(self, issued: _D) -> _D | None:
        """The last moment of validity for a permit issued at `issued` (same type back); None until revoked."""
        from datetime import timedelta

        from .clock import add_years

        if self.years:
            return add_years(issued, self.years)
        if self.months:
            return _add_months(issued, self.months)
        if self.days:
            return issued + timedelta(days=self.days)
        return None

    @property
    def label(self) -> str:
        """`5 tahun` / `12 bulan` / `30 hari` / `Selama pemegang izin menjalankan kegiatan`."""
        if self.years:
            return f"{self.years} tahun"
        if self.months:
            return f"{self.months} bulan"
        if self.days:
            return f"{self.days} hari"
        return UNTIL_REVOKED_TEXT


UNTIL_REVOKED_TEXT = "Selama pemegang izin menjalankan kegiatan"


def _add_months(moment: _D, months: int) -> _D:
    """Same day `months` later; the 31st becomes the month's last day when the month is shorter."""
    import calendar as _calendar

    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, _calendar.monthrange(year, month)[1]))


class Decree(_Strict):
    """The decree's text: `title` (upper case on the decree), `articles` (KESATU, KEDUA, …), optional
    `recitals` (Menimbang; a standard text when absent), `noting` (Memperhatikan) and `tembusan` (the copies'
    addressees; None: the office's). Every text may use `{placeholders}`: the type's form fields and
    `DECREE_PLACEHOLDERS`."""

    title: str = Field(min_length=3)
    articles: list[str] = Field(min_length=1, max_length=10)
    recitals: list[str] | None = None
    noting: list[str] = Field(default_factory=list)
    tembusan: list[str] | None = Field(default=None, max_length=12)

    def texts(self) -> list[tuple[tuple[str | int, ...], str]]:
        found: list[tuple[tuple[str | int, ...], str]] = [(("articles", i), t) for i, t in enumerate(self.articles)]
        found += [(("recitals", i), t) for i, t in enumerate(self.recitals or [])]
        found += [(("noting", i), t) for i, t in enumerate(self.noting)]
        found += [(("tembusan", i), t) for i, t in enumerate(self.tembusan or [])]
        return found


class Signer(_Strict):
    """Who signs the decree: the head of office (`title` None: the office's `head_title`) or a title override."""

    title: str | None = None


class PermitType(_Strict):
    permit_type: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")
    name: str = Field(min_length=3)
    name_en: str = Field(min_length=3)
    subject: Literal["organisation", "practitioner", "business", "person"]
    classification_code: str = Field(min_length=1, max_length=20)
    unit_code: str = Field(min_length=1, max_length=20)
    numbering_format: str | None = None      # None: the office's
    legal_bases: list[LegalBasis] = Field(min_length=1)
    requirements: list[Requirement] = Field(min_length=1)
    form_fields: list[FormField] = Field(min_length=1)
    stages: Stages = Field(default_factory=Stages)
    # per-step standard times replacing the SOP's for this type: step id → {"minutes": n} or {"working_days": n}
    standard_times: dict[str, dict[str, PositiveInt]] = Field(default_factory=dict)
    validity: Validity
    decree: Decree
    signer: Signer = Field(default_factory=Signer)

    @model_validator(mode="after")
    def _cross_checks(self, info: ValidationInfo) -> PermitType:
        if info.context and info.context.get(DEFER_CHECKS):
            return self
        problems = self.problems()
        if problems:
            path, message = problems[0]
            raise ValueError(f"{'.'.join(map(str, path))}: {message}" if path else message)
        return self

    # ------------------------------------------------------------------ cross-references

    def problems(self) -> list[Problem]:
        """Cross-reference mistakes, each with its path inside this type: holder field, conditions, stage time
        keys, numbering and decree placeholders, payment assessed without a technical team."""
        from . import steps

        found: list[Problem] = []
        fields = {f.field: f for f in self.form_fields}
        seen: set[str] = set()
        for i, spec in enumerate(self.form_fields):
            if spec.field in seen:
                found.append((("form_fields", i, "field"), f"kolom '{spec.field}' ganda"))
            seen.add(spec.field)
        holders = [i for i, f in enumerate(self.form_fields) if f.holder_name]
        if not holders:
            found.append((("form_fields",), "tidak ada kolom dengan holder_name: true (nama pemegang izin)"))
        for extra in holders[1:]:
            found.append((("form_fields", extra, "holder_name"),
                          f"lebih dari satu kolom holder_name: true ('{self.form_fields[holders[0]].field}' "
                          f"dan '{self.form_fields[extra].field}')"))
        ids: set[str] = set()
        for i, requirement in enumerate(self.requirements):
            if requirement.requirement_id in ids:
                found.append((("requirements", i, "requirement_id"),
                              f"persyaratan '{requirement.requirement_id}' ganda"))
            ids.add(requirement.requirement_id)
            if requirement.required_when:
                found += _condition_problems(requirement.required_when, fields, ("requirements", i, "required_when"))
        recommendation = self.stages.technical_recommendation
        if recommendation.when:
            found += _condition_problems(recommendation.when, fields,
                                         ("stages", "technical_recommendation", "when"))
        if self.stages.payment.mode == "assessed" and recommendation.mode != "always":
            found.append((("stages", "payment", "mode"),
                          "pembayaran 'assessed' ditetapkan oleh tim teknis: technical_recommendation.mode harus 'always'"))
        known_steps = {s.value for s in steps.StepId}
        for key, value in self.standard_times.items():
            if key not in known_steps:
                found.append((("standard_times", key), f"'{key}' bukan id tahap SOP ({', '.join(sorted(known_steps))})"))
            for unit in value:
                if unit not in ("minutes", "working_days"):
                    found.append((("standard_times", key, unit), f"satuan '{unit}' tidak dikenal (minutes atau working_days)"))
            if len(value) != 1:
                found.append((("standard_times", key), "waktu standar adalah tepat satu dari minutes atau working_days"))
        if self.numbering_format is not None:
            found += [(("numbering_format",), m) for m in numbering_format_problems(self.numbering_format)]
        allowed = DECREE_PLACEHOLDERS | set(fields)
        for path, text in self.decree.texts():
            try:
                names = format_names(text)
            except ValueError as exc:
                found.append((("decree", *path), f"teks tidak valid: {exc}"))
                continue
            for name, format_spec in names:
                if name not in allowed or format_spec:
                    found.append((("decree", *path), f"placeholder '{{{name}}}' tidak dikenal "
                                                     f"(gunakan kolom formulir atau {', '.join(sorted(DECREE_PLACEHOLDERS))})"))
        return found

    # ------------------------------------------------------------------ reading a type

    @property
    def technical_agency(self) -> str | None:
        """The agency whose technical team recommends (None when the type never asks one)."""
        recommendation = self.stages.technical_recommendation
        return recommendation.agency if recommendation.mode != "never" else None

    @property
    def payment(self) -> PaymentStage:
        return self.stages.payment

    @property
    def fee(self) -> int:
        """The fixed amount to pay (IDR); 0 when there is none or it is assessed per application."""
        return (self.stages.payment.amount or 0) if self.stages.payment.mode == "fixed" else 0

    @property
    def decree_title(self) -> str:
        return self.decree.title

    @property
    def holder_field(self) -> FormField:
        """The form field holding the permit holder's name (the catalog guarantees exactly one)."""
        return next(f for f in self.form_fields if f.holder_name)

    def requirement(self, requirement_id: str) -> Requirement:
        for requirement in self.requirements:
            if requirement.requirement_id == requirement_id:
                return requirement
        raise NotFoundError(f"persyaratan '{str(requirement_id)[:64]}' tidak ada pada {self.name}",
                            field="requirement_id")

    def needed_requirements(self, form: dict[str, Any]) -> list[Requirement]:
        """The requirements an application with `form` must upload (optional ones and unmet conditions left out)."""
        return [r for r in self.requirements if r.needed(form)]

    def stage_plan(self, form: dict[str, Any]) -> dict[str, Any]:
        """The run's routing facts for an application with `form`, computed once at submission:
        `{"technical_review": bool, "field_visit": bool, "payment": "none" | "fixed" | "assessed"}`."""
        recommendation = self.stages.technical_recommendation
        technical = recommendation.applies(form)
        return {"technical_review": technical, "field_visit": technical and recommendation.field_visit,
                "payment": self.stages.payment.mode}

    def holder(self, form: dict[str, Any]) -> str:
        """The permit holder's name: the answer to the field marked `holder_name: true` ("-" when empty)."""
        value = form.get(self.holder_field.field)
        return value.strip() if isinstance(value, str) and value.strip() else "-"

    def valid_until(self, issued_at: _D) -> _D | None:
        """The end of validity of a permit issued at `issued_at` (date or datetime); None: until revoked."""
        return self.validity.until(issued_at)


def numbering_format_problems(template: str, allowed: frozenset[str] = NUMBERING_PLACEHOLDERS) -> list[str]:
    """Mistakes in a number format (a permit's; `allowed` for another kind, e.g. AGENCY_NUMBERING_PLACEHOLDERS):
    unknown placeholders, no `{seq…}`, a format that does not render."""
    try:
        names = format_names(template)
    except ValueError as exc:
        return [f"format nomor tidak valid: {exc}"]
    found = [f"placeholder '{{{name}}}' tidak dikenal (gunakan {', '.join(sorted(allowed))})"
             for name, _ in names if name not in allowed]
    if found:
        return found
    if "seq" not in {name for name, _ in names}:
        return ["format nomor harus memuat {seq} (nomor urut)"]
    try:
        template.format(classification="503", unit="X", seq=7, month_roman="XI", month=11, year=2026)
    except (ValueError, KeyError, IndexError) as exc:
        return [f"format nomor tidak dapat dipakai: {exc}"]
    return []


def _condition_problems(condition: Condition, fields: dict[str, FormField],
                        path: tuple[str | int, ...]) -> list[Problem]:
    spec = fields.get(condition.field)
    if spec is None:
        return [((*path, "field"), f"kolom '{condition.field}' tidak ada di form_fields")]
    if spec.type == "enum":
        key = "equals" if condition.equals is not None else "in"
        return [((*path, key), f"'{value}' bukan pilihan kolom '{condition.field}' ({', '.join(spec.options or [])})")
                for value in condition.values() if value not in (spec.options or [])]
    return []


class SignatureAppearanceSetting(_Strict):
    """An office's visible TTE specimen on its decrees and letters (invisible unless `visible`).

    `image`: a PNG file name under silastri/domain/data/ or a `data:image/png;base64,…` URI; `page` is 1-based,
    -1 the last page; x, y, width, height in PDF points from the page's lower-left corner (the BSrE v2 sign
    call's `tampilan: VISIBLE` places an image by page and position)."""

    visible: bool = False
    image: str | None = None
    page: int = -1
    x: float = Field(default=0, ge=0)
    y: float = Field(default=0, ge=0)
    width: float = Field(default=0, ge=0)
    height: float = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _complete_when_visible(self) -> SignatureAppearanceSetting:
        if self.page == 0 or self.page < -1:
            raise ValueError("page is 1-based, or -1 for the last page")
        if self.visible and (not self.image or self.width <= 0 or self.height <= 0):
            raise ValueError("a visible signature needs an image and a positive width and height")
        if self.image and not self.image.startswith("data:image/png;base64,") and (
                "/" in self.image or "\\" in self.image or self.image.startswith(".")
                or not self.image.endswith(".png")):
            raise ValueError("image is a .png file name under silastri/domain/data/ or a data:image/png URI")
        if self.image and self.image.startswith("data:image/png;base64,"):
            try:
                data = base64.b64decode(self.image.removeprefix("data:image/png;base64,"), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("image data URI is not valid base64") from None
            if not data.startswith(b"\x89PNG\r\n\x1a\n"):
                raise ValueError("image data URI is not a PNG")
        return self


class Official(_Strict):
    """A named official whose NIP and rank a decree prints under the signature: the head of office (or an acting
    head, Plt.). `rank` is the *pangkat/golongan*, e.g. "Pembina Utama Muda (IV/c)"; `nip` the 18-digit NIP,
    with or without the usual spaces ("19700101 199003 1 001")."""

    name: str = Field(min_length=2, max_length=200)
    nip: str = Field(pattern=r"^\d{8} ?\d{6} ?\d ?\d{3}$")
    rank: str = Field(min_length=3, max_length=100)

    def is_named(self, name: str | None) -> bool:
        """Whether `name` is this official's (case and spacing aside)."""
        return bool(name) and " ".join(str(name).split()).casefold() == " ".join(self.name.split()).casefold()


class Office(_Strict):
    # short enough that `<office>-<registration>-c<uuid>` stays within Step Functions' 80-character run names
    office_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,19}$")
    name: str
    short_name: str
    government: str
    address: str
    city: str
    regency: str
    head_title: str
    registration_prefix: str = Field(default="REG", pattern=r"^[A-Z0-9]{1,6}$")
    numbering_format: str
    revision_deadline_working_days: int = Field(ge=1)
    max_revision_rounds: int = Field(ge=1)
    pickup_window_days: int = Field(ge=1)
    # the ids of the permit types its catalog file lists (filled by the loader, in the file's order)
    permit_types: list[str] = Field(default_factory=list)
    office_hours: OfficeHours = Field(default_factory=OfficeHours)
    # SLA escalation: each role's supervising role is the next one in the chain; roles outside the chain
    # (e.g. the sector agency's technical team) enter it at `escalation_entry[role]`
    escalation_chain: list[str] = Field(default_factory=lambda: ["back_office", "verifier", "approver", "head"])
    escalation_entry: dict[str, str] = Field(default_factory=lambda: {"technical_team": "verifier"})
    # who is told what, on which channel (silastri/domain/data/notification_plans.json)
    notification_plan: str = "standar"
    # what the applicant brings to collect the permit (the "permit ready" message)
    pickup_bring: str = ("KTP asli pemohon (atau surat kuasa dan KTP penerima kuasa) serta tanda terima")
    # the TTE specimen on signed documents; invisible by default
    signature_appearance: SignatureAppearanceSetting = Field(default_factory=SignatureAppearanceSetting)
    # the head of office (and an acting head) as the decree prints them: name, NIP, rank. A signer the office does
    # not name here signs without NIP and rank (never someone else's)
    head: Official | None = None
    acting_head: Official | None = None
    # the regent's delegation of licensing authority to the head of office (a Peraturan Bupati on pelimpahan
    # kewenangan): the last item of every decree's Mengingat
    delegation: LegalBasis | None = None
    # the decree's Tembusan when the permit type names none (may use DECREE_PLACEHOLDERS)
    tembusan: list[str] = Field(default_factory=list, max_length=12)
    # the office's own letter numbers for its Surat Penolakan (one gap-free sequence per office, code and year);
    # without it a rejection letter prints "-" as its number
    rejection_numbering: AgencyNumbering | None = None

    def official(self, name: str | None, acting: bool) -> Official | None:
        """The configured official signing as `name` (the acting head when `acting`); None when not configured
        or the name is someone else's."""
        official = self.acting_head if acting else self.head
        return official if official is not None and official.is_named(name) else None

    def full_title(self, title: str) -> str:
        """A signer's title with the regency, e.g. `Kepala Dinas … Kabupaten Rokan Hilir` (unchanged when it
        already names it)."""
        return title if self.regency.casefold() in title.casefold() else f"{title} {self.regency}"

    def calendar(self, provisional: bool = False) -> WorkingCalendar:
        """The office's working-day calendar (national holidays, cuti bersama, its hours and closures);
        `provisional`: also for years whose cuti-bersama decree is not confirmed yet (see WorkingCalendar)."""
        return WorkingCalendar(self.office_hours, provisional=provisional)

    def supervisor_of(self, role: str) -> str | None:
        """The role an overdue task of `role` escalates to; None at the top of the chain."""
        if role in self.escalation_chain:
            index = self.escalation_chain.index(role)
            return self.escalation_chain[index + 1] if index + 1 < len(self.escalation_chain) else None
        return self.escalation_entry.get(role)


class OfficeFile(_Strict):
    """One catalog file: an office and the permit types it offers."""

    office: Office
    # YAML anchors reused by the permit types (e.g. the regency's kecamatan, a common legal basis); not read
    shared: dict[str, Any] = Field(default_factory=dict)
    permit_types: list[PermitType] = Field(min_length=1)

    def problems(self) -> list[Problem]:
        """Mistakes across the file, each with its path: the office's Tembusan placeholders, and sector agencies
        sharing a numbering `code` (one sequence) with a different format or letterhead."""
        found: list[Problem] = []
        for i, text in enumerate(self.office.tembusan):
            try:
                names = format_names(text)
            except ValueError as exc:
                found.append((("office", "tembusan", i), f"teks tidak valid: {exc}"))
                continue
            found += [(("office", "tembusan", i), f"placeholder '{{{name}}}' tidak dikenal (gunakan "
                                                  f"{', '.join(sorted(DECREE_PLACEHOLDERS))})")
                      for name, spec in names if name not in DECREE_PLACEHOLDERS or spec]
        agencies: dict[str, TechnicalRecommendation] = {}
        for i, permit_type in enumerate(self.permit_types):
            recommendation = permit_type.stages.technical_recommendation
            if recommendation.mode == "never" or recommendation.numbering is None:
                continue
            first = agencies.setdefault(recommendation.numbering.code, recommendation)
            if (first.numbering, first.letterhead, first.agency) != (
                    recommendation.numbering, recommendation.letterhead, recommendation.agency):
                found.append((("permit_types", i, "stages", "technical_recommendation", "numbering", "code"),
                              f"kode penomoran '{recommendation.numbering.code}' dipakai instansi lain atau dengan "
                              "format/kop surat lain (satu kode = satu instansi, satu urutan nomor)"))
        return found


class Catalog(BaseModel):
    offices: dict[str, Office]
    # office id → permit type id → type: two offices may both offer "sip", each its own way
    types: dict[str, dict[str, PermitType]]

    def office(self, office_id: str) -> Office:
        try:
            return self.offices[office_id]
        except KeyError:
            raise NotFoundError(f"kantor '{str(office_id)[:64]}' tidak dikenal", field="office_id") from None

    def permit_type(self, office_id: str, permit_type: str) -> PermitType:
        """The permit type if the office offers it; NotFoundError otherwise."""
        office = self.office(office_id)
        offered = self.types.get(office_id, {})
        if permit_type not in office.permit_types or permit_type not in offered:
            raise NotFoundError(f"jenis izin '{str(permit_type)[:64]}' tidak tersedia di kantor ini", field="permit_type")
        return offered[permit_type]

    def offered(self, office_id: str) -> list[PermitType]:
        """The office's permit types, in the order of its catalog file."""
        offered = self.types.get(office_id, {})
        return [offered[p] for p in self.office(office_id).permit_types if p in offered]

    def permit_type_name(self, office_id: str, permit_type: str) -> str:
        """The type's name for messages and pages; the id itself when the office no longer offers it."""
        try:
            return self.permit_type(office_id, permit_type).name
        except NotFoundError:
            return permit_type


def data_file(name: str) -> bytes:
    """The bytes of a file shipped under silastri/domain/data/ (e.g. an office's signature specimen).

    Raises NotFoundError when there is no such file (names were checked by the catalog: no paths)."""
    target = resources.files("silastri.domain").joinpath("data", name)
    if not target.is_file():
        raise NotFoundError(f"data file '{name}' not found", field="image")
    return target.read_bytes()


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The shipped catalog: every `silastri/domain/data/catalog/*.yaml` (one office each).

    Raises catalog_files.CatalogError (every mistake as `FILE:LINE: message`) when a file is invalid: the
    functions call this at start, so an invalid catalog stops the stack from starting."""
    from .catalog_files import load_packaged

    return load_packaged()
