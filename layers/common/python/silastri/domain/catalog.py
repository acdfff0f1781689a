"""Offices and their permit-type catalog, read from data files (a new office is configuration only)."""

from __future__ import annotations

import base64
import binascii
import json
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from .calendar import OfficeHours, WorkingCalendar
from .errors import NotFoundError


class Requirement(BaseModel):
    requirement_id: str
    name: str
    name_en: str


class FormField(BaseModel):
    field: str
    label: str
    required: bool = True
    max_length: int = 200


class PaymentStage(BaseModel):
    """The payment stage of a permit type (issue 10): "none", a "fixed" amount (IDR), or "assessed" by the
    technical team; paid within `due_working_days` by one of `methods` ("transfer", "qris")."""

    mode: Literal["none", "fixed", "assessed"] = "none"
    amount: int | None = Field(default=None, gt=0)
    name: str = "Retribusi"
    legal_basis: str | None = None
    methods: list[Literal["transfer", "qris"]] = Field(default=["transfer"], min_length=1)
    due_working_days: int = Field(default=7, ge=1, le=60)

    @model_validator(mode="after")
    def _amount_when_fixed(self) -> PaymentStage:
        if self.mode == "fixed" and not self.amount:
            raise ValueError("a fixed payment needs its amount")
        return self


class PermitType(BaseModel):
    permit_type: str
    name: str
    name_en: str
    subject: str
    needs_technical_recommendation: bool
    technical_agency: str | None
    classification_code: str
    unit_code: str
    validity_years: int
    fee: int = 0
    decree_title: str
    considerations: list[str]
    decision_text: list[str]
    requirements: list[Requirement]
    form_fields: list[FormField]
    # per-step standard times overriding the SOP's (step id → {"minutes": n} or {"working_days": n})
    standard_times: dict[str, dict[str, int]] = Field(default_factory=dict)
    payment: PaymentStage = Field(default_factory=PaymentStage)

    def stage_plan(self, form: dict[str, str] | None = None) -> dict[str, Any]:
        """The run's routing facts (interface of issue 10; the CATALOG part computes them from the form)."""
        return {"technical_review": self.needs_technical_recommendation, "field_visit": False,
                "payment": self.payment.mode}

    def requirement(self, requirement_id: str) -> Requirement:
        for requirement in self.requirements:
            if requirement.requirement_id == requirement_id:
                return requirement
        raise NotFoundError(f"unknown requirement '{requirement_id}' for {self.permit_type}", field="requirement_id")


class SignatureAppearanceSetting(BaseModel):
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


class Office(BaseModel):
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
    permit_types: list[str]
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


class Catalog(BaseModel):
    offices: dict[str, Office]
    permit_types: dict[str, PermitType]

    def office(self, office_id: str) -> Office:
        try:
            return self.offices[office_id]
        except KeyError:
            raise NotFoundError(f"unknown office '{office_id}'", field="office_id") from None

    def permit_type(self, office_id: str, permit_type: str) -> PermitType:
        """The permit type if the office offers it; NotFoundError otherwise."""
        office = self.office(office_id)
        if permit_type not in office.permit_types or permit_type not in self.permit_types:
            raise NotFoundError(f"unknown permit type '{permit_type}'", field="permit_type")
        return self.permit_types[permit_type]

    def offered(self, office_id: str) -> list[PermitType]:
        return [self.permit_types[p] for p in self.office(office_id).permit_types]


def _load(name: str) -> dict:
    return json.loads(resources.files("silastri.domain").joinpath("data", name).read_text("utf-8"))


def data_file(name: str) -> bytes:
    """The bytes of a file shipped under silastri/domain/data/ (e.g. an office's signature specimen).

    Raises NotFoundError when there is no such file (names were checked by the catalog: no paths)."""
    target = resources.files("silastri.domain").joinpath("data", name)
    if not target.is_file():
        raise NotFoundError(f"data file '{name}' not found", field="image")
    return target.read_bytes()


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The seeded catalog (Rokan Hilir and its permit types)."""
    offices = [Office(**o) for o in _load("offices.json")["offices"]]
    types = [PermitType(**t) for t in _load("permit_types.json")["permit_types"]]
    return Catalog(offices={o.office_id: o for o in offices}, permit_types={t.permit_type: t for t in types})
