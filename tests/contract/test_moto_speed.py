"""Pins the local runtime's fast paths through moto (`silastri_local.moto_speed`): each gives the answer moto's own
path gives — DynamoDB answers written from the output shape equal moto's serializer's, SDK calls answered in
process equal the same calls over HTTP, the expression AST copy equals `copy.deepcopy`, and cached ASL parse trees
still give each run fresh evaluation components."""

from __future__ import annotations

import copy
from collections.abc import Iterator
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
