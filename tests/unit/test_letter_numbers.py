"""Numbers taken once (services/letter_numbers.py `take`, the one mechanism behind permit, rejection and
recommendation numbers): gap-free, kept, taken in batches, recovered after a crash between any two writes. The
counter and the applications are an in-memory stand-in for the DynamoDB calls (conditional counter write, ADD to
the waiting set, versioned application update) whose semantics the workflow and functional tests exercise on
the local runtime."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from silastri.adapters.dynamo import NumberCounter
from silastri.domain.catalog import AgencyNumbering
from silastri.domain.clock import to_wib
from silastri.domain.models import Application
from silastri.services import letter_numbers

NUMBERING = AgencyNumbering(code="DPMPTSP-TL", format="503/DPMPTSP/TL/{seq:04d}/{month_roman}/{year}")
WHEN = datetime(2026, 11, 30, 3, tzinfo=UTC)


def numbered(seq: int) -> str:
    return NUMBERING.number(seq, WHEN)


class Store:
    """One counter item and the applications; every call is atomic (a lock), as each DynamoDB call is."""

    def __init__(self) -> None:
        self.counter: dict[str, NumberCounter] = {}
        self.apps: dict[str, Application] = {}
        self.lock = threading.Lock()
        self.counter_writes = 0

    def read_number_counter(self, counter_id: str) -> NumberCounter:
        with self.lock:
            return self.counter.get(counter_id, NumberCounter(0, (), 0, frozenset()))

    def advance_numbers(self, counter_id: str, expected: int, holders: list[str], batch: int,
                        waiting: frozenset[str] = frozenset()) -> bool:
        with self.lock:
            now = self.counter.get(counter_id, NumberCounter(0, (), 0, frozenset()))
            if now.value != expected or not waiting <= now.waiting or now.closed:  # one that gave up is not taken
                return False
            self.counter[counter_id] = NumberCounter(expected + batch, tuple(holders), batch, now.waiting - waiting)
            self.counter_writes += 1
            return True

    def close_number_counter(self, counter_id: str) -> NumberCounter:
        with self.lock:
            now = self.counter.get(counter_id, NumberCounter(0, (), 0, frozenset()))
            self.counter[counter_id] = now._replace(closed=True)
            return self.counter[counter_id]

    def wait_for_number(self, counter_id: str, application_id: str) -> NumberCounter:
        with self.lock:
            now = self.counter.get(counter_id, NumberCounter(0, (), 0, frozenset()))
            self.counter[counter_id] = now._replace(waiting=now.waiting | {application_id})
            return self.counter[counter_id]

    def stop_waiting(self, counter_id: str, application_id: str) -> NumberCounter:
        with self.lock:
            now = self.counter.get(counter_id, NumberCounter(0, (), 0, frozenset()))
            self.counter[counter_id] = now._replace(waiting=now.waiting - {application_id})
            return self.counter[counter_id]

    def applications_for_numbering(self, ids: list[str]) -> dict[str, Application]:
        with self.lock:
            return {i: self.apps[i].model_copy() for i in ids if i in self.apps}

    def get_application(self, application_id: str, documents: bool = True) -> Application:
        with self.lock:
            return self.apps[application_id].model_copy()

    def update_application(self, application_id: str, change, documents: bool = True):  # type: ignore[no-untyped-def]
        while True:  # optimistic: the change applies to what was read, written only if nobody wrote meanwhile
            with self.lock:
                read = self.apps[application_id]
            working = read.model_copy()
            change(working)
            with self.lock:
                if self.apps[application_id] is read:
                    self.apps[application_id] = working
                    return working, None


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Store:
    fake = Store()
    monkeypatch.setattr(letter_numbers, "now_utc", lambda: WHEN)
    for name in ("read_number_counter", "advance_numbers", "close_number_counter", "wait_for_number", "stop_waiting",
                 "applications_for_numbering",
                 "get_application", "update_application"):
        monkeypatch.setattr(letter_numbers.dynamo, name, getattr(fake, name))
    return fake


def app(store: Store, application_id: str) -> Application:
    made = Application(application_id=application_id, applicant_id="u", office_id="rokan-hilir",
                       permit_type="izin-operasional-orsos", created_at=datetime(2026, 11, 1, tzinfo=UTC))
    store.apps[application_id] = made
    return made


def written(store: Store, application_id: str) -> str | None:
    return store.apps[application_id].rejection_letter_number


def plan(_: Application, when: datetime) -> tuple[str, Callable[[int], str]]:
    """Counter "c" for WHEN's year (every test but the New Year one), "c<year>" for another year."""
    year = to_wib(when).year
    return ("c" if year == 2026 else f"c{year}"), lambda seq: NUMBERING.number(seq, when)


def take(store: Store, application_id: str) -> str | None:
    def write(target: Application, number: str) -> None:
        target.rejection_letter_number = number

    return letter_numbers.take(application_id, plan, lambda a: a.rejection_letter_number, write)


def test_numbers_follow_each_other_and_an_application_keeps_its_own(store: Store) -> None:
    app(store, "a"), app(store, "b")
    assert take(store, "a") == numbered(1)
    assert take(store, "b") == numbered(2)
    assert take(store, "a") == numbered(1)  # signed again: the same number
    assert written(store, "a") == numbered(1) and written(store, "b") == numbered(2)
    assert store.counter["c"].value == 2 and store.counter_writes == 2  # alone: one counter write per number


def test_a_number_taken_before_a_crash_is_written_by_a_later_taker(store: Store) -> None:
    for name in "abcd":
        app(store, name)
    # "a" moved the counter to 1 and was killed before writing it on its application
    store.counter["c"] = NumberCounter(1, ("a",), 1, frozenset())
    assert take(store, "b") == numbered(2)  # the next taker: a's batch is still the last but one on the counter
    assert take(store, "c") == numbered(3)  # the one after retires a's batch: writes a's number first
    assert written(store, "a") == numbered(1)
    assert take(store, "a") == numbered(1)  # its retried request finds it
    assert take(store, "d") == numbered(4)


def test_a_killed_request_finds_its_number_on_the_counter(store: Store) -> None:
    app(store, "a")
    store.counter["c"] = NumberCounter(1, ("a",), 1, frozenset())  # taken, then killed before the write
    assert take(store, "a") == numbered(1) == written(store, "a")  # the retry writes the number it holds


def test_waiting_takers_are_numbered_as_one_batch_in_order_with_one_counter_write(store: Store) -> None:
    for name in ("a", "w1", "w2", "b", "c"):
        app(store, name)
    # w1 and w2 lost a race and wait (then were killed: nobody else writes their numbers)
    store.counter["c"] = NumberCounter(0, (), 0, frozenset({"w1", "w2"}))
    assert take(store, "a") == numbered(1)  # a joins, is first in order, and leads the batch a, w1, w2
    assert store.counter["c"] == NumberCounter(3, ("a", "w1", "w2"), 3, frozenset())
    assert store.counter_writes == 1
    assert take(store, "b") == numbered(4)
    assert written(store, "w1") is None  # still on the counter: the next batch has not retired it yet
    assert take(store, "c") == numbered(5)  # retires the batch a, w1, w2: writes the crashed ones' numbers
    assert [written(store, n) for n in ("w1", "w2")] == [numbered(2), numbered(3)]


def test_an_application_that_already_has_a_number_is_left_out_of_a_batch(store: Store) -> None:
    app(store, "a"), app(store, "z")
    store.apps["z"].rejection_letter_number = numbered(1)  # a retried request of z, waiting, though z has one
    store.counter["c"] = NumberCounter(1, ("z",), 1, frozenset({"z"}))
    assert take(store, "a") == numbered(2)  # no value given to z twice, none skipped
    assert store.counter["c"].value == 2 and "z" not in store.counter["c"].waiting


def test_concurrent_takers_get_consecutive_numbers_each_written_once(store: Store) -> None:
    names = [f"app-{i:03d}" for i in range(120)]
    for name in names:
        app(store, name)
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(lambda n: take(store, n), names))
    assert sorted(numbers) == [numbered(i) for i in range(1, 121)]
    assert [written(store, n) for n in names] == numbers
    assert store.counter["c"].waiting == frozenset()


def test_a_counter_busy_beyond_the_bound_is_a_conflict(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from silastri.domain.errors import ConflictError

    app(store, "a")
    monkeypatch.setattr(letter_numbers, "ATTEMPTS", 3)
    monkeypatch.setattr(store, "advance_numbers", lambda *args, **kwargs: False)  # always another batch first
    monkeypatch.setattr(letter_numbers.dynamo, "advance_numbers", store.advance_numbers)
    with pytest.raises(ConflictError):
        take(store, "a")
    assert written(store, "a") is None
    # the 409 is the whole answer: the file left the waiting set, so no later batch numbers it behind it
    assert "a" not in store.counter["c"].waiting
    monkeypatch.setattr(letter_numbers.dynamo, "advance_numbers", Store.advance_numbers.__get__(store))
    app(store, "b")
    assert take(store, "b") == numbered(1)
    assert written(store, "a") is None and store.counter["c"].holders == ("b",)


def test_a_counter_busy_beyond_the_time_budget_is_a_conflict(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from silastri.domain.errors import ConflictError

    app(store, "a")
    monkeypatch.setattr(letter_numbers, "TIME_BUDGET", 0.3)
    monkeypatch.setattr(letter_numbers, "ATTEMPTS", 10**9)  # rounds remain: the clock is what stops it
    monkeypatch.setattr(letter_numbers.dynamo, "advance_numbers", lambda *args, **kwargs: False)
    started = datetime.now(UTC)
    with pytest.raises(ConflictError):
        take(store, "a")
    assert (datetime.now(UTC) - started).total_seconds() < 0.3 + 2 * 0.5 + 5  # a round sleeps at most 0.5 s
    assert written(store, "a") is None and "a" not in store.counter["c"].waiting


def test_last_years_holders_are_written_by_the_first_takers_of_the_new_year(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "b", "k", "n"):
        app(store, name)
    # 2025's counter: a took 4, then k and b took 5 and 6 as the last batch; k was killed before writing its number,
    # and nobody took a 2025 number after them
    store.apps["a"].rejection_letter_number = "a's"
    store.apps["b"].rejection_letter_number = "b's"
    store.counter["c2025"] = NumberCounter(6, ("a", "k", "b"), 2, frozenset())
    assert take(store, "n") == numbered(1)  # the first 2026 number, after writing k's 2025 one
    last_day = datetime(2025, 12, 31, 16, 59, 59, tzinfo=UTC)  # 23:59:59 WIB
    assert written(store, "k") == NUMBERING.number(5, last_day)
    assert NUMBERING.number(5, last_day).endswith("/0005/XII/2025")
    assert written(store, "a") == "a's" and written(store, "b") == "b's"  # ones with a number are left alone
    assert take(store, "k") == NUMBERING.number(5, last_day)  # its retried request keeps it


def test_a_holder_retried_after_new_year_keeps_last_years_number(store: Store) -> None:
    app(store, "k"), app(store, "n")
    store.counter["c2025"] = NumberCounter(9, ("k",), 1, frozenset())  # taken on 31 December, killed, retried
    assert take(store, "k") == written(store, "k")
    assert str(written(store, "k")).endswith("/0009/XII/2025")
    assert "c" not in store.counter  # no 2026 number taken for it
    assert take(store, "n") == numbered(1)


def test_a_take_that_read_the_time_before_new_year_and_meets_the_closed_counter_takes_this_years(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    december, january = datetime(2026, 12, 31, 16, 59, 59, tzinfo=UTC), datetime(2026, 12, 31, 17, 0, 1, tzinfo=UTC)
    for name in ("a", "n", "x"):
        app(store, name)
    monkeypatch.setattr(letter_numbers, "now_utc", lambda: december)
    assert str(take(store, "a")).endswith("/0001/XII/2026")
    monkeypatch.setattr(letter_numbers, "now_utc", lambda: january)
    assert str(take(store, "n")).endswith("/0001/I/2027")  # the first 2027 taker closes the 2026 counter
    assert store.counter["c"].closed
    # x read the time in December; by its counter write the year has turned: no 2026 value after the close
    moments = iter([december, january])
    monkeypatch.setattr(letter_numbers, "now_utc", lambda: next(moments))
    assert str(take(store, "x")).endswith("/0002/I/2027")
    assert store.counter["c"].value == 1 and store.counter["c2027"].value == 2  # 2026 ends at 1: no gap


def test_a_taker_that_gives_up_returns_the_number_written_for_it_meanwhile(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    app(store, "b")
    monkeypatch.setattr(letter_numbers, "TIME_BUDGET", 0.2)
    monkeypatch.setattr(letter_numbers, "ATTEMPTS", 10**9)

    def another_batch_first(*args: object, **kwargs: object) -> bool:
        # a batch took b and later batches retired it, their leader writing b's number: b is on no counter now
        with store.lock:
            store.apps["b"] = store.apps["b"].model_copy(update={"rejection_letter_number": numbered(7)})
        return False

    monkeypatch.setattr(letter_numbers.dynamo, "advance_numbers", another_batch_first)
    assert take(store, "b") == numbered(7) == written(store, "b")  # not a 409 for a numbered file


def test_the_first_taker_settles_a_counter_of_a_year_without_takers_before_it(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    app(store, "k"), app(store, "n")
    store.counter["c2025"] = NumberCounter(9, ("k",), 1, frozenset())  # k killed before writing; no 2026 take
    monkeypatch.setattr(letter_numbers, "now_utc", lambda: datetime(2027, 1, 4, 3, tzinfo=UTC))
    assert str(take(store, "n")).endswith("/0001/I/2027")
    assert str(written(store, "k")).endswith("/0009/XII/2025")


def test_the_proposal_reads_the_batched_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    from silastri.services import numbering

    mine = Application(application_id="m", applicant_id="u", office_id="rokan-hilir",
                       permit_type="izin-operasional-orsos", created_at=datetime(2026, 11, 1, tzinfo=UTC))

    def proposed(counter: NumberCounter) -> int:
        monkeypatch.setattr(numbering.dynamo, "read_number_counter", lambda _: counter)
        return int(numbering.propose(mine).split("/")[2])

    assert proposed(NumberCounter(0, (), 0, frozenset())) == 1
    assert proposed(NumberCounter(7, ("x", "y"), 1, frozenset())) == 8  # the next value
    assert proposed(NumberCounter(7, ("x", "m", "y"), 2, frozenset())) == 6  # taken for it, not written yet
    assert proposed(NumberCounter(7, ("y",), 1, frozenset({"a", "z"}))) == 9  # "a" waits before it in order
