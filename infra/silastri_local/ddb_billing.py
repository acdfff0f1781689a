"""DynamoDB request units as AWS bills them, estimated from the emulator's table contents (for `silastri bench`).

An ESTIMATE of AWS's on-demand billing rule, computed from the items in moto's tables before and after each
request (the request body alone says nothing about the stored item, nor about index writes). The rules, from the
AWS DynamoDB Developer Guide:

- "Read/write capacity unit consumption" (docs.aws.amazon.com/amazondynamodb/latest/developerguide/
  read-write-operations.html): a write costs one write request unit (WRU) per 1 KB of the item, rounded up; for
  PutItem, UpdateItem and DeleteItem the item size is the LARGER of the item before and after; BatchWriteItem
  bills each item as a single write; a write whose condition fails still costs (the existing item's size, at least
  one unit); a strongly consistent read costs one read request unit (RRU) per 4 KB rounded up, an eventually
  consistent one half of that; GetItem of a missing item still costs the minimum; BatchGetItem rounds each item up
  to 4 KB separately; Query and Scan round the SUM of the items read up to 4 KB once.
- "Global secondary indexes: write considerations" (…/GSI.html#GSI.Writes): a table write also writes every
  global secondary index the item is (or was) in, at the size of the item as projected there: one write when the
  item enters or leaves the index or a projected attribute changes, two (delete + put) when an index key changes,
  none when neither its keys nor its projected attributes change.
- "Transactions: capacity management" (…/transaction-apis.html): every item of TransactWriteItems /
  TransactGetItems costs twice (prepare + commit). A ConditionCheck is billed as a write (2 WRU for an item under
  1 KB, as measured against real DynamoDB by github.com/paritysuite/dynamodb-conformance PR #67); here it is
  billed at the checked item's size, and index writes inside a transaction are doubled too (upper bounds); a
  cancelled transaction is billed at one (prepare) write per item (that suite saw none reported: upper bound).

Item size (…/CapacityUnitCalculations.html, "Item sizes and formats"): attribute names plus values: strings and
binary by their bytes, numbers ≈ 1 byte per two significant digits + 1, booleans and null 1 byte, lists and maps
3 bytes + 1 byte per element + the elements (map keys counted as names). Index entries are sized without the
100-byte storage overhead (that overhead is storage, not request units).
"""

from __future__ import annotations

import base64
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KB = 1024
READ_BLOCK = 4 * KB


# ----------------------------------------------------------------------------- item sizes (pure)

def value_size(value: dict[str, Any]) -> int:
    """Bytes of one DynamoDB attribute value in its wire form ({"S": "..."}, {"M": {...}}, …)."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(str(inner).encode("utf-8"))
    if kind == "N":
        return number_size(str(inner))
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode("utf-8")) for v in inner)
    if kind == "NS":
        return sum(number_size(str(v)) for v in inner)
    if kind == "BS":
        return sum(len(v) if isinstance(v, bytes) else len(base64.b64decode(v)) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown attribute type {kind}")


def number_size(text: str) -> int:
    """≈ 1 byte per two significant digits + 1 (leading and trailing zeros trimmed)."""
    digits = format(Decimal(text), "f").lstrip("-").replace(".", "").strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def item_size(attrs: dict[str, dict[str, Any]] | None) -> int:
    """Bytes of an item in wire form (0 for no item)."""
    if not attrs:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in attrs.items())


def write_units(*sizes: int) -> int:
    """WRU of one standard write: the largest size given, per 1 KB rounded up, at least 1."""
    return max(1, math.ceil(max(sizes, default=0) / KB))


def read_units(size: int, consistent: bool) -> float:
    """RRU of one read of `size` bytes: per 4 KB rounded up (at least one block); half when eventually consistent."""
    blocks = max(1, math.ceil(size / READ_BLOCK))
    return blocks * (1.0 if consistent else 0.5)


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index: its key attributes, the table's key attributes and what it projects."""

    name: str
    keys: tuple[str, ...]
    table_keys: tuple[str, ...]
    projection: str = "ALL"  # ALL | KEYS_ONLY | INCLUDE
    include: tuple[str, ...] = ()

    def project(self, attrs: dict[str, Any] | None) -> dict[str, Any] | None:
        """The item as stored in the index, or None when it is not in it (an index key attribute is missing)."""
        if not attrs or any(k not in attrs for k in self.keys):
            return None
        if self.projection == "ALL":
            return dict(attrs)
        wanted = set(self.keys) | set(self.table_keys) | (set(self.include) if self.projection == "INCLUDE" else set())
        return {k: v for k, v in attrs.items() if k in wanted}


def index_write_units(before: dict[str, Any] | None, after: dict[str, Any] | None, index: IndexSpec) -> int:
    """WRU the index costs for a table write that changed the item from `before` to `after` (None: absent)."""
    old, new = index.project(before), index.project(after)
    if old is None and new is None:
        return 0
    if old is None:
        return write_units(item_size(new))
    if new is None:
        return write_units(item_size(old))
    if any(old[k] != new[k] for k in index.keys):  # the entry moves: delete the old one, put the new one
        return write_units(item_size(old)) + write_units(item_size(new))
    if old == new:
        return 0
    return write_units(item_size(old), item_size(new))


# ----------------------------------------------------------------------------- the ledger

@dataclass
class DynamoBill:
    """Request units per table (and per index: "table/index"), with the request counts behind them."""

    write_units: Counter[str] = field(default_factory=Counter)
    write_units_by_operation: Counter[str] = field(default_factory=Counter)
    read_units: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    requests: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def write(self, table: str, before: dict[str, Any] | None, after: dict[str, Any] | None,
              indexes: list[IndexSpec], factor: int = 1, failed: bool = False, operation: str = "write") -> None:
        with self.lock:
            if failed:  # the condition did not hold: the existing item's size, no index write
                units = factor * write_units(item_size(before))
                self.write_units[table] += units
                self.write_units_by_operation[f"{operation} (condition failed)"] += units
                return
            units = factor * write_units(item_size(before), item_size(after))
            self.write_units[table] += units
            self.write_units_by_operation[operation] += units
            for index in indexes:
                units = index_write_units(before, after, index)
                if units:
                    self.write_units[f"{table}/{index.name}"] += factor * units
                    self.write_units_by_operation[f"{operation}: index"] += factor * units

    def read(self, table: str, units: float) -> None:
        with self.lock:
            self.read_units[table] += units

    def count(self, operation: str) -> None:
        with self.lock:
            self.requests[operation] += 1

    @property
    def total_write_units(self) -> int:
        return sum(self.write_units.values())

    @property
    def total_read_units(self) -> float:
        return sum(self.read_units.values())


# ----------------------------------------------------------------------------- the emulator hook

def _table(handler: Any, name: str) -> Any:
    return handler.dynamodb_backend.get_table(name)


def _indexes(table: Any) -> list[IndexSpec]:
    table_keys = tuple(k for k in (table.hash_key_attr, table.range_key_attr) if k)
    specs = []
    for index in list(table.global_indexes or []):
        projection = index.projection or {}
        specs.append(IndexSpec(index.name, tuple(index.schema_key_attrs), table_keys,
                               projection.get("ProjectionType", "ALL"),
                               tuple(projection.get("NonKeyAttributes", []))))
    return specs


def _key_of(table: Any, attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: attrs[k] for k in (table.hash_key_attr, table.range_key_attr) if k and k in attrs}


def _stored(handler: Any, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The stored item in wire form (a copy: moto's `to_json` rebuilds nested values), or None."""
    try:
        item = handler.dynamodb_backend.get_item(table_name, key)
    except Exception:  # noqa: BLE001 - a malformed key: the request itself will fail and say why
        return None
    return item.to_json()["Attributes"] if item is not None else None


def _failed(exc: BaseException) -> bool:
    return type(exc).__name__ in ("ConditionalCheckFailed", "TransactionCanceledException")


def _single_write(bill: DynamoBill, key_of: Callable[[Any, dict[str, Any]], dict[str, Any]],
                  operation: str) -> Callable[..., Any]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def billed(self: Any) -> Any:
            name = self.body["TableName"]
            table = _table(self, name)
            key = key_of(table, self.body)
            before = _stored(self, name, key)
            try:
                result = original(self)
            except Exception as exc:
                if _failed(exc):
                    bill.write(name, before, None, [], failed=True, operation=operation)
                raise
            bill.write(name, before, _stored(self, name, key), _indexes(table), operation=operation)
            return result

        return billed

    return wrap


def _batch_write(bill: DynamoBill) -> Callable[..., Any]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def billed(self: Any) -> Any:
            touched = []
            for name, requests in self.body.get("RequestItems", {}).items():
                table = _table(self, name)
                for request in requests:
                    attrs = request.get("PutRequest", {}).get("Item") or request.get("DeleteRequest", {}).get("Key")
                    key = _key_of(table, attrs or {})
                    touched.append((name, table, key, _stored(self, name, key)))
            result = original(self)
            unprocessed = result.result.get("UnprocessedItems") if hasattr(result, "result") else None
            if not unprocessed:
                for name, table, key, before in touched:
                    bill.write(name, before, _stored(self, name, key), _indexes(table), operation="BatchWriteItem")
            return result

        return billed

    return wrap


def _transact_write(bill: DynamoBill) -> Callable[..., Any]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def billed(self: Any) -> Any:
            touched = []
            for entry in self.body.get("TransactItems", []):
                (kind, action), = entry.items()
                name = action["TableName"]
                table = _table(self, name)
                key = _key_of(table, action.get("Item") or action.get("Key") or {})
                touched.append((kind, name, table, key, _stored(self, name, key)))
            try:
                result = original(self)
            except Exception as exc:
                if _failed(exc):  # cancelled: the prepare phase, one write per item
                    for _kind, name, _unused_table, _unused_key, before in touched:
                        bill.write(name, before, None, [], failed=True, operation="TransactWriteItems")
                raise
            for kind, name, table, key, before in touched:
                if kind == "ConditionCheck":
                    bill.write(name, before, before, [], factor=2, operation="TransactWriteItems ConditionCheck")
                else:
                    bill.write(name, before, _stored(self, name, key), _indexes(table), factor=2,
                               operation=f"TransactWriteItems {kind}")
            return result

        return billed

    return wrap


def _get_item(bill: DynamoBill) -> Callable[..., Any]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def billed(self: Any) -> Any:
            name = self.body["TableName"]
            result = original(self)
            stored = _stored(self, name, self.body["Key"])
            bill.read(name, read_units(item_size(stored), bool(self.body.get("ConsistentRead"))))
            return result

        return billed

    return wrap


def _batch_get(bill: DynamoBill) -> Callable[..., Any]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def billed(self: Any) -> Any:
            result = original(self)
            unprocessed = result.result.get("UnprocessedKeys") or {} if hasattr(result, "result") else {}
            for name, request in self.body.get("RequestItems", {}).items():
                if name in unprocessed:
                    continue
                consistent = bool(request.get("ConsistentRead"))
                for key in request.get("Keys", []):
                    bill.read(name, read_units(item_size(_stored(self, name, key)), consistent))
            return result

        return billed

    return wrap


def _transact_get(bill: DynamoBill) -> Callable[..., Any]:
    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def billed(self: Any) -> Any:
            result = original(self)
            for entry in self.body.get("TransactItems", []):
                get = entry["Get"]
                bill.read(get["TableName"], 2 * read_units(item_size(_stored(self, get["TableName"], get["Key"])), True))
            return result

        return billed

    return wrap


def _query_or_scan(bill: DynamoBill) -> Callable[..., Any]:
    """Query/Scan: the sum of the items read (as stored in the index when one is named), rounded up to 4 KB once.
    Items are found again by their table key in the answer; items a filter dropped are not seen (underestimate)."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def billed(self: Any) -> Any:
            result = original(self)
            name = self.body["TableName"]
            table = _table(self, name)
            index_name = self.body.get("IndexName")
            index = next((i for i in _indexes(table) if i.name == index_name), None)
            narrowed = any(self.body.get(k) for k in ("ProjectionExpression", "AttributesToGet", "Select"))
            total = 0
            for returned in (result.result.get("Items") or []) if hasattr(result, "result") else []:
                wire = {k: (v.to_regular_json() if hasattr(v, "to_regular_json") else v) for k, v in returned.items()}
                if narrowed:  # the answer lacks attributes that were read: size the stored item
                    stored = _stored(self, name, _key_of(table, wire)) or wire
                    wire = (index.project(stored) if index else stored) or wire
                total += item_size(wire)  # moto answers an index query with the item as projected there
            consistent = bool(self.body.get("ConsistentRead")) and index is None
            bill.read(f"{name}/{index_name}" if index_name else name, read_units(total, consistent))
            return result

        return billed

    return wrap


@contextmanager
def billing() -> Iterator[DynamoBill]:
    """Bill every DynamoDB request the emulator in this process answers while the context is open.

    Wraps moto's DynamoHandler operations (they run under the runtime's DynamoDB lock, so the item read before
    and after a write is that write's own)."""
    from moto.dynamodb.responses import DynamoHandler

    bill = DynamoBill()

    def table_key(table: Any, body: dict[str, Any]) -> dict[str, Any]:
        return dict(body["Key"])

    def put_key(table: Any, body: dict[str, Any]) -> dict[str, Any]:
        return _key_of(table, body["Item"])

    wrappers: dict[str, Callable[..., Any]] = {
        "put_item": _single_write(bill, put_key, "PutItem"),
        "update_item": _single_write(bill, table_key, "UpdateItem"),
        "delete_item": _single_write(bill, table_key, "DeleteItem"),
        "batch_write_item": _batch_write(bill),
        "transact_write_items": _transact_write(bill),
        "get_item": _get_item(bill),
        "batch_get_item": _batch_get(bill),
        "transact_get_items": _transact_get(bill),
        "query": _query_or_scan(bill),
        "scan": _query_or_scan(bill),
    }
    originals = {name: DynamoHandler.__dict__[name] for name in wrappers}

    def counted(operation: str, inner: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any) -> Any:
            bill.count(operation)
            return inner(self)

        return call

    for name, wrap in wrappers.items():
        setattr(DynamoHandler, name, counted(name, wrap(originals[name])))
    try:
        yield bill
    finally:
        for name, original in originals.items():
            setattr(DynamoHandler, name, original)
