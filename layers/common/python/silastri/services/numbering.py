"""Permit numbers: proposed on the SOP 7 task, assigned when the back office confirms.

Gap-free and unique per office, permit type and year without a transaction: the counter item holds the
last number and the application that took it. Taking a number is one conditional write (value n-1 → n,
holder = application). Before advancing, a caller first makes sure the previous holder has its number
written (helping), so a crash between the two writes can never leave a gap or lose a number.
"""

from __future__ import annotations

import random
import time

from ..adapters import dynamo
from ..domain.catalog import default_catalog
from ..domain.clock import now_utc, to_wib
from ..domain.errors import ConflictError
from ..domain.models import Application
from ..domain.numbering import counter_id, format_permit_number


def _counter(app: Application) -> str:
    return counter_id(app.office_id, app.permit_type, to_wib(now_utc()).year)


def _format(app: Application, seq: int) -> str:
    catalog = default_catalog()
    return format_permit_number(catalog.office(app.office_id), catalog.permit_type(app.office_id, app.permit_type),
                                seq, now_utc())


def propose(app: Application) -> str:
    """The number this application would get if confirmed now (shown on the numbering task; another file
    confirmed first takes it, and this one then gets the next free number: `assign`)."""
    if app.permit_number:
        return app.permit_number
    value, holder = dynamo.read_counter(_counter(app))
    if holder == app.application_id:
        return _format(app, value)
    return _format(app, value + 1)


def _write_number(application_id: str, number: str) -> str:
    """Write `number` unless the application has one already; returns the one it has."""
    def change(target: Application) -> None:
        if target.permit_number is None:
            target.permit_number = number

    return dynamo.update_application(application_id, change)[0].permit_number or number


#: attempts to take the next number before giving up (each lost race means another file took one: with
#: n officers confirming at the same moment a caller loses at most n-1 times in a row)
MAX_ATTEMPTS = 200


def assign(application_id: str) -> str:
    """Give the application the next free permit number and return it; idempotent (an application that has a
    number keeps it: a file returned from signing to numbering, a retried effect).

    Confirmations of different files at once each get their own number, gap-free: taking the number is one
    conditional write on the counter (n → n+1, holder = this application); a caller that loses the race to
    another file reads the counter again and takes the next one (never an error in the normal flow). What was
    proposed to the officer may therefore differ from what is assigned; the caller records both.
    Raises ConflictError only if the counter stays contended for MAX_ATTEMPTS rounds."""
    app = dynamo.get_application(application_id)
    if app.permit_number:
        return app.permit_number
    counter = _counter(app)
    for attempt in range(MAX_ATTEMPTS):
        value, holder = dynamo.read_counter(counter)
        if holder == app.application_id:  # we took it earlier but crashed before writing it down
            return _write_number(app.application_id, _format(app, value))
        if holder:  # help the previous holder finish, so no number is ever lost
            previous = dynamo.get_application(holder)
            if previous.permit_number is None:
                _write_number(holder, _format(previous, value))
        if dynamo.advance_counter(counter, value, app.application_id):
            return _write_number(app.application_id, _format(app, value + 1))
        time.sleep(random.uniform(0, min(0.05, 0.002 * (attempt + 1))))  # noqa: S311 - jitter, not security
    raise ConflictError("penomoran sedang sibuk; coba lagi")


# ----------------------------------------------------------------------------- the sector agency's letter numbers

def recommendation_counter_id(office_id: str, code: str, year: int) -> str:
    """One gap-free sequence of Rekomendasi Teknis letter numbers per office, agency code and year."""
    return f"recommendation#{office_id}#{code}#{year}"


def assign_recommendation(application_id: str) -> str:
    """The sector agency's letter number for the application's Rekomendasi Teknis (catalog
    `technical_recommendation.numbering`), taken once and kept (a second recommendation after a revision, or
    after a decision the workflow refused, reprints the same number): gap-free like the permit numbers
    (`letter_numbers.take_once`).

    Raises ConflictError when the permit type has no agency numbering or the counter stays busy."""
    from .letter_numbers import take_once

    app = dynamo.get_application(application_id)
    if app.technical_recommendation_number:
        return app.technical_recommendation_number
    numbering = default_catalog().permit_type(app.office_id, app.permit_type).stages.technical_recommendation.numbering
    if numbering is None:
        raise ConflictError("jenis izin ini tidak memiliki penomoran rekomendasi teknis", field="permit_type")

    def write(target: Application, number: str) -> None:
        target.technical_recommendation_number = number

    counter = recommendation_counter_id(app.office_id, numbering.code, to_wib(now_utc()).year)
    return take_once(app, counter, numbering, lambda a: a.technical_recommendation_number, write)
