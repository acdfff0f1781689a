"""Permit and registration number formats (the sequence itself is kept by the numbering adapter)."""

from __future__ import annotations

from datetime import datetime

from .catalog import Office, PermitType
from .clock import ROMAN_MONTHS, to_wib


def counter_id(office_id: str, permit_type: str, year: int) -> str:
    """One gap-free sequence per office, permit type and year."""
    return f"permit#{office_id}#{permit_type}#{year}"


def registration_counter_id(office_id: str, year: int) -> str:
    return f"registration#{office_id}#{year}"


def format_permit_number(office: Office, permit_type: PermitType, seq: int, when: datetime) -> str:
    """e.g. `503/DPMPTSP-IOS/0007/XI/2026`: the permit type's format, or the office's when the type has none
    (placeholders: catalog.NUMBERING_PLACEHOLDERS, checked when the catalog loads)."""
    local = to_wib(when)
    return (permit_type.numbering_format or office.numbering_format).format(
        classification=permit_type.classification_code,
        unit=permit_type.unit_code,
        seq=seq,
        month_roman=ROMAN_MONTHS[local.month - 1],
        month=local.month,
        year=local.year,
    )


def format_registration_number(office: Office, seq: int, when: datetime) -> str:
    """e.g. `REG-2026-000123`."""
    return f"{office.registration_prefix}-{to_wib(when).year}-{seq:06d}"


def first_run_name(office_id: str, registration_number: str) -> str:
    """An application's first workflow execution name: `<office>-<registration>`. Registration numbers are per
    office (two offices on the default prefix both have REG-2026-000001) while execution names are per state
    machine: without the office, a second office's start would find the first office's run and attach to it."""
    return f"{office_id}-{registration_number}"
