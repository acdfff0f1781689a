"""The bench's DynamoDB billing rules (AWS Developer Guide, 'Read/write capacity unit consumption' and 'GSI write
considerations'), on hand-made items: sizes, rounding, larger-of-before/after, index writes by projection."""

from silastri_local.ddb_billing import (
    DynamoBill,
    IndexSpec,
    index_write_units,
    item_size,
    number_size,
    read_units,
    write_units,
)


def test_item_size_counts_names_and_values():
    assert item_size({"ab": {"S": "xyz"}}) == 2 + 3
    assert item_size({"n": {"N": "123.45"}}) == 1 + number_size("123.45") == 1 + 4  # 5 digits: 3 bytes + 1
    assert item_size({"f": {"BOOL": True}, "z": {"NULL": True}}) == 2 + 2
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (1 + 2) + (1 + 2)
    assert item_size({"é": {"S": "é"}}) == 4  # UTF-8 bytes
    assert item_size(None) == 0


def test_write_units_round_up_per_kilobyte_on_the_larger_item():
    assert write_units(0) == 1
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert write_units(500, 3000) == 3  # larger of before and after


def test_read_units_round_up_per_4_kilobytes_half_when_eventually_consistent():
    assert read_units(0, consistent=True) == 1
    assert read_units(4096, consistent=True) == 1
    assert read_units(5000, consistent=True) == 2
    assert read_units(5000, consistent=False) == 1


def _item(owner: str, status: str, body: str = "x" * 2000) -> dict:
    return {"id": {"S": "a1"}, "owner": {"S": owner}, "status": {"S": status}, "body": {"S": body}}


def test_index_writes_follow_the_projection():
    all_ = IndexSpec("by_owner", ("owner",), ("id",), "ALL")
    keys = IndexSpec("by_owner", ("owner",), ("id",), "KEYS_ONLY")
    include = IndexSpec("by_owner", ("owner",), ("id",), "INCLUDE", ("status",))
    before, after = _item("u1", "open"), _item("u1", "closed")
    assert index_write_units(before, after, all_) == write_units(item_size(after))  # projected body rewritten
    assert index_write_units(before, after, keys) == 0  # neither its keys nor what it projects changed
    assert index_write_units(before, after, include) == 1  # the projected status changed: one small write
    assert index_write_units(None, after, keys) == 1  # enters the index
    assert index_write_units(before, None, keys) == 1  # leaves it
    moved = _item("u2", "open")
    assert index_write_units(before, moved, keys) == 2  # key changed: delete + put
    sparse = {k: v for k, v in after.items() if k != "owner"}
    assert index_write_units(sparse, sparse, keys) == 0  # not in the index before or after


def test_bill_sums_table_and_index_writes_and_failed_conditions():
    bill = DynamoBill()
    index = IndexSpec("by_owner", ("owner",), ("id",), "ALL")
    bill.write("T", None, _item("u1", "open"), [index])
    assert bill.write_units == {"T": 2, "T/by_owner": 2}
    bill.write("T", _item("u1", "open", "x" * 3000), None, [index], failed=True)  # condition failed: existing size
    assert bill.write_units["T"] == 2 + 3 and bill.write_units["T/by_owner"] == 2
    bill.write("T", None, _item("u1", "open", "x"), [index], factor=2)  # transactional: twice
    assert bill.total_write_units == 2 + 2 + 3 + 2 + 2
