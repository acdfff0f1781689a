"""Letter numbers taken once (services/letter_numbers.py): gap-free, kept, recovered after a crash. The counter
and the applications are an in-memory stand-in for the two DynamoDB calls (conditional counter write, versioned
application update) whose semantics the workflow tests exercise on the local runtime."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from silastri.domain.catalog import AgencyNumbering
from silastri.domain.models import Application
from silastri.services import letter_numbers

NUMBERING = AgencyNumbering(code="DPMPTSP-TL", format="503/DPMPTSP/TL/{seq:04d}/{month_roman}/{year}")


class Store:
    def __init__(self) -> None:
        self.counter: dict[str, tuple[int, str | None]] = {}
        self.apps: dict[str, Application] = {}

    def read_counter(self, counter_id: str) -> tuple[int, str | None]:
        return self.counter.get(counter_id, (0, None))

    def advance_counter(self, counter_id: str, expected: int, holder: str) -> bool:
        if self.read_counter(counter_id)[0] != expected:
            return False
        self.counter[counter_id] = (expected + 1, holder)
        return True

    def get_application(self, application_id: str) -> Application:
        return self.apps[application_id]

    def update_application(self, application_id: str, change):  # type: ignore[no-untyped-def]
        change(self.apps[application_id])
        return self.apps[application_id], None


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Store:
    fake = Store()
    for name in ("read_counter", "advance_counter", "get_application", "update_application"):
        monkeypatch.setattr(letter_numbers.dynamo, name, getattr(fake, name))
    monkeypatch.setattr(letter_numbers, "now_utc", lambda: datetime(2026, 11, 30, 3, tzinfo=UTC))
    return fake


def app(store: Store, application_id: str) -> Application:
    made = Application(application_id=application_id, applicant_id="u", office_id="rokan-hilir",
                       permit_type="izin-operasional-orsos", created_at=datetime(2026, 11, 1, tzinfo=UTC))
    store.apps[application_id] = made
    return made


def take(store: Store, application_id: str) -> str:
    def write(target: Application, number: str) -> None:
        target.rejection_letter_number = number

    return letter_numbers.take_once(store.apps[application_id], "c", NUMBERING,
                                    lambda a: a.rejection_letter_number, write)


def test_numbers_follow_each_other_and_an_application_keeps_its_own(store: Store) -> None:
    app(store, "a"), app(store, "b")
    assert take(store, "a") == "503/DPMPTSP/TL/0001/XI/2026"
    assert take(store, "b") == "503/DPMPTSP/TL/0002/XI/2026"
    assert take(store, "a") == "503/DPMPTSP/TL/0001/XI/2026"  # signed again: the same number
    assert store.counter["c"] == (2, "b")


def test_a_number_taken_before_a_crash_is_recovered_not_lost(store: Store) -> None:
    app(store, "a"), app(store, "b")
    store.counter["c"] = (1, "a")  # "a" took 1 and crashed before writing it on its application
    assert take(store, "b") == "503/DPMPTSP/TL/0002/XI/2026"
    assert store.apps["a"].rejection_letter_number == "503/DPMPTSP/TL/0001/XI/2026"  # written for it
    assert take(store, "a") == "503/DPMPTSP/TL/0001/XI/2026"
