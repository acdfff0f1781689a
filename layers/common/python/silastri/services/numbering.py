"""Permit numbers: proposed on the SOP 7 task, assigned when the back office confirms.

Gap-free and unique per office, permit type and year without a transaction: taken through
`letter_numbers.take`, the one take-once mechanism every number of a file uses (a conditional write on a counter
that records which applications took its last values; takers at the same moment commit as one batch; a value
taken by a caller that crashed before writing it down is written for it by the next taker).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..adapters import dynamo
from ..domain.catalog import default_catalog
from ..domain.clock import now_utc, to_wib
from ..domain.errors import ConflictError
from ..domain.models import Application
from ..domain.numbering import counter_id, format_permit_number
from .letter_numbers import take


def _counter(app: Application, now: datetime) -> str:
    return counter_id(app.office_id, app.permit_type, to_wib(now).year)


def _format(app: Application, seq: int, now: datetime) -> str:
    catalog = default_catalog()
    return format_permit_number(catalog.office(app.office_id), catalog.permit_type(app.office_id, app.permit_type),
                                seq, now)


def _plan(app: Application, when: datetime) -> tuple[str, Callable[[int], str]]:
    """The counter of the year of `when` (WIB) and numbers dated `when`: one moment for both, so a take that spans
    New Year never prints one year's value with the other year's date (two files would share a number)."""
    return _counter(app, when), lambda seq: _format(app, seq, when)


def propose(app: Application) -> str:
    """The number this application would get if confirmed now (shown on the numbering task; another file
    confirmed first takes it, and this one then gets the next free number: `assign`): its own when a batch took
    one for it that is not written yet, else the next after the counter and the files waiting at this moment."""
    if app.permit_number:
        return app.permit_number
    counter, number = _plan(app, now_utc())
    state = dynamo.read_number_counter(counter)
    if app.application_id in state.holders:
        return number(state.value - len(state.holders) + 1 + state.holders.index(app.application_id))
    ahead = sorted(state.waiting | {app.application_id}).index(app.application_id)
    return number(state.value + ahead + 1)


def _permit_number(target: Application) -> str | None:
    return target.permit_number


def _set_permit_number(target: Application, number: str) -> None:
    target.permit_number = number


def assign(application_id: str) -> str:
    """Give the application the next free permit number and return it; idempotent (an application that has a
    number keeps it: a file returned from signing to numbering, a retried effect).

    Confirmations of different files at once each get their own number, gap-free (`letter_numbers.take`: they
    are numbered as one batch, never an error in the normal flow). What was proposed to the officer may
    therefore differ from what is assigned; the caller records both. Raises ConflictError only if no batch takes
    the application within `letter_numbers.ATTEMPTS` rounds."""
    return str(take(application_id, _plan, _permit_number, _set_permit_number))


# ----------------------------------------------------------------------------- the sector agency's letter numbers

def recommendation_counter_id(office_id: str, code: str, year: int) -> str:
    """One gap-free sequence of Rekomendasi Teknis letter numbers per office, agency code and year."""
    return f"recommendation#{office_id}#{code}#{year}"


def assign_recommendation(application_id: str) -> str:
    """The sector agency's letter number for the application's Rekomendasi Teknis (catalog
    `technical_recommendation.numbering`), taken once and kept (a second recommendation after a revision, or
    after a decision the workflow refused, reprints the same number): gap-free like the permit numbers
    (`letter_numbers.take`).

    Raises ConflictError when the permit type has no agency numbering or the counter stays busy."""
    def plan(app: Application, when: datetime) -> tuple[str, Callable[[int], str]]:
        numbering = default_catalog().permit_type(app.office_id, app.permit_type).stages.technical_recommendation.numbering
        if numbering is None:
            raise ConflictError("jenis izin ini tidak memiliki penomoran rekomendasi teknis", field="permit_type")
        return (recommendation_counter_id(app.office_id, numbering.code, to_wib(when).year),
                lambda seq: numbering.number(seq, when))

    def write(target: Application, number: str) -> None:
        target.technical_recommendation_number = number

    return str(take(application_id, plan, lambda a: a.technical_recommendation_number, write))
