"""Pins the local runtime's fast paths through moto (`silastri_local.moto_speed`): each gives the answer moto's own
path gives — DynamoDB answers written from the output shape equal moto's serializer's, SDK calls answered in
process equal the same calls over HTTP, the expression AST copy equals `copy.deepcopy`, and cached ASL parse trees
still give each run fresh evaluation components."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from silastri_local import moto_speed
from silastri_local.moto_server import LocalAws

pytestmark = pytest.mark.xdist_group("moto_contract")

REGION = "ap-southeast-3"


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws() as running:
        yield running


def _client(aws: LocalAws, service: str) -> Any:
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")  # noqa: S106 - the emulator's fixed local credentials


ITEM = {
    "pk": {"S": "app-1"}, "sk": {"N": "1"}, "g": {"S": "office"}, "text": {"S": "Yayasan Peduli Anak"},
    "count": {"N": "12.5"}, "flag": {"BOOL": False}, "none": {"NULL": True}, "blob": {"B": b"\x00\xffbytes"},
    "blobs": {"BS": [b"a", b"\x01"]}, "names": {"SS": ["x", "y"]}, "numbers": {"NS": ["1", "2.5"]},
    "documents": {"L": [{"M": {"requirement_id": {"S": f"req-{i}"}, "size": {"N": str(i)},
                               "checked": {"BOOL": True}, "nested": {"L": [{"S": "a"}, {"NULL": True}]}}}
                        for i in range(3)]},
    "form": {"M": {"S": {"S": "a member named like a type"}, "empty": {"M": {}}, "list": {"L": []}}},
}


def test_dynamodb_answers_written_from_the_shape_equal_motos_serializer(aws: LocalAws) -> None:
    ddb = _client(aws, "dynamodb")
    ddb.create_table(
        TableName="speed", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["text"]}}])
    moto_speed.verify_against_moto = []
    try:
        key = {"pk": {"S": "app-1"}, "sk": {"N": "1"}}
        ddb.put_item(TableName="speed", Item=ITEM)
        ddb.put_item(TableName="speed", Item=ITEM, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
        for n in range(2, 6):
            ddb.put_item(TableName="speed", Item={**ITEM, "sk": {"N": str(n)}})
        ddb.get_item(TableName="speed", Key=key)
        ddb.get_item(TableName="speed", Key=key, ProjectionExpression="#d, #b",
                     ExpressionAttributeNames={"#d": "documents", "#b": "blob"}, ReturnConsumedCapacity="INDEXES")
        ddb.get_item(TableName="speed", Key={"pk": {"S": "missing"}, "sk": {"N": "1"}})
        for returns in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW", "ALL_OLD", "NONE"):
            ddb.update_item(TableName="speed", Key=key, UpdateExpression="SET #t = :t REMOVE #n ADD #c :one",
                            ExpressionAttributeNames={"#t": "text", "#c": "count", "#n": "none"},
                            ExpressionAttributeValues={":t": {"S": returns}, ":one": {"N": "1"}}, ReturnValues=returns)
        ddb.query(TableName="speed", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "app-1"}},
                  Limit=2, ReturnConsumedCapacity="TOTAL")
        ddb.query(TableName="speed", IndexName="by-g", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "office"}}, Select="COUNT")
        ddb.query(TableName="speed", IndexName="by-g", KeyConditionExpression="g = :g",
                  ExpressionAttributeValues={":g": {"S": "office"}})
        ddb.scan(TableName="speed", FilterExpression="sk > :n", ExpressionAttributeValues={":n": {"N": "3"}})
        ddb.batch_get_item(RequestItems={"speed": {"Keys": [key, {"pk": {"S": "app-1"}, "sk": {"N": "9"}}]}})
        ddb.batch_write_item(RequestItems={"speed": [{"PutRequest": {"Item": {**ITEM, "sk": {"N": "7"}}}},
                                                     {"DeleteRequest": {"Key": {"pk": {"S": "app-1"}, "sk": {"N": "5"}}}}]})
        ddb.transact_get_items(TransactItems=[{"Get": {"TableName": "speed", "Key": key}}])
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "speed", "Key": key, "UpdateExpression": "SET #t = :t",
                        "ExpressionAttributeNames": {"#t": "text"}, "ExpressionAttributeValues": {":t": {"S": "tx"}}}},
            {"Put": {"TableName": "speed", "Item": {**ITEM, "sk": {"N": "8"}}}}])
        ddb.delete_item(TableName="speed", Key={"pk": {"S": "app-1"}, "sk": {"N": "8"}}, ReturnValues="ALL_OLD")
        with pytest.raises(ClientError) as refused:  # errors keep moto's own serializer
            ddb.put_item(TableName="speed", Item=ITEM, ConditionExpression="attribute_not_exists(pk)",
                         ReturnValuesOnConditionCheckFailure="ALL_OLD")
        assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
        assert refused.value.response["Item"]["blob"] == {"B": b"\x00\xffbytes"}
        stored = ddb.get_item(TableName="speed", Key=key)["Item"]
        assert stored["blob"] == {"B": b"\x00\xffbytes"} and stored["documents"] == ITEM["documents"]
        compared = moto_speed.verify_against_moto
    finally:
        moto_speed.verify_against_moto = None
    assert [line for line in compared if not line.endswith(": same")] == []
    assert {line.split(":")[0] for line in compared} == set(moto_speed.FAST_OPERATIONS)


def _without_request_ids(response: dict[str, Any]) -> dict[str, Any]:
    cleaned = dict(response)
    cleaned.pop("ResponseMetadata", None)
    if hasattr(cleaned.get("Body"), "read"):
        cleaned["Body"] = cleaned["Body"].read()
    cleaned.pop("LastModified", None)
    return cleaned


def test_sdk_calls_answered_in_process_equal_the_same_calls_over_http(aws: LocalAws) -> None:
    s3 = _client(aws, "s3")
    s3.create_bucket(Bucket="speed-bucket", CreateBucketConfiguration={"LocationConstraint": REGION})

    def calls() -> list[Any]:
        s3.put_object(Bucket="speed-bucket", Key="dir/a b+é.pdf", Body=b"%PDF-1.4 \x00\xff",
                      ContentType="application/pdf", Metadata={"my_key": "v1", "other-key": "v2"})
        answers: list[Any] = [
            _without_request_ids(s3.get_object(Bucket="speed-bucket", Key="dir/a b+é.pdf")),
            _without_request_ids(s3.head_object(Bucket="speed-bucket", Key="dir/a b+é.pdf")),
            [o["Key"] for o in s3.list_objects_v2(Bucket="speed-bucket", Prefix="dir/")["Contents"]],
        ]
        with pytest.raises(ClientError) as missing:
            s3.get_object(Bucket="speed-bucket", Key="absent")
        answers.append((missing.value.response["Error"]["Code"],
                        missing.value.response["ResponseMetadata"]["HTTPStatusCode"]))
        return answers

    served_before = aws.requests_served_over_http()
    in_process = calls()
    assert aws.requests_served_over_http() == served_before  # no socket was used
    moto_speed.TRANSPORT.unregister(aws.app)
    try:
        over_http = calls()
    finally:
        moto_speed.TRANSPORT.register(f"127.0.0.1:{aws.port}", aws.app, aws.host, aws.port)
    assert aws.requests_served_over_http() > served_before
    assert in_process == over_http
    assert in_process[0]["Metadata"] == {"my_key": "v1", "other-key": "v2"}
    assert in_process[0]["Body"] == b"%PDF-1.4 \x00\xff"


def test_expression_ast_copy_equals_deepcopy() -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    moto_speed.install()
    ast = UpdateExpressionParser.make("SET #a = :a, #b.c[1] = list_append(#d, :e) REMOVE #f ADD #g :h DELETE #i :j")

    def shape(node: Any, seen: set[int]) -> Any:
        if id(node) in seen:
            return "<seen>"
        seen.add(id(node))
        if isinstance(node, list):
            return [shape(item, seen) for item in node]
        if hasattr(node, "__dict__"):
            return (type(node).__name__, {k: shape(v, seen) for k, v in vars(node).items()})
        return node

    fast, slow = moto_speed.ast_deepcopy(ast), copy.deepcopy(ast)
    assert shape(fast, set()) == shape(slow, set())
    assert fast is not ast and fast.children[0] is not ast.children[0] and fast.children[0].parent is fast


def test_cached_asl_parse_trees_still_give_fresh_components() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    moto_speed.install()
    definition = ('{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:ap-southeast-3:'
                  '123456789012:function:f", "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": 2}], "End": true}}}')
    first, tree = AmazonStateLanguageParser.parse(definition)
    second, same_tree = AmazonStateLanguageParser.parse(definition)
    assert same_tree is tree and second is not first  # each run gets its own components (retry counters...)


# --------------------------------------------------------------------------- DynamoDB item model fast paths

#: items with every attribute type, numbers as clients may write them (moto's projection normalises them),
#: nested binaries (moto keeps them base64 inside maps and lists), sets, empty strings and collections
RICH_ITEMS: list[dict[str, Any]] = [
    {"pk": {"S": "app-1"}, "sk": {"N": "1"}, "g": {"S": "office"}, "r": {"S": "2026-01-01"},
     "n": {"N": "1e2"}, "n2": {"N": "0.10"}, "n3": {"N": "-0"}, "big": {"N": "123456789012345678901234567890.12345678"},
     "text": {"S": ""}, "flag": {"BOOL": True}, "none": {"NULL": True}, "blob": {"B": b"\x00\xffbytes"},
     "blobs": {"BS": [b"a", b"\x01", b"zz"]}, "names": {"SS": ["x", "y", "z", "w", "v"]},
     "numbers": {"NS": ["1", "2.50", "1e1", "-3"]},
     "map": {"M": {"b": {"B": b"nested"}, "n": {"N": "5.0"}, "e": {"M": {}},
                   "l": {"L": [{"NULL": True}, {"BOOL": False}, {"SS": ["p", "q"]}, {"NS": ["7", "08"]},
                               {"BS": [b"k"]}, {"B": b"\x02"}, {"L": []}]}}},
     "list": {"L": [{"S": "a"}, {"N": "1.500"}, {"M": {"x": {"N": "2E3"}}}]}},
    {"pk": {"S": "app-2"}, "sk": {"N": "2"}, "g": {"S": "office"}, "r": {"S": "2026-01-02"}},  # projected ones missing
    {"pk": {"S": "app-3"}, "sk": {"N": "3"}, "g": {"S": "office"}, "r": {"S": "2026-01-03"}, "n": {"N": "7"},
     "names": {"SS": ["only"]}, "text": {"S": "Yayasan Peduli Anak"}, "map": {"M": {"k": {"S": "v"}}}},
    {"pk": {"S": "app-4"}, "sk": {"N": "4"}, "g": {"S": "other"}, "r": {"S": "2026-01-04"}, "n": {"N": "8"}},
]
INDEX_PROJECTIONS = {
    "keys": {"ProjectionType": "KEYS_ONLY"},
    "include": {"ProjectionType": "INCLUDE",
                "NonKeyAttributes": ["n", "n2", "n3", "big", "text", "blob", "blobs", "names", "numbers", "map",
                                     "missing", "sk"]},
    "all": {"ProjectionType": "ALL"},
}


@contextmanager
def _moto_model() -> Iterator[None]:
    """moto's own DynamoDB item model for the block (the fast paths restored afterwards)."""
    moto_speed.uninstall_model_patches()
    try:
        yield
    finally:
        moto_speed.install_model_patches()


def _items_table(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "g", "AttributeType": "S"}, {"AttributeName": "r", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": f"by-g-{kind}", "Projection": projection,
                                 "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                               {"AttributeName": "r", "KeyType": "RANGE"}]}
                                for kind, projection in INDEX_PROJECTIONS.items()]
        + [{"IndexName": "by-g-only", "Projection": INDEX_PROJECTIONS["include"],
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}])
    for item in RICH_ITEMS:
        ddb.put_item(TableName=name, Item=item)


def _answers(ddb: Any, name: str) -> list[Any]:
    """Reads and writes whose answers the fast paths must not change (request ids left out)."""
    key = {"pk": {"S": "app-1"}, "sk": {"N": "1"}}
    office = {":g": {"S": "office"}}
    calls: list[tuple[str, dict[str, Any]]] = []
    for kind in (*INDEX_PROJECTIONS, "only"):
        index = f"by-g-{kind}"
        calls += [
            ("query", {"IndexName": index, "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": office,
                       "ReturnConsumedCapacity": "INDEXES"}),
            ("query", {"IndexName": index, "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": office,
                       "ScanIndexForward": False, "Limit": 2}),
            ("query", {"IndexName": index, "KeyConditionExpression": "g = :g AND r > :r",
                       "ExpressionAttributeValues": {**office, ":r": {"S": "2026-01-01"}},
                       "FilterExpression": "attribute_exists(n)", "ProjectionExpression": "pk, n, #m.l[2]",
                       "ExpressionAttributeNames": {"#m": "map"}}),
            ("query", {"IndexName": index, "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": office,
                       "Select": "COUNT"}),
            ("scan", {"IndexName": index}),
        ]
    calls += [
        ("get_item", {"Key": key}),
        ("get_item", {"Key": key, "ProjectionExpression": "n, blob, blobs, #m, names, numbers, n, missing",
                      "ExpressionAttributeNames": {"#m": "map"}}),
        ("get_item", {"Key": key, "ProjectionExpression": "#m.n, #m.l[3], #l[2].x, big",
                      "ExpressionAttributeNames": {"#m": "map", "#l": "list"}}),
        ("query", {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "app-1"}},
                   "ProjectionExpression": "sk, list, numbers", "ReturnConsumedCapacity": "TOTAL"}),
        ("update_item", {"Key": key, "UpdateExpression": "SET #t = :t, #m.n = :n ADD numbers :ns REMOVE n2",
                         "ExpressionAttributeNames": {"#t": "text", "#m": "map"},
                         "ExpressionAttributeValues": {":t": {"S": "ubah"}, ":n": {"N": "6"}, ":ns": {"NS": ["9"]}},
                         "ReturnValues": "ALL_NEW"}),
        ("update_item", {"Key": key, "UpdateExpression": "SET big = :b", "ReturnValues": "UPDATED_OLD",
                         "ExpressionAttributeValues": {":b": {"N": "1"}}}),
        ("put_item", {"Item": {**RICH_ITEMS[0], "sk": {"N": "9"}}, "ReturnValues": "ALL_OLD"}),
        ("put_item", {"Item": {**RICH_ITEMS[0], "sk": {"N": "9"}}, "ReturnValues": "ALL_OLD",
                      "ReturnConsumedCapacity": "TOTAL"}),
        ("put_item", {"Item": {"pk": {"S": "big"}, "sk": {"N": "1"}, "a": {"S": "x" * 200_000},
                               "b": {"S": "y" * 200_000}, "c": {"S": "z" * 5_000}}}),  # over moto's size limit
        ("put_item", {"Item": {"pk": {"S": "big"}, "sk": {"N": "2"}, "a": {"S": "x" * 200_000},
                               "b": {"S": "y" * 200_000}, "c": {"S": "z" * 4_000}}}),  # just under it
        ("transact_write_items", {"TransactItems": [
            {"Update": {"TableName": name, "Key": key, "UpdateExpression": "SET #t = :t",
                        "ExpressionAttributeNames": {"#t": "text"}, "ExpressionAttributeValues": {":t": {"S": "tx"}}}},
            {"Put": {"TableName": name, "Item": {**RICH_ITEMS[2], "sk": {"N": "8"}}}}]}),
        ("transact_write_items", {"TransactItems": [  # cancelled: the first two were applied, then rolled back
            {"Update": {"TableName": name, "Key": key, "UpdateExpression": "SET #t = :t REMOVE #m",
                        "ExpressionAttributeNames": {"#t": "text", "#m": "map"},
                        "ExpressionAttributeValues": {":t": {"S": "rolled back"}}}},
            {"Delete": {"TableName": name, "Key": {"pk": {"S": "app-3"}, "sk": {"N": "3"}}}},
            {"Put": {"TableName": name, "Item": {**RICH_ITEMS[1], "sk": {"N": "2"}},
                     "ConditionExpression": "attribute_not_exists(pk)"}}]}),
        ("scan", {}),
    ]
    answers: list[Any] = []
    for operation, params in calls:
        if operation != "transact_write_items":
            params = {"TableName": name, **params}
        try:
            answer = getattr(ddb, operation)(**params)
        except ClientError as error:
            answer = {"error": error.response["Error"]["Code"], "reasons": error.response.get("CancellationReasons")}
        answer.pop("ResponseMetadata", None)
        answers.append((operation, params, answer))
    return answers


def test_dynamodb_model_fast_paths_give_motos_answers(aws: LocalAws) -> None:
    ddb = _client(aws, "dynamodb")
    _items_table(ddb, "model-fast")
    fast = _answers(ddb, "model-fast")
    with _moto_model():
        _items_table(ddb, "model-moto")
        slow = _answers(ddb, "model-moto")
    for (operation, params, fast_answer), (_, _, slow_answer) in zip(fast, slow, strict=True):
        assert _renamed(fast_answer, "model-fast") == _renamed(slow_answer, "model-moto"), (operation, params)
    projected = fast[5][2]["Items"][0]  # INCLUDE: the key attributes and the included ones, numbers normalised
    assert set(projected) == {"pk", "sk", "g", "r", "n", "n2", "n3", "big", "text", "blob", "blobs", "names",
                              "numbers", "map"}
    assert projected["n"] == {"N": "1E+2"} and sorted(projected["map"]["M"]["l"]["L"][3]["NS"]) == ["7", "8"]
    assert fast[0][2]["Items"][0] == {name: RICH_ITEMS[0][name] for name in ("pk", "sk", "g", "r")}  # KEYS_ONLY
    assert [answer.get("error") for _, _, answer in fast[-6:-1]] == [  # the item too large; the cancelled one
        None, "ValidationException", None, None, "TransactionCanceledException"]
    assert fast[-1][2]["Count"] == len(RICH_ITEMS) + 3


def _renamed(answer: Any, table: str) -> Any:
    """An answer with the table's name written "<table>" (the two runs use two tables)."""
    return json.loads(json.dumps(answer, default=repr).replace(table, "<table>"))


def _dynamo_values() -> list[Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    values = [DynamoType(value) for item in RICH_ITEMS for value in item.values()]
    stored = DynamoType({"M": {"b": {"B": base64.b64encode(b"kept base64 as moto keeps it").decode()}}})
    odd = DynamoType({"L": []})
    odd.value = [DynamoType({"S": "a"}), "not wrapped"]  # a value moto's own types never hold: moto's path answers
    return [*values, stored, odd]


def _outcome(call: Any) -> Any:
    """What a call gives: its result's structure, or the type of what it raised."""
    try:
        return "value", _structure(call())
    except Exception as error:  # noqa: BLE001 - compared with what moto's own path raises
        return "raised", type(error)


def _structure(value: Any) -> Any:
    """A DynamoType tree as nested (type, value) tuples with the Python types of the leaves."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if isinstance(value, DynamoType):
        return ("DynamoType", value.type, _structure(value.value))
    if isinstance(value, dict):
        return {key: _structure(member) for key, member in value.items()}
    if isinstance(value, list):
        return [_structure(member) for member in value]
    return (type(value).__name__, value)


def test_attribute_conversions_equal_motos() -> None:
    """`to_regular_json`, `size`, `cast_value`, equality and `__deepcopy__` of every kind of attribute value."""
    moto_speed.install()
    values = _dynamo_values()
    original = {key: moto_speed._ORIGINALS[key] for key in (
        "dynamo_type_to_regular_json", "dynamo_type_size", "dynamo_type_deepcopy", "dynamo_type_cast_value",
        "dynamo_type_eq", "dynamo_type_ne")}
    for value in values:
        assert _outcome(value.to_regular_json) == _outcome(
            lambda: original["dynamo_type_to_regular_json"](value)), value  # noqa: B023 - called at once
        assert _outcome(value.size) == _outcome(lambda: original["dynamo_type_size"](value)), value  # noqa: B023
        assert _outcome(lambda: value.cast_value) == _outcome(  # noqa: B023
            lambda: original["dynamo_type_cast_value"].fget(value)), value  # noqa: B023
        fast_copy, moto_copy = copy.deepcopy(value), original["dynamo_type_deepcopy"](value, {})
        assert _structure(fast_copy) == _structure(moto_copy) == _structure(value)
        assert fast_copy is not value and (not isinstance(value.value, (list, dict)) or fast_copy.value is not value.value)
    for left in values[:20]:
        for right in values[:20]:
            assert (left == right) is original["dynamo_type_eq"](left, right)
            assert (left != right) is original["dynamo_type_ne"](left, right)
    shared = values[0]
    twice = type(shared)({"L": [{"S": "x"}]})
    twice.value = [shared, shared]  # a value met twice is copied once, as moto's copy does
    copied = copy.deepcopy(twice)
    assert copied.value[0] is copied.value[1] and copied.value[0] is not shared


def test_item_projection_and_size_check_equal_motos() -> None:
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    moto_speed.install()
    original_project = moto_speed._ORIGINALS["item_project"]
    original_init = moto_speed._ORIGINALS["item_init"]
    projections = [
        [["n"], ["blob"], ["names"], ["numbers"], ["blobs"], ["map"], ["list"], ["none"], ["flag"], ["missing"]],
        [["pk"], ["sk"], ["pk"], ["g"], ["map"], ["map"]],  # names repeated, as index projections repeat keys
        [["map", "l"], ["n"]], [["list[1]"]], [["missing"]], [],
    ]
    as_stored = {"pk": {"S": "app-5"}, "sk": {"N": "5"},  # moto keeps binaries inside maps and lists in base64
                 "map": {"M": {"b": {"B": base64.b64encode(b"\x00nested").decode()}}},
                 "list": {"L": [{"B": base64.b64encode(b"\xff").decode()}]}}
    for attrs in [*RICH_ITEMS, as_stored]:
        item = Item(DynamoType(attrs["pk"]), DynamoType(attrs["sk"]), attrs)
        moto_item: Any = Item.__new__(Item)
        original_init(moto_item, DynamoType(attrs["pk"]), DynamoType(attrs["sk"]), attrs)
        assert _structure(item.attrs) == _structure(moto_item.attrs) and type(item.attrs) is type(moto_item.attrs)
        for projection in projections:
            fast, slow = item.project(projection), original_project(item, projection)
            assert list(fast.attrs) == list(slow.attrs), projection
            assert _structure(fast.attrs) == _structure(slow.attrs), projection  # sets in the same order too
            assert fast.hash_key is slow.hash_key and fast.to_json() == slow.to_json()
            assert item.size() == moto_speed._ORIGINALS["item_size"](item)
    for size, refused in ((4_000, False), (5_000, True)):
        attrs = {"a": {"S": "x" * 200_000}, "b": {"S": "y" * 200_000}, "c": {"S": "z" * size}}
        outcomes = []
        for make in (lambda: Item(DynamoType({"S": "k"}), None, attrs),
                     lambda: original_init(Item.__new__(Item), DynamoType({"S": "k"}), None, attrs)):
            try:
                make()
                outcomes.append("stored")
            except ItemSizeTooLarge:
                outcomes.append("too large")
        assert outcomes == ["too large" if refused else "stored"] * 2
    # values moto's round trip cannot convert: moto's own path answers, and fails, as before
    for odd_attrs in ({"n": {"N": "1"}, "nan": {"N": "not a number"}},  # Decimal NaN: refused when written back
                      {"n": {"N": "1"}, "long": {"N": "1." + "0" * 40 + "1"}}):  # refused by boto3's decimal context
        odd = Item(DynamoType({"S": "k"}), None, odd_attrs)
        for projection in ([["n"]], [[name] for name in odd_attrs]):
            fast_outcome = _outcome(lambda: odd.project(projection).attrs)  # noqa: B023 - called at once
            assert fast_outcome == _outcome(lambda: original_project(odd, projection).attrs)  # noqa: B023
            outcomes.append(fast_outcome[0])
    assert outcomes[-4:] == ["value", "raised", "raised", "raised"]


def test_projected_queries_and_transaction_backups_do_not_share_stored_values(aws: LocalAws) -> None:
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    ddb = _client(aws, "dynamodb")
    _items_table(ddb, "model-share")
    table = dynamodb_backends["123456789012"][REGION].tables["model-share"]

    def nodes(value: Any) -> Iterator[Any]:
        if isinstance(value, DynamoType):
            yield value
            yield from nodes(value.value)
        elif isinstance(value, (list, dict)):
            yield value
            for member in (value.values() if isinstance(value, dict) else value):
                yield from nodes(member)

    def parts(item: Any) -> list[Any]:  # (the objects themselves are held: ids of live objects are unique)
        return [item, *nodes(item.hash_key), *nodes(item.range_key), item.attrs,
                *(node for value in item.attrs.values() for node in nodes(value))]

    stored = [node for item in table.all_items() for node in parts(item)]
    unset: Any = None  # (no limit, no start key)
    for kind in INDEX_PROJECTIONS:
        results, _, _ = table.query(None, None, [], unset, unset, True, None, f"by-g-{kind}",
                                    hash_key_conditions=[("g", DynamoType({"S": "office"}))])
        assert len(results) == 3
        for item in results:
            assert not {id(node) for node in stored} & {id(node) for node in parts(item)}, kind
    before = {item.hash_key.value: _structure(item.attrs) for item in table.all_items()}
    kept = {item.hash_key.value: item for item in table.all_items()}
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": "model-share", "Key": {"pk": {"S": "app-1"}, "sk": {"N": "1"}},
                        "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "0"}}}},
            {"ConditionCheck": {"TableName": "model-share", "Key": {"pk": {"S": "app-4"}, "sk": {"N": "4"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}}])
    restored = dynamodb_backends["123456789012"][REGION].tables["model-share"]
    assert restored is not table  # moto restores its backup of the table
    assert {item.hash_key.value: _structure(item.attrs) for item in restored.all_items()} == before
    for item in restored.all_items():  # the items no operation named are kept, the others are copies
        assert (item is kept[item.hash_key.value]) is (item.hash_key.value in ("app-2", "app-3"))


def test_dynamodb_items_are_not_kept_for_motos_dashboard(aws: LocalAws) -> None:
    """moto's BaseModel keeps every instance in `instances_tracked`; every Item copy of every answer would stay in
    memory for the life of the local runtime. With the patch none is kept; without it they are (the check can
    fail)."""
    from moto.dynamodb.models.dynamo_type import Item

    client = boto3.client("dynamodb", endpoint_url=aws.endpoint_url, region_name="ap-southeast-3",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_table(TableName="tracked", BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])

    def items_kept_by(calls: int) -> int:
        before = len(Item.instances_tracked)
        for i in range(calls):
            client.put_item(TableName="tracked", Item={"k": {"S": f"k{i}"}, "v": {"S": "x" * 100}})
            client.get_item(TableName="tracked", Key={"k": {"S": f"k{i}"}})
        return len(Item.instances_tracked) - before

    assert items_kept_by(20) == 0
    moto_speed.uninstall_model_patches(["item_untracked"])
    try:
        assert items_kept_by(20) >= 20
    finally:
        moto_speed.install_model_patches()
