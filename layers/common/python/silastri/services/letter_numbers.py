"""Numbers an application takes once and keeps, gap-free: the permit number (`numbering.assign`), the Surat
Penolakan's (the office's `rejection_numbering`) and the Rekomendasi Teknis's (`numbering.assign_recommendation`).

One mechanism (`take`), no transaction — group commit on a counter item that holds the last value, the
applications that took the values of its last two batches (`holders`, in order; the last `recent` of them the
last batch) and those waiting for one (`waiting`; ids only, never personal data).
- A taker alone (nobody waiting, the last batch a single taker): one conditional write on the counter
  (n → n+1, itself the new batch) and one write of its application — the update that read it.
- Takers at the same moment: one that finds others waiting, or loses the race, adds itself to `waiting` (an ADD,
  never a conflict). The first waiting one in order leads the next batch (any waiting one does once the counter
  has stood still for a few rounds: the first may have been killed): one conditional write n → n+k giving the
  k waiting applications n+1 … n+k in order. Each holder sees its value on the counter and writes it.
- Gap-free through a kill between any two writes: a batch stays on the counter until the batch after next
  retires it, and the leader retiring it first writes the number of any of its holders that has none (killed
  after the counter moved); a killed request retried finds its value on the counter. An application that has
  a number, or is still on the counter, is left out of a batch, so no value is given twice.
- Gap-free across New Year: a year's counter ends with nobody after its last batch to settle it, so the first
  takers of a year (those that find its counter at 0) first close last year's counter (no batch moves it after
  that: a take that read the time in December and meets it closed takes this year's number instead), then write
  the numbers of its holders that have none; a holder retried after midnight keeps the last year's number it
  holds. Counters of the years before that (a year in which nobody took a number) are settled the same way,
  up to LOOK_BACK_YEARS back. A number settled for a file after its year is dated 31 December of that year.
- Bounded: a taker that is not numbered within TIME_BUDGET seconds gives up with a ConflictError (the decision
  API answers within API Gateway's 29 s), leaving the waiting set first — unless its number was written
  meanwhile, which it then returns.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

from ..adapters import dynamo
from ..domain.catalog import default_catalog
from ..domain.clock import WIB, now_utc, to_wib
from ..domain.errors import ConflictError
from ..domain.models import Application

#: rounds (reading the counter) a taker goes through before giving up: with n takers at the same moment a
#: waiting taker is in the next batch (one or two rounds); the bound is only reached under a fault
ATTEMPTS = 200

#: at most this many applications in one batch (the counter item stays a few KB)
MAX_BATCH = 25
#: rounds a waiting taker sees the counter stand still before it leads in place of the first waiting one
STALLED_ROUNDS = 3
#: seconds a taker keeps trying before it gives up (the decision API's Lambda has 30 s, API Gateway 29 s)
TIME_BUDGET = 20.0
#: years before the last one whose counters the first takers of a year settle too (a year without any taker)
LOOK_BACK_YEARS = 5
#: times a take plans again after meeting its year's counter closed (it read the time just before New Year)
REPLANS = 3


class _CounterClosed(Exception):
    """The counter of the year the take planned for is closed: its year has ended; plan again for now."""

Read = Callable[[Application], str | None]
Write = Callable[[Application, str], None]
#: for an application without a number and a moment (UTC): the counter of that moment's year (WIB) it takes one
#: from and how a value is written (seq → text, dated that moment); None when it takes none (no numbering
#: configured)
Plan = Callable[[Application, datetime], tuple[str, Callable[[int], str]] | None]


def rejection_counter_id(office_id: str, code: str, year: int) -> str:
    """One gap-free sequence of rejection letter numbers per office, numbering code and year (WIB)."""
    return f"rejection#{office_id}#{code}#{year}"


def _keep(application_id: str, read: Read, write: Write, number: str) -> None:
    """Write `number` on another application (a holder that crashed) unless it has one already."""
    def change(target: Application) -> None:
        if read(target) is None:
            write(target, number)

    dynamo.update_application(application_id, change, documents=False)


def _write_missing(holders: tuple[str, ...] | list[str], first: int, number: Callable[[int], str],
                   found: dict[str, Application], read: Read, write: Write) -> None:
    """Write value `first + i` on `holders[i]` (as `found`: read after the counter) where it has no number yet."""
    for index, holder in enumerate(holders):
        if holder in found and read(found[holder]) is None:
            _keep(holder, read, write, number(first + index))


def end_of_year(year: int) -> datetime:
    """The last second of `year` (31 December 23:59:59 WIB, as UTC): the date a number of that year settled after
    it ended is written with (month XII of that year)."""
    return datetime(year, 12, 31, 23, 59, 59, tzinfo=WIB).astimezone(UTC)


def take(application_id: str, plan: Plan, read: Read, write: Write) -> str | None:
    """The application's number, taken once and kept: one that has a number keeps it (a retried request, a letter
    signed again); one without takes the next value of the counter `plan` names for now (gap-free and unique:
    module docstring) and writes it. `read`/`write` get and set the field (every application on one counter has
    the same kind of number). None when `plan` gives none. Raises ConflictError when no batch takes the
    application within ATTEMPTS rounds or TIME_BUDGET seconds, and what `plan` raises."""
    for _ in range(REPLANS):
        try:  # one moment for the counter's year and the number's date (a take spanning New Year)
            return _take_at(now_utc(), application_id, plan, read, write)
        except _CounterClosed:
            continue  # its year ended while it waited: a fresh moment, this year's counter
    raise ConflictError("penomoran sedang sibuk; coba lagi")


def _take_at(now: datetime, application_id: str, plan: Plan, read: Read, write: Write) -> str | None:
    year = to_wib(now).year

    def change(app: Application) -> None:  # the number is written by the update this read belongs to
        if read(app) is None and (planned := plan(app, now)) is not None:
            earlier = [plan(app, end_of_year(year - back)) for back in range(1, LOOK_BACK_YEARS + 2)]
            write(app, _claim(application_id, planned[0], planned[1], read, write, earlier))

    return read(dynamo.update_application(application_id, change, documents=False)[0])


def _settle_earlier_years(application_id: str, counter: str,
                          earlier: list[tuple[str, Callable[[int], str]] | None], read: Read, write: Write) -> str | None:
    """Called by a taker that finds this year's `counter` at 0: close last year's counter (`earlier[0]`), then
    write the numbers of the holders of it and of the years before (`earlier[1:]`) that have none (nobody after
    them on those counters will); return this application's own when it is one of them (its request was killed
    before writing it and retried after New Year)."""
    own = None
    for index, planned in enumerate(earlier):
        if planned is None or planned[0] == counter:
            continue
        old_counter, number = planned
        state = dynamo.close_number_counter(old_counter) if index == 0 else dynamo.read_number_counter(old_counter)
        if not state.holders:
            continue
        first = state.value - len(state.holders) + 1
        found = dynamo.applications_for_numbering([h for h in state.holders if h != application_id])
        _write_missing(state.holders, first, number, found, read, write)  # this one writes its own (returned)
        if application_id in state.holders and own is None:
            own = number(first + state.holders.index(application_id))
    return own


def _claim(application_id: str, counter: str, number: Callable[[int], str], read: Read, write: Write,
           earlier: list[tuple[str, Callable[[int], str]] | None]) -> str:
    """The number the application holds on `counter` (it has none written): taken alone with one conditional
    write, else in a batch (module docstring); `earlier` gives the counters and numbers of the years before (last
    year first), settled by the first takers of a year. The caller writes it on the application. Raises
    _CounterClosed when `counter`'s year has ended."""
    joined = False
    unchanged, last = 0, -1
    started = time.monotonic()
    state = dynamo.read_number_counter(counter)
    round_trip = time.monotonic() - started
    if state.value == 0 and not state.closed and (
            held := _settle_earlier_years(application_id, counter, earlier, read, write)):
        return held
    for _ in range(ATTEMPTS):
        if time.monotonic() - started > TIME_BUDGET:
            break
        if state.closed and application_id not in state.holders:
            raise _CounterClosed(counter)
        if application_id in state.holders:  # ours is in one of the last two batches (taken by a leader, or before a crash)
            return number(state.value - len(state.holders) + 1 + state.holders.index(application_id))
        if joined and application_id not in state.waiting:
            # a batch left us out because we had a number, or took us and was settled by a later leader, who
            # made sure ours is written: it is on the application
            own = read(dynamo.get_application(application_id, documents=False))
            if own:
                return own
            joined = False  # not reachable while every leader settles the batch it retires; ask again
        unchanged, last = (unchanged + 1 if state.value == last else 0), state.value
        # who leads: a taker alone (none waiting, the last batch a single one: no crowd at the counter); among
        # waiting ones the first in order, or any once the counter stood still for a few rounds (the first may
        # have crashed)
        if (not state.waiting and state.recent <= 1 if not joined
                else (application_id == min(state.waiting) or unchanged >= STALLED_ROUNDS)):
            taken = _lead(application_id, counter, state, number, read, write)
            if taken:
                return taken
        if not joined:  # join the next batch
            dynamo.wait_for_number(counter, application_id)
            joined = True
        # a batch takes a few round trips (read, settle, advance): look again after about that long, while
        # others join it
        time.sleep(min(0.5, max(0.001, round_trip) * random.uniform(3.0, 6.0)))  # noqa: S311 - jitter, not security
        state = dynamo.read_number_counter(counter)
    if joined:  # give up for real: out of the waiting set, so no later batch numbers this file behind the 409
        state = dynamo.stop_waiting(counter, application_id)
        if application_id in state.holders:  # a batch took it just before: keep that number
            return number(state.value - len(state.holders) + 1 + state.holders.index(application_id))
        own = read(dynamo.get_application(application_id, documents=False))
        if own:  # taken, then retired by later batches whose leader wrote it: it is this file's number
            return own
    raise ConflictError("penomoran sedang sibuk; coba lagi")


def _lead(application_id: str, counter: str, state: dynamo.NumberCounter, number: Callable[[int], str],
          read: Read, write: Write) -> str | None:
    """Try to take the next batch from the counter as read (`state`): settle the batch before the last one
    (write the number of any holder that has none: it crashed), then one conditional write giving value+1 … to
    this application and those waiting, in order. Returns this application's number, or None when another
    batch went first."""
    value, holders, recent, waiting = state.value, state.holders, state.recent, state.waiting
    older, last = holders[:len(holders) - recent], holders[len(holders) - recent:]
    candidates = sorted({application_id, *sorted(waiting - {application_id})[:MAX_BATCH - 1]})
    # read after the counter: a number written on one of them by an earlier batch (a retried request) is seen here
    found = dynamo.applications_for_numbering(list(dict.fromkeys([*older, *candidates])))
    own = read(found[application_id]) if application_id in found else None
    if own:
        return own
    first = value - len(holders) + 1
    _write_missing(older, first, number, found, read, write)  # it leaves the counter now: all must be written
    # those still on the counter write their own number; those with one already keep it
    batch = [c for c in candidates if c not in holders and c in found and read(found[c]) is None]
    if application_id not in batch or not dynamo.advance_numbers(
            counter, value, [*last, *batch], len(batch), waiting & frozenset(candidates)):
        return None
    return number(value + batch.index(application_id) + 1)


def assign_rejection(application_id: str) -> str | None:
    """The Surat Penolakan's number (SOP: the head signs the rejection letter), taken when it is signed and kept
    (`take`); None when the office configures no `rejection_numbering`. Raises ConflictError when the counter
    stays busy."""
    def plan(app: Application, when: datetime) -> tuple[str, Callable[[int], str]] | None:
        numbering = default_catalog().office(app.office_id).rejection_numbering
        if numbering is None:
            return None
        return (rejection_counter_id(app.office_id, numbering.code, to_wib(when).year),
                lambda seq: numbering.number(seq, when))

    def write(target: Application, number: str) -> None:
        target.rejection_letter_number = number

    return take(application_id, plan, lambda a: a.rejection_letter_number, write)
