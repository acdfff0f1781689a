"""Letter numbers an application takes once and keeps: the Surat Penolakan's (the office's
`rejection_numbering`) and the Rekomendasi Teknis's (`numbering.assign_recommendation`). Gap-free like the permit numbers: one conditional write on a counter that records which
application took the value, and recovery of a value taken but not yet written on its application."""

from __future__ import annotations

from collections.abc import Callable

from ..adapters import dynamo
from ..domain.catalog import AgencyNumbering, default_catalog
from ..domain.clock import now_utc, to_wib
from ..domain.errors import ConflictError
from ..domain.models import Application

ATTEMPTS = 20


def rejection_counter_id(office_id: str, code: str, year: int) -> str:
    """One gap-free sequence of rejection letter numbers per office, numbering code and year (WIB)."""
    return f"rejection#{office_id}#{code}#{year}"


def _keep(application_id: str, read: Callable[[Application], str | None],
          write: Callable[[Application, str], None], number: str) -> str:
    """Write `number` on the application unless it already has one; returns the one it has."""
    def change(target: Application) -> None:
        if read(target) is None:
            write(target, number)

    return read(dynamo.update_application(application_id, change)[0]) or number


def take_once(app: Application, counter: str, numbering: AgencyNumbering,
              read: Callable[[Application], str | None], write: Callable[[Application, str], None]) -> str:
    """The application's letter number from `counter` (formatted by `numbering`, dated now in WIB), taken
    once: an application that has one keeps it (a letter signed again after a refused attempt reprints it).
    A value taken by an application that crashed before writing it down is written for it first, so no number
    is ever lost or given twice. Raises ConflictError when the counter stays busy."""
    if read(app):
        return str(read(app))
    now = now_utc()
    for _ in range(ATTEMPTS):
        value, holder = dynamo.read_counter(counter)
        if holder == app.application_id:  # taken earlier, the crash came before writing it down
            return _keep(app.application_id, read, write, numbering.number(value, now))
        if holder and read(dynamo.get_application(holder)) is None:  # help the previous holder finish
            _keep(holder, read, write, numbering.number(value, now))
        if dynamo.advance_counter(counter, value, app.application_id):
            return _keep(app.application_id, read, write, numbering.number(value + 1, now))
    raise ConflictError("penomoran surat sedang sibuk; coba lagi")


def assign_rejection(application_id: str) -> str | None:
    """The Surat Penolakan's number (SOP: the head signs the rejection letter), taken when it is signed and kept;
    None when the office configures no `rejection_numbering`. Raises ConflictError when the counter stays busy."""
    app = dynamo.get_application(application_id)
    numbering = default_catalog().office(app.office_id).rejection_numbering
    if numbering is None:
        return None

    def write(target: Application, number: str) -> None:
        target.rejection_letter_number = number

    counter = rejection_counter_id(app.office_id, numbering.code, to_wib(now_utc()).year)
    return take_once(app, counter, numbering, lambda a: a.rejection_letter_number, write)
