"""Faster paths through moto for the local runtime, giving the same answers (issue 12: a fast local runtime).

Profiles of whole journeys on the local stack (py-spy, GIL samples) put ~25% of the stack's CPU in moto's generic
response serializer for DynamoDB answers: for every AttributeValue it tries each of the ten members under up to
six key aliases. `dynamodb_serialized` writes the same JSON straight from the output shape for the data-plane
operations, whose results moto already builds as plain dicts in wire names; anything else (errors, objects,
unexpected keys, response transformers) takes moto's own serializer. `method_names` caches moto's per-request
`inspect.getmembers` of the handler class.

`InProcessTransport`: every SDK call of this process to the emulator crossed loopback HTTP, and moto's werkzeug
server closes each connection after one answer ("Connection: close"), so each call paid a TCP connect, a new
server thread, HTTP writing and parsing on both sides (~1 ms of CPU of ~3 ms for a small GetItem). botocore still
builds, signs and serialises every request and parses every answer exactly as on the wire; only the socket is
replaced: the request is handed to the emulator's WSGI application (the same middleware chain the server runs,
durability journal included) in the calling thread, with the environ werkzeug's server would have built.
Presigned URLs (browsers, the journey's uploads) still go over HTTP to the server.

DynamoDB item model (`MODEL_PATCHES`; `uninstall_model_patches` restores moto's): after the serializer, the
journeys' profile put moto's item model first, the Query on a GSI above all. For each of them the fast path
builds the same values moto builds, and hands anything it does not know to moto's own method.
- `item_project` (`Item.project`, which `SecondaryIndex.project` calls for KEYS_ONLY and INCLUDE indexes): moto
  converted the WHOLE item to Python values (`to_regular_json`, boto3's TypeDeserializer) once per projected name,
  picked the name, and serialised the result back (9 whole conversions per item for an INCLUDE of 9 names). The
  projected Item is built from `item.attrs`, with what that round trip does to values (numbers normalised by
  boto3's decimal context, binaries decoded, sets in a Python set's order); an item holding a value the round
  trip cannot convert takes moto's path, which fails as before. Nested paths and list indexes take moto's path.
- `table_query` (`Table.query`): on a KEYS_ONLY or INCLUDE index, the deep copy of each matching item made before
  the projection is a shell (keys copied, attributes shared and only read by the projection, which builds new
  values): no answer shares a value with the stored item. ALL and table queries copy whole items as before.
- `transact_write_items`: moto backs up each table a transaction writes by a deep copy of the whole table, once
  per operation. The backup now holds the very items (and keys) no operation names by hash key: a transaction
  changes only the items at its keys, in place or by replacing them in the live table's dicts.
- `DynamoType.to_regular_json` (every map and list in every answer): no deep copy at each level of nesting;
  `DynamoType.size`, `Item.size`: computed without re-wrapping every member in a new DynamoType;
  `Item.__init__`: the 405,000-byte size check as a running total (moto re-measures every attribute at each
  insert); `DynamoType.cast_value`, `==`, `!=`: strings and numbers first (every Query compares and sorts every
  item of the table on them); `DynamoType.__deepcopy__`, `Item.__deepcopy__`: the same copies by direct calls.
- `item_untracked` (`Item.__new__`): moto's BaseModel appends every instance it creates to a class-level list for
  its dashboard (`/moto-api/data.json`), never released; for DynamoDB items that is every copy made for every
  answer (~1,100 per permit, ~1.3 MB of RSS per permit in a long-lived `silastri up`). Items are not tracked (the
  tables are read through the API; nothing here reads the dashboard).
Micro-benchmark (LocalAws in process, all other patches on; 2,000 items of ~2.6 KB with maps, lists and a set;
a GSI with an INCLUDE projection of 9 attributes; CPU ms per SDK call, best of 5 batches), moto's model -> fast:
Query on the GSI answering 10 items 45 -> 6.5; Query on the table 7.4 -> 4.2; TransactWriteItems (an update and
a put) 770 -> 25; PutItem 2.45 -> 2.15; UpdateItem 3.7 -> 3.4; GetItem 1.7 -> 1.7. With 100 items: Query on the
GSI (1 item) 5.1 -> 1.6; TransactWriteItems 27.6 -> 4.4.

Every patch here is installed by `moto_server.install_patches` and pinned by tests/contract/test_moto_speed.py,
which checks the fast answers against moto's own (its serializer, its item model)."""

from __future__ import annotations

import base64
import copy
import functools
import io
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from decimal import Decimal
from email.utils import formatdate
from enum import Enum
from typing import Any
from urllib.parse import unquote, urlsplit

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer

log = logging.getLogger(__name__)

#: DynamoDB operations whose results are plain dicts in wire names (moto's `DynamoResult`/`ActionResult`);
#: DeleteItem is not one of them (its answer carries a key outside the shape, which moto's serializer drops)
FAST_OPERATIONS = frozenset({
    "GetItem", "PutItem", "UpdateItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem", "TransactGetItems",
    "TransactWriteItems",
})

_ORIGINALS: dict[str, Any] = {}
#: when set, every fast answer is compared with moto's own: "<operation>: same" or the difference is appended
verify_against_moto: list[str] | None = None


class _Fallback(Exception):
    """The value is not what the fast path knows how to write: moto's serializer answers instead."""


def _structure_members(shape: Any) -> tuple[frozenset[str], tuple[tuple[str, str, Any], ...]]:
    cached = getattr(shape, "_silastri_members", None)
    if cached is None:
        members = tuple((name, member.serialization.get("name", name), member)
                        for name, member in shape.members.items())
        cached = (frozenset(shape.members), members)
        shape._silastri_members = cached
    return cached  # type: ignore[no-any-return]


#: AttributeValue members whose wire value is the stored value itself (strings and booleans)
_PLAIN_ATTRIBUTE_KINDS = frozenset({"S", "N", "BOOL", "NULL"})


def _encode_attribute_value(value: Any, shape: Any) -> Any:
    """A DynamoDB AttributeValue ({"S": "x"}, {"M": {...}}, ...) as moto writes it; strings, numbers and booleans
    pass as they are, maps and lists recursively, anything else through the general `_encode`."""
    if type(value) is dict and len(value) == 1:
        (kind, item), = value.items()
        if kind in _PLAIN_ATTRIBUTE_KINDS and type(item) in (str, bool):
            return value
        if kind == "M" and type(item) is dict:
            return {"M": {key: _encode_attribute_value(member, shape) for key, member in item.items()
                          if member is not None or _fallback()}}
        if kind == "L" and type(item) is list:
            return {"L": [_encode_attribute_value(member, shape) if member is not None else _fallback()
                          for member in item]}
    return _encode(value, shape, plain=True)


def _fallback() -> Any:
    raise _Fallback


def _encode(value: Any, shape: Any, plain: bool = False) -> Any:
    """`value` written as moto's JSON serializer writes a member of `shape` (raises _Fallback when unsure)."""
    kind = shape.type_name
    if kind == "structure" and not plain and shape.name == "AttributeValue":
        return _encode_attribute_value(value, shape)
    if kind == "structure":
        if type(value) is not dict or getattr(shape, "is_document_type", False):
            raise _Fallback
        names, members = _structure_members(shape)
        if not value.keys() <= names:  # moto would look for aliases of the missing members among the others
            raise _Fallback
        out = {}
        for name, wire_name, member in members:
            item = value.get(name)
            if item is not None:
                out[wire_name] = _encode(item, member)
        return out
    if kind == "string":
        if type(value) is str:
            return value
        if isinstance(value, Enum):
            value = value.value
        return str(value) if value not in [None, {}, []] else value
    if kind == "map":
        if type(value) is not dict:
            raise _Fallback
        value_shape = shape.value
        out = {}
        for key, item in value.items():
            if item is None:
                raise _Fallback
            out[key] = _encode(item, value_shape)
        return out
    if kind == "list":
        if type(value) is not list:
            raise _Fallback
        member = shape.member
        items = []
        for item in value:
            if item is None:
                raise _Fallback
            items.append(_encode(item, member))
        return items
    if kind == "boolean":
        return value
    if kind in ("integer", "long"):
        return int(value)
    if kind in ("float", "double"):
        return float(value)
    if kind == "blob":
        if isinstance(value, str):
            value = value.encode("utf-8")
        return base64.b64encode(value).strip().decode("utf-8")
    if kind == "timestamp":
        from moto.core.serialize import TimestampSerializer

        wrapper: dict[str, Any] = {}
        TimestampSerializer(TimestampSerializer.TIMESTAMP_FORMAT_UNIX).serialize(wrapper, value, shape, "t")
        return wrapper["t"]
    raise _Fallback


def dynamodb_serialized(self: Any, action_result: Any) -> tuple[int, dict[str, str], str]:
    """`BaseResponse.serialized` for moto's DynamoHandler: the data-plane answers written from the output shape."""
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoResult

    original: Callable[..., tuple[int, dict[str, str], str]] = _ORIGINALS["dynamodb_serialized"]
    result = action_result.result
    if (type(action_result) not in (ActionResult, DynamoResult) or type(result) is not dict
            or getattr(self, "RESPONSE_KEY_PATH_TO_TRANSFORMER", None)):
        return original(self, action_result)
    from moto.core.utils import get_service_model

    service_model = get_service_model(self.boto3_service_name)
    operation = self._get_action()
    if operation not in FAST_OPERATIONS or self.determine_response_protocol(service_model) != "json":
        return original(self, action_result)
    operation_model = service_model.operation_model(operation)
    try:
        body = json.dumps(_encode(result, operation_model.output_shape))
    except _Fallback:
        return original(self, action_result)
    status = int(operation_model.http.get("responseCode", 200))
    headers = {"Content-Type": f"application/x-amz-json-{service_model.metadata.get('jsonVersion', '1.0')}"}
    headers.update(self.response_headers)
    if verify_against_moto is not None:
        expected = original(self, action_result)
        same = (expected[0], expected[1], json.loads(expected[2])) == (status, headers, json.loads(body))
        verify_against_moto.append(f"{operation}: same" if same else
                                   f"{operation}: moto {expected!r} != fast {(status, headers, body)!r}")
    return status, headers, body


@functools.cache
def _method_names(clazz: type) -> list[str]:
    return list(_ORIGINALS["method_names_from_class"](clazz))


def method_names(clazz: Any) -> list[str]:
    """moto's `method_names_from_class` (an `inspect.getmembers` of the handler class on every request), once per
    class: handler classes do not change while the emulator runs."""
    return _method_names(clazz) if isinstance(clazz, type) else list(_ORIGINALS["method_names_from_class"](clazz))


def _copy_node(node: Any, memo: dict[int, Any]) -> Any:
    """`copy.deepcopy` of a node of moto's DynamoDB expression AST (plain objects: no slots, no copy hooks)."""
    found = memo.get(id(node))
    if found is not None:
        return found
    new = object.__new__(type(node))
    memo[id(node)] = new
    state = new.__dict__
    for key, value in node.__dict__.items():
        state[key] = _copy_value(value, memo)
    return new


def _copy_value(value: Any, memo: dict[int, Any]) -> Any:
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if isinstance(value, _NODE_TYPES):
        return _copy_node(value, memo)
    if kind is list:
        found = memo.get(id(value))
        if found is None:
            found = memo[id(value)] = []
            found.extend(_copy_value(item, memo) for item in value)
        return found
    return copy.deepcopy(value, memo)


_ATOMIC = frozenset({str, int, float, bool, type(None), bytes})
_NODE_TYPES: tuple[type, ...] = ()


def ast_deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """`copy.deepcopy` for moto's DynamoDB validators: the same copy of an expression's AST, built directly rather
    than through `__reduce_ex__` for every node (moto copies each UpdateItem's AST before validating it: ~10% of
    the local stack's CPU with the generic copy). Anything else goes to `copy.deepcopy`."""
    memo = {} if memo is None else memo
    if isinstance(value, _NODE_TYPES):
        return _copy_node(value, memo)
    return copy.deepcopy(value, memo)


# --------------------------------------------------------------------------- DynamoDB items


#: moto's item size limit (`LimitedSizeDict.__setitem__`: "between 409 and 410KB" measured on AWS, 405,000 kept)
ITEM_SIZE_LIMIT = 405000
_SET_KINDS = frozenset({"SS", "NS", "BS"})
_DESERIALIZER = TypeDeserializer()
_SERIALIZER = TypeSerializer()
_ATOMIC_LEAVES = frozenset({str, bytes, bool, int, float, type(None), Decimal})


@functools.cache
def _models() -> tuple[Any, Any]:
    """moto's `DynamoType` and `Item` classes (imported once: the fast paths run for every attribute)."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    return DynamoType, Item


def _regular_json(node: Any, dynamo_type: Any) -> dict[str, Any]:
    """`DynamoType.to_regular_json` built directly (raises _Fallback on a value moto's types never hold)."""
    value = node.value
    kind = type(value)
    if kind is list:
        value = [_regular_json(member, dynamo_type) if type(member) is dynamo_type
                 else member if type(member) in _ATOMIC_LEAVES else _fallback() for member in value]
    elif kind is dict:
        value = {key: _regular_json(member, dynamo_type) if type(member) is dynamo_type else _fallback()
                 for key, member in value.items()}
    elif kind not in _ATOMIC_LEAVES:
        raise _Fallback
    elif kind is str and node.type == "B":
        value = base64.b64decode(value)
    return {node.type: value}


def dynamo_type_to_regular_json(self: Any) -> dict[str, Any]:
    """moto's `DynamoType.to_regular_json` (the value as wire JSON, nested binaries decoded) without its
    `copy.deepcopy` of the value at every level of nesting (each level copied the whole subtree again)."""
    DynamoType, _ = _models()
    if type(self) is DynamoType:
        try:
            return _regular_json(self, DynamoType)
        except _Fallback:
            pass
    return _ORIGINALS["dynamo_type_to_regular_json"](self)  # type: ignore[no-any-return]


def _size(node: Any, dynamo_type: Any) -> int:
    """`DynamoType.size` computed directly (the original wraps every map member in a new DynamoType, which
    re-wraps every list member below it)."""
    kind = node.type
    value = node.value
    if kind == "N":
        return len(str(value))
    if kind in _SET_KINDS:
        if kind == "NS":
            return sum(len(str(member)) for member in value)
        return sum(1 if isinstance(member, bool) else _bytesize(member) for member in value)
    if kind == "L":
        return sum(_size(member, dynamo_type) if type(member) is dynamo_type else member.size() for member in value)
    if kind == "M":
        return sum(_bytesize(key) + (_size(member, dynamo_type) if type(member) is dynamo_type
                                     else dynamo_type(member).size()) for key, member in value.items())
    if isinstance(value, bool):
        return 1
    return _bytesize(value)


def _bytesize(value: Any) -> int:
    return len(value if isinstance(value, bytes) else value.encode("utf-8"))


def dynamo_type_size(self: Any) -> int:
    """moto's `DynamoType.size` (the bytes an attribute value counts for), same figures."""
    DynamoType, _ = _models()
    if type(self) is not DynamoType:
        return _ORIGINALS["dynamo_type_size"](self)  # type: ignore[no-any-return]
    return _size(self, DynamoType)


def _new_dynamo_type(dynamo_type: Any, kind: str, value: Any) -> Any:
    node = object.__new__(dynamo_type)
    node.type = kind
    node.value = value
    return node


def _projected(node: Any, dynamo_type: Any) -> Any:
    """What moto's `Item.project` makes of one attribute value: the DynamoType of
    `TypeSerializer().serialize(TypeDeserializer().deserialize(node.to_regular_json()))` — numbers normalised by
    boto3's decimal context ("1e2" -> "1E+2"), nested binaries decoded, sets in the order of a Python set of their
    members — built directly (raises _Fallback when unsure: moto's own round trip then answers)."""
    kind = node.type
    value = node.value
    kind_of_value = type(value)
    if kind == "S" and kind_of_value is str:
        return _new_dynamo_type(dynamo_type, "S", value)
    if kind == "N" and kind_of_value is str:
        return _new_dynamo_type(dynamo_type, "N", _normalised_number(value))
    if kind == "BOOL" and kind_of_value is bool:
        return _new_dynamo_type(dynamo_type, "BOOL", value)
    if kind == "NULL" and kind_of_value is bool:
        return _new_dynamo_type(dynamo_type, "NULL", True)
    if kind == "M" and kind_of_value is dict:
        return _new_dynamo_type(dynamo_type, "M", {
            key: _projected(member, dynamo_type) if type(member) is dynamo_type else _fallback()
            for key, member in value.items()})
    if kind == "L" and kind_of_value is list:
        return _new_dynamo_type(dynamo_type, "L", [
            _projected(member, dynamo_type) if type(member) is dynamo_type else _fallback() for member in value])
    if kind == "B" and kind_of_value is bytes:
        return _new_dynamo_type(dynamo_type, "B", value)
    if kind == "B" and kind_of_value is str:
        try:
            return _new_dynamo_type(dynamo_type, "B", base64.b64decode(value))
        except ValueError:
            raise _Fallback from None
    if kind in _SET_KINDS and kind_of_value is list and value:
        if kind == "SS" and all(type(member) is str for member in value):
            return _new_dynamo_type(dynamo_type, "SS", list(set(value)))
        if kind == "NS" and all(type(member) is str for member in value):
            try:
                numbers = set(map(_DESERIALIZER._deserialize_n, value))
                return _new_dynamo_type(dynamo_type, "NS", [_SERIALIZER._serialize_n(n) for n in numbers])
            except (ArithmeticError, TypeError, ValueError):
                raise _Fallback from None
        if kind == "BS" and all(type(member) is bytes for member in value):
            return _new_dynamo_type(dynamo_type, "BS", [member.value for member in set(map(Binary, value))])
    raise _Fallback


def _normalised_number(value: str) -> str:
    """A number as boto3's deserializer then serializer write it (raises _Fallback where they would raise)."""
    try:
        return _SERIALIZER._serialize_n(_DESERIALIZER._deserialize_n(value))  # type: ignore[no-any-return]
    except (ArithmeticError, TypeError, ValueError):
        raise _Fallback from None


def _convertible(node: Any, dynamo_type: Any) -> bool:
    """Whether moto's `TypeDeserializer().deserialize(node.to_regular_json())` surely succeeds for this value
    (moto's `Item.project` converts every attribute of the item, projected or not, and fails if one fails)."""
    kind = node.type
    value = node.value
    kind_of_value = type(value)
    if kind == "S":
        return kind_of_value is str
    if kind in ("BOOL", "NULL"):
        return kind_of_value is bool
    if kind == "N":
        return kind_of_value is str and _is_number(value)
    if kind == "M":
        return kind_of_value is dict and all(type(member) is dynamo_type and _convertible(member, dynamo_type)
                                             for member in value.values())
    if kind == "L":
        return kind_of_value is list and all(type(member) is dynamo_type and _convertible(member, dynamo_type)
                                             for member in value)
    if kind == "B":
        if kind_of_value is str:
            try:
                base64.b64decode(value)
            except ValueError:
                return False
            return True
        return kind_of_value is bytes
    if kind_of_value is not list:
        return False
    if kind == "SS":
        return all(type(member) is str for member in value)
    if kind == "NS":
        return all(type(member) is str and _is_number(member) for member in value)
    if kind == "BS":
        return all(type(member) is bytes for member in value)
    return False


def _is_number(value: str) -> bool:
    try:
        _DESERIALIZER._deserialize_n(value)
    except (ArithmeticError, TypeError, ValueError):
        return False
    return True


def _top_level_names(projection_expressions: list[list[str]]) -> list[str] | None:
    """The attribute names of a projection made only of top-level names (no nesting, no list index), each once
    in its first place; None otherwise."""
    names: dict[str, None] = {}
    for path in projection_expressions:
        if len(path) != 1 or type(path[0]) is not str or "[" in path[0]:
            return None
        names[path[0]] = None
    return list(names)


def item_project(self: Any, projection_expressions: list[list[str]]) -> Any:
    """moto's `Item.project` for projections of top-level attributes (every index projection: KEYS_ONLY and
    INCLUDE go through here; ProjectionExpressions of plain names): the projected Item built from `self.attrs`.
    The original converts the WHOLE item to Python values once per projected name (`to_regular_json`, boto3's
    TypeDeserializer), picks the name, merges, and serialises the result back; the answer is the same (attribute
    order of the projection, numbers normalised as boto3 writes them, sets in the order moto's round trip gives,
    ItemSizeTooLarge past moto's limit). Nested paths, list indexes and any value moto's round trip would choke
    on take moto's own path."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge

    DynamoType, Item = _models()
    original: Callable[..., Any] = _ORIGINALS["item_project"]
    names = _top_level_names(projection_expressions)
    if names is None or type(self) is not Item:
        return original(self, projection_expressions)
    attrs = self.attrs
    wanted = set(names)
    try:
        if not all(type(value) is DynamoType and (key in wanted or _convertible(value, DynamoType))
                   for key, value in attrs.items()):
            raise _Fallback
        projected = [(name, _projected(attrs[name], DynamoType)) for name in names if name in attrs]
    except _Fallback:
        return original(self, projection_expressions)
    item = Item(hash_key=self.hash_key, range_key=self.range_key, attrs={})
    total = 0
    for name, value in projected:  # moto's LimitedSizeDict check at each insert, as a running total
        total += _bytesize(name) + value.size()
        if total > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(item.attrs, name, value)
    return item


def _cast_value(self: Any) -> Any:
    """moto's `DynamoType.cast_value` (the Python value compared, sorted and hashed on), strings and numbers
    first: every Query compares and sorts on it for each item of the table (a Query on a table of 2,000 items:
    7.4 -> 4.2 ms of CPU with this and `==`/`!=`)."""
    kind = self.type
    if kind == "S":
        return self.value
    if kind == "N":
        return Decimal(self.value)
    return _ORIGINALS["dynamo_type_cast_value"].fget(self)


def dynamo_type_eq(self: Any, other: Any) -> bool:
    """moto's `DynamoType.__eq__`: same type and same `cast_value`."""
    return self.type == other.type and _cast_value(self) == other.cast_value  # type: ignore[no-any-return]


def dynamo_type_ne(self: Any, other: Any) -> bool:
    """moto's `DynamoType.__ne__`: another type or another `cast_value`."""
    return self.type != other.type or _cast_value(self) != other.cast_value  # type: ignore[no-any-return]


def _copy_dynamo_type(node: Any, memo: dict[int, Any], dynamo_type: Any) -> Any:
    """moto's `DynamoType.__deepcopy__` with its members copied by direct calls rather than through
    `copy.deepcopy` (same memo: a value met twice is copied once, as before)."""
    result = object.__new__(dynamo_type)
    memo[id(node)] = result
    kind = result.type = node.type
    value = node.value
    if kind == "L":
        result.value = [_copy_member(member, memo, dynamo_type) for member in value]
    elif kind == "M":
        result.value = {key: _copy_member(member, memo, dynamo_type) for key, member in value.items()}
    elif kind in _SET_KINDS:
        result.value = list(value)
    else:
        result.value = value
    return result


def _copy_member(member: Any, memo: dict[int, Any], dynamo_type: Any) -> Any:
    if type(member) is dynamo_type:
        found = memo.get(id(member))
        return found if found is not None else _copy_dynamo_type(member, memo, dynamo_type)
    return copy.deepcopy(member, memo)


def dynamo_type_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    """moto's `DynamoType.__deepcopy__` (attribute values are copied whole for every Query result and every
    update), the same copy built with fewer calls."""
    DynamoType, _ = _models()
    found = memo.get(id(self))
    if found is not None:
        return found
    if type(self) is not DynamoType:
        return _ORIGINALS["dynamo_type_deepcopy"](self, memo)
    sharing = getattr(_SHARING, "items", None)
    if sharing and id(self) in sharing:
        return self  # a key of an item a transaction does not touch, in its backup
    return _copy_dynamo_type(self, memo, DynamoType)


def item_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
    """moto's `Item.__deepcopy__` (keys and attributes copied, the attributes' size check skipped as moto skips
    it), with the attribute values copied by direct calls."""
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    found = memo.get(id(self))
    if found is not None:
        return found
    DynamoType, Item = _models()
    if self.__class__ is not Item:
        return _ORIGINALS["item_deepcopy"](self, memo)
    sharing = getattr(_SHARING, "items", None)
    if sharing is not None and id(self) in sharing:
        return self  # an item a transaction does not touch, in its backup (see `transact_write_items`)
    result = Item.__new__(Item)  # (moto's BaseModel.__new__ tracks every instance: kept as it is)
    memo[id(self)] = result
    result.hash_key = _copy_member(self.hash_key, memo, DynamoType)
    result.range_key = _copy_member(self.range_key, memo, DynamoType)
    if sharing is _PROJECTING:
        result.attrs = self.attrs  # only read, by the index's projection (see `table_query`)
        return result
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.__init__(attrs)
    for key, value in self.attrs.items():
        dict.__setitem__(attrs, key, _copy_member(value, memo, DynamoType))
    result.attrs = attrs
    return result


def item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    """moto's `Item.__init__` with the item size checked as a running total: `LimitedSizeDict.__setitem__`
    re-measures every attribute already set at each insert (quadratic in the attribute count); a fresh item's
    running total is the same figure, so ItemSizeTooLarge is raised at the same attribute."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import LimitedSizeDict

    DynamoType, Item = _models()
    if type(self) is not Item or not all(type(key) is str for key in attrs):
        _ORIGINALS["item_init"](self, hash_key, range_key, attrs)
        return
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        value = DynamoType(value)
        total += _bytesize(key) + value.size()
        if total > ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, value)


class _Projecting(frozenset[int]):
    """The marker of a Query on a KEYS_ONLY or INCLUDE index (no item is shared whole: see `item_deepcopy`)."""


_PROJECTING = _Projecting()
#: per thread: `items` — None, `_PROJECTING`, or the ids of the items a transaction's backup may share
_SHARING = threading.local()


def _projects(index: Any) -> bool:
    """Whether moto's `SecondaryIndex.project` makes a new Item (KEYS_ONLY, INCLUDE) rather than returning the
    item it is given (ALL, or no projection)."""
    projection = index.projection
    return bool(projection) and projection.get("ProjectionType", None) in ("KEYS_ONLY", "INCLUDE")


def table_query(self: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's `Table.query`, which deep-copies every matching item whole before `SecondaryIndex.project` builds a
    new item of the projected attributes from the copy: on a KEYS_ONLY or INCLUDE index the copy is a shell
    (keys copied, attributes shared, only read by the projection), so that the whole item is not copied for
    nothing. The projection still builds its own values: no answer shares anything with the stored item."""
    index_name = args[_QUERY_INDEX_NAME] if len(args) > _QUERY_INDEX_NAME else kwargs.get("index_name")
    index = next((i for i in self.all_indexes() if i.name == index_name), None) if index_name else None
    if index is None or not _projects(index) or getattr(_SHARING, "items", None) is not None:
        return _ORIGINALS["table_query"](self, *args, **kwargs)
    _SHARING.items = _PROJECTING
    try:
        return _ORIGINALS["table_query"](self, *args, **kwargs)
    finally:
        _SHARING.items = None


#: where `Table.query` takes `index_name` among its positional arguments after self (checked at install)
_QUERY_INDEX_NAME = 7


def _untouched_items(backend: Any, transact_items: list[dict[str, Any]]) -> set[int] | None:
    """The ids of the stored items of the transaction's tables whose hash key no operation names, and of their
    keys in the tables' dicts (None when an operation is not understood: every item is then copied, as moto
    does)."""
    DynamoType, _ = _models()
    named: dict[str, set[Any]] = {}
    try:
        for entry in transact_items:
            for op_type, op in entry.items():
                table = backend.tables.get(op.get("TableName"))
                if table is None:
                    continue
                key = op["Item"] if op_type == "Put" else op["Key"]
                named.setdefault(table.name, set()).add(DynamoType(key[table.hash_key_attr]))
    except Exception:  # noqa: BLE001 - moto's own transaction reports what is wrong with it
        return None
    untouched: set[int] = set()
    for name, hash_keys in named.items():
        table = backend.tables[name]
        for hash_key, stored in table.items.items():
            if hash_key in hash_keys:
                continue
            untouched.add(id(hash_key))  # keys are never changed in place (they are dict keys)
            if table.range_key_attr:
                for range_key, item in stored.items():
                    untouched.add(id(range_key))
                    untouched.add(id(item))
            else:
                untouched.add(id(stored))
    return untouched


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
    """moto's `DynamoDBBackend.transact_write_items`, which backs up each table it writes by a deep copy of the
    whole table (once per operation) to restore it if the transaction is cancelled: ~380 ms of CPU per copy of a
    table of 2,000 items of ~2.6 KB. The items no operation names (by hash key) are not changed by the transaction,
    neither in place nor replaced (puts, updates and deletes change only the item at their key, and the
    backup's dicts are copies): the backup holds those same items, the others are copied as before."""
    if getattr(_SHARING, "items", None) is not None:
        return _ORIGINALS["transact_write_items"](self, transact_items)
    _SHARING.items = _untouched_items(self, transact_items)
    try:
        return _ORIGINALS["transact_write_items"](self, transact_items)
    finally:
        _SHARING.items = None


def item_size(self: Any) -> int:
    """moto's `Item.size` (names and values, in bytes), same figure."""
    DynamoType, Item = _models()
    if type(self) is not Item:
        return _ORIGINALS["item_size"](self)  # type: ignore[no-any-return]
    return sum(_bytesize(key) + (_size(value, DynamoType) if type(value) is DynamoType else value.size())
               for key, value in self.attrs.items())


# --------------------------------------------------------------------------- Step Functions


_PARSE_TREES: dict[str, Any] = {}
_PARSE_LOCK = threading.Lock()


def parse_asl(definition: str) -> tuple[Any, Any]:
    """moto's `AmazonStateLanguageParser.parse` with the ANTLR parse tree of each definition kept: every execution
    re-lexed and re-parsed the whole definition (~85 ms of CPU per run here). The tree is only read afterwards;
    the evaluation components, which hold each run's state (retry counters...), are still built fresh for every
    call by moto's Preprocessor. A definition with syntax errors is not kept (moto raises as before)."""
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    tree = _PARSE_TREES.get(definition)
    if tree is None:
        program, tree = _ORIGINALS["asl_parse"](definition)
        with _PARSE_LOCK:
            if len(_PARSE_TREES) > 64:  # state machines are few; keep the cache bounded anyway
                _PARSE_TREES.clear()
            _PARSE_TREES[definition] = tree
        return program, tree
    return Preprocessor().visit(tree), tree


# --------------------------------------------------------------------------- in-process transport

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _latin1(value: str) -> str:
    """werkzeug's `_wsgi_encoding_dance`: a str as WSGI carries it (UTF-8 bytes read as Latin-1)."""
    return value.encode("utf-8").decode("latin-1")


class InProcessTransport:
    """Answers botocore requests addressed to registered `host:port`s by calling a WSGI app in this thread.

    Installed process-wide over `botocore.httpsession.URLLib3Session.send` (every botocore client's sender: boto3,
    pynamodb, moto's Step Functions interpreter); a request to any other address goes over the network as before."""

    def __init__(self) -> None:
        self._routes: dict[str, tuple[WSGIApp, str, str]] = {}
        self._lock = threading.Lock()

    def register(self, netloc: str, app: WSGIApp, server_name: str, server_port: int) -> None:
        with self._lock:
            self._routes = {**self._routes, netloc: (app, server_name, str(server_port))}

    def unregister(self, app: WSGIApp) -> None:
        with self._lock:
            self._routes = {k: v for k, v in self._routes.items() if v[0] is not app}

    def route(self, url: str) -> tuple[WSGIApp, str, str] | None:
        if not self._routes:
            return None
        return self._routes.get(urlsplit(url).netloc)

    def send(self, request: Any, target: tuple[WSGIApp, str, str]) -> Any:
        """Answer a botocore `AWSPreparedRequest` with the app: a botocore `AWSResponse`."""
        from botocore.awsrequest import AWSResponse
        from moto.core.botocore_stubber import MockRawResponse
        from moto.core.request import (
            PRESERVED_HEADER_NAMES_ENVIRON_KEY,
            environ_key_for_header,
            should_preserve_original_header_name,
        )
        from urllib3 import HTTPHeaderDict

        app, server_name, server_port = target
        url = urlsplit(request.url)
        body = request.body
        if body is None:
            body = b""
        elif hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode("utf-8")
        target_path = url.path or "/"
        raw_uri = target_path + (f"?{url.query}" if url.query else "")
        environ: dict[str, Any] = {
            "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False, "SERVER_SOFTWARE": "silastri-in-process", "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "", "PATH_INFO": _latin1(unquote(target_path)), "QUERY_STRING": _latin1(url.query),
            "REQUEST_URI": _latin1(raw_uri), "RAW_URI": _latin1(raw_uri), "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": 0, "SERVER_NAME": server_name, "SERVER_PORT": server_port, "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": url.netloc,
        }
        names: dict[str, str] = {}
        chunked = False
        for name, value in request.headers.items():
            if isinstance(value, bytes):
                value = value.decode("latin-1")
            value = value.replace("\r\n", "")
            if name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            if "_" in name:  # werkzeug drops these; moto keeps S3 metadata names with underscores
                if should_preserve_original_header_name(name):
                    key = environ_key_for_header(name)
                    names.setdefault(key, name)
                    environ[key] = f"{environ[key]},{value}" if key in environ else value
                continue
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = f"HTTP_{key}"
                if key in environ and key != "HTTP_HOST":
                    value = f"{environ[key]},{value}"
            environ[key] = value
        environ.setdefault("HTTP_ACCEPT_ENCODING", "identity")  # what http.client adds
        if chunked:
            environ["wsgi.input_terminated"] = True
        elif body and "CONTENT_LENGTH" not in environ:
            environ["CONTENT_LENGTH"] = str(len(body))
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = names
        status, headers, payload = _run(app, environ)
        code = int(status.split(None, 1)[0])
        if request.method == "HEAD" or 100 <= code < 200 or code in (204, 304):
            payload = b""
        response_headers = HTTPHeaderDict()
        for key, value in headers:
            response_headers.add(key, value)
        if "date" not in response_headers:
            response_headers["Date"] = formatdate(usegmt=True)  # as the server adds it
        return AWSResponse(request.url, code, response_headers, MockRawResponse(payload))


def _run(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI app to completion as werkzeug's server does: (status line, headers, body); an exception before
    the answer started becomes werkzeug's 500 (logged)."""
    from werkzeug.exceptions import InternalServerError

    from .durability import _call

    try:
        return _call(app, environ)
    except Exception:
        log.exception("Error on request %s %s", environ.get("REQUEST_METHOD"), environ.get("RAW_URI"))
        return _call(InternalServerError(), environ)


TRANSPORT = InProcessTransport()


def _send(self: Any, request: Any) -> Any:
    """`URLLib3Session.send`, answering requests to a registered emulator in this process."""
    target = TRANSPORT.route(request.url)
    if target is None:
        return _ORIGINALS["urllib3_send"](self, request)
    return TRANSPORT.send(request, target)


# --------------------------------------------------------------------------- install


def install() -> None:
    """Install the fast paths (idempotent; call under moto_server's patch lock)."""
    from botocore.httpsession import URLLib3Session
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    if "urllib3_send" not in _ORIGINALS:
        _ORIGINALS["urllib3_send"] = URLLib3Session.send
        URLLib3Session.send = _send  # type: ignore[method-assign]

    if "dynamodb_serialized" not in _ORIGINALS:
        _ORIGINALS["dynamodb_serialized"] = DynamoHandler.serialized
        DynamoHandler.serialized = dynamodb_serialized  # type: ignore[method-assign]
    if "method_names_from_class" not in _ORIGINALS:
        _ORIGINALS["method_names_from_class"] = responses.method_names_from_class
        responses.method_names_from_class = method_names  # type: ignore[assignment]
    if "asl_parse" not in _ORIGINALS:
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

        _ORIGINALS["asl_parse"] = AmazonStateLanguageParser.parse
        AmazonStateLanguageParser.parse = staticmethod(parse_asl)  # type: ignore[method-assign]
    if "validators_deepcopy" not in _ORIGINALS:
        global _NODE_TYPES
        from moto.dynamodb.parsing import ast_nodes, validators

        _NODE_TYPES = (ast_nodes.Node,)  # type: ignore[attr-defined]
        _ORIGINALS["validators_deepcopy"] = validators.deepcopy
        validators.deepcopy = ast_deepcopy  # type: ignore[assignment]
    install_model_patches()


def _model_patches() -> dict[str, tuple[type, str, Any]]:
    """The fast paths over moto's DynamoDB item model: `_ORIGINALS` key -> (class, method name, replacement)."""
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.models.table import Table

    return {
        "dynamo_type_to_regular_json": (DynamoType, "to_regular_json", dynamo_type_to_regular_json),
        "dynamo_type_size": (DynamoType, "size", dynamo_type_size),
        "dynamo_type_deepcopy": (DynamoType, "__deepcopy__", dynamo_type_deepcopy),
        "item_project": (Item, "project", item_project),
        "dynamo_type_cast_value": (DynamoType, "cast_value", property(_cast_value)),
        "dynamo_type_eq": (DynamoType, "__eq__", dynamo_type_eq),
        "dynamo_type_ne": (DynamoType, "__ne__", dynamo_type_ne),
        "item_deepcopy": (Item, "__deepcopy__", item_deepcopy),
        "item_size": (Item, "size", item_size),
        "item_init": (Item, "__init__", item_init),
        "table_query": (Table, "query", table_query),
        "transact_write_items": (DynamoDBBackend, "transact_write_items", transact_write_items),
    }


#: the DynamoDB model fast paths, by `_ORIGINALS` key (see `_model_patches`)
MODEL_PATCHES = ("dynamo_type_to_regular_json", "dynamo_type_size", "dynamo_type_deepcopy", "item_project",
                 "dynamo_type_cast_value", "dynamo_type_eq", "dynamo_type_ne", "item_deepcopy", "item_size",
                 "item_init", "table_query", "transact_write_items", "item_untracked")


def _untracked_item(cls: type, *args: Any, **kwargs: Any) -> Any:
    """moto's `BaseModel.__new__` for DynamoDB items, without keeping the instance in `instances_tracked`."""
    return object.__new__(cls)


def install_model_patches() -> None:
    import inspect

    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    if "item_untracked" not in _ORIGINALS and "__new__" not in vars(Item):
        _ORIGINALS["item_untracked"] = True
        Item.__new__ = _untracked_item  # type: ignore[method-assign,assignment]

    patches = _model_patches()
    if list(inspect.signature(_ORIGINALS.get("table_query", Table.query)).parameters)[_QUERY_INDEX_NAME + 1] != "index_name":
        del patches["table_query"]  # another moto: its Query stays as it is
    for key, (owner, name, replacement) in patches.items():
        if key not in _ORIGINALS:
            _ORIGINALS[key] = vars(owner)[name]
            setattr(owner, name, replacement)


def uninstall_model_patches(keys: Iterable[str] = MODEL_PATCHES) -> None:
    """Restore moto's own DynamoDB item model methods (all, or those named by their `MODEL_PATCHES` key: the
    contract tests compare the answers of both)."""
    patches = _model_patches()
    for key in keys:
        if key in _ORIGINALS and key in patches:
            owner, name, _ = patches[key]
            setattr(owner, name, _ORIGINALS.pop(key))
    if "item_untracked" in keys and _ORIGINALS.pop("item_untracked", None):
        from moto.dynamodb.models.dynamo_type import Item

        del Item.__new__  # BaseModel's again


def uninstall() -> None:
    """Restore moto's own paths."""
    from botocore.httpsession import URLLib3Session
    from moto.core import responses
    from moto.dynamodb.responses import DynamoHandler

    uninstall_model_patches()
    if "urllib3_send" in _ORIGINALS:
        URLLib3Session.send = _ORIGINALS.pop("urllib3_send")  # type: ignore[method-assign]

    if "dynamodb_serialized" in _ORIGINALS:
        original = _ORIGINALS.pop("dynamodb_serialized")
        if "serialized" in vars(DynamoHandler) and DynamoHandler.serialized is dynamodb_serialized:
            del DynamoHandler.serialized  # the class inherited it from BaseResponse
        if DynamoHandler.serialized is not original:
            DynamoHandler.serialized = original  # type: ignore[method-assign]
    if "method_names_from_class" in _ORIGINALS:
        responses.method_names_from_class = _ORIGINALS.pop("method_names_from_class")
        _method_names.cache_clear()
    if "asl_parse" in _ORIGINALS:
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

        AmazonStateLanguageParser.parse = staticmethod(_ORIGINALS.pop("asl_parse"))  # type: ignore[method-assign]
        _PARSE_TREES.clear()
    if "validators_deepcopy" in _ORIGINALS:
        from moto.dynamodb.parsing import validators

        validators.deepcopy = _ORIGINALS.pop("validators_deepcopy")
