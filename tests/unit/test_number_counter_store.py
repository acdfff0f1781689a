"""The numbering counter's DynamoDB writes (adapters/dynamo.py) against moto with template.yaml's CountersTable:
a closed counter (its year ended) takes no further batch, closing is idempotent and answers the holders it ends
with, and closing an absent counter leaves it closed at 0."""

from __future__ import annotations

from typing import Any

import pytest
from silastri.adapters import dynamo


@pytest.fixture(autouse=True)
def counters(template_tables: Any) -> None:
    template_tables({"CountersTable": "silastri-unit-counters"}, COUNTERS_TABLE="silastri-unit-counters")


def test_a_closed_counter_takes_no_further_batch() -> None:
    assert dynamo.advance_numbers("rejection#x#2026", 0, ["a"], 1)
    assert dynamo.advance_numbers("rejection#x#2026", 1, ["a", "b"], 1)
    closed = dynamo.close_number_counter("rejection#x#2026")
    assert closed.closed and closed.value == 2 and closed.holders == ("a", "b")
    assert not dynamo.advance_numbers("rejection#x#2026", 2, ["b", "c"], 1)  # a December straggler is refused
    again = dynamo.close_number_counter("rejection#x#2026")
    assert again == closed and dynamo.read_number_counter("rejection#x#2026") == closed
    first_close = dynamo.CounterItem.get("rejection#x#2026").closed_at
    dynamo.close_number_counter("rejection#x#2026")
    assert dynamo.CounterItem.get("rejection#x#2026").closed_at == first_close  # the first close's time is kept


def test_closing_an_absent_counter_leaves_it_closed_at_zero() -> None:
    closed = dynamo.close_number_counter("rejection#x#2025")
    assert closed.closed and closed.value == 0 and closed.holders == ()
    assert not dynamo.advance_numbers("rejection#x#2025", 0, ["a"], 1)
    assert not dynamo.read_number_counter("rejection#x#2027").closed
