"""Pins every moto behaviour the embedded local runtime relies on (moto is pinned exactly).

One `LocalAws` serves the whole module; a moto upgrade that changes any of these
behaviours must fail here rather than somewhere inside a workflow test.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from silastri_local import cognito_passwords, durability, persistence
from silastri_local.moto_server import LambdaContext, LocalAws

pytestmark = pytest.mark.xdist_group("moto_contract")

REGION = "ap-southeast-3"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/silastri-local"
FN_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"

# --------------------------------------------------------------------------- Lambda handlers

HANDLERS: dict[str, Callable[[dict[str, Any], LambdaContext], Any]] = {}
ATTEMPTS: dict[str, int] = {}
FAILURES: list[dict[str, Any]] = []
TOKENS: dict[str, str] = {}
CONTEXTS: dict[str, LambdaContext] = {}
_lock = threading.Lock()


class TransientStepError(Exception):
    """Retried by the workflow."""


class PermanentStepError(Exception):
    """Caught by the workflow and recorded."""


def handler(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        HANDLERS[name] = fn
        return fn

    return register


@handler("prepare")
def prepare(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    CONTEXTS[event["app"]] = context
    return {"app": event["app"], "kind": event["kind"]}


@handler("stamp")
def stamp(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"stamped": event["app"]}


@handler("flaky")
def flaky(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with _lock:
        ATTEMPTS[event["app"]] = attempt = ATTEMPTS.get(event["app"], 0) + 1
    if attempt <= 2:
        raise TransientStepError(f"attempt {attempt} failed")
    return {"attempt": attempt}


@handler("fatal")
def fatal(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raise PermanentStepError("documents rejected")


@handler("record_failure")
def record_failure(event: dict[str, Any], context: LambdaContext) -> None:
    FAILURES.append(event)


@handler("store_token")
def store_token(event: dict[str, Any], context: LambdaContext) -> dict[str, bool]:
    TOKENS[event["app"]] = event["token"]
    return {"stored": True}


SLOW_STARTED = threading.Event()
SLOW_FINISHED: list[float] = []


@handler("slow")
def slow(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    SLOW_STARTED.set()
    time.sleep(event.get("sleep", 0.5))
    if "table" in event:  # a nested request while the outer one is in flight
        ddb = boto3.client("dynamodb", **_client_kwargs(event["endpoint"]))
        ddb.put_item(TableName=event["table"], Item={"pk": {"S": event["pk"]}})
    SLOW_FINISHED.append(time.monotonic())
    return {"slept": True}


# --------------------------------------------------------------------------- fixtures / helpers


def _client_kwargs(endpoint: str) -> dict[str, Any]:
    return {
        "endpoint_url": endpoint,
        "region_name": REGION,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


def client(aws: LocalAws, service: str, **config: Any) -> Any:
    return boto3.client(
        service, config=Config(**config) if config else None, **_client_kwargs(aws.endpoint_url)
    )


@pytest.fixture(scope="module")
def aws() -> Any:
    local = LocalAws(handler_resolver=HANDLERS.get)
    local.start()
    yield local
    local.stop()


def wait_done(sfn: Any, arn: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution  # type: ignore[no-any-return]
        time.sleep(0.02)
    raise AssertionError(f"{arn} still RUNNING after {timeout} s")


def wait_until(predicate: Callable[[], Any], timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not reached")


def history_types(sfn: Any, arn: str) -> list[str]:
    events = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return [e["type"] for e in events]


def create_machine(sfn: Any, name: str, definition: dict[str, Any]) -> str:
    return sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- (a) ASL with Lambda tasks

MAIN = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": f"{FN_ARN}prepare", "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.kind", "StringEquals": "flaky", "Next": "Flaky"},
                {"Variable": "$.kind", "StringEquals": "fatal", "Next": "Fatal"},
            ],
            "Default": "Stamp",
        },
        "Stamp": {"Type": "Task", "Resource": f"{FN_ARN}stamp", "ResultPath": "$.stamp", "Next": "Shape"},
        "Shape": {"Type": "Pass", "Parameters": {"app.$": "$.app", "result": "issued"}, "Next": "Done"},
        "Flaky": {
            "Type": "Task",
            "Resource": f"{FN_ARN}flaky",
            "Retry": [
                {
                    "ErrorEquals": ["TransientStepError"],
                    "IntervalSeconds": 1,
                    "BackoffRate": 2,
                    "MaxAttempts": 3,
                    "JitterStrategy": "FULL",
                }
            ],
            "ResultPath": "$.flaky",
            "Next": "Done",
        },
        "Fatal": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "fatal", "Payload.$": "$"},
            "Catch": [
                {"ErrorEquals": ["PermanentStepError"], "ResultPath": "$.error", "Next": "RecordFailure"}
            ],
            "Next": "Done",
        },
        "RecordFailure": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "record_failure", "Payload.$": "$"},
            "ResultPath": None,
            "Next": "Failed",
        },
        "Failed": {"Type": "Fail", "Error": "ApplicationRejected", "Cause": "recorded"},
        "Done": {"Type": "Succeed"},
    },
}


def test_lambda_invoke_dispatches_to_python_handlers(aws: LocalAws) -> None:
    lam = client(aws, "lambda")
    ok = lam.invoke(FunctionName="stamp", Payload=json.dumps({"app": "x"}))
    assert ok["StatusCode"] == 200 and "FunctionError" not in ok
    assert json.loads(ok["Payload"].read()) == {"stamped": "x"}

    failed = lam.invoke(FunctionName=f"{FN_ARN}fatal", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    body = json.loads(failed["Payload"].read())
    assert body["errorType"] == "PermanentStepError" and body["errorMessage"] == "documents rejected"
    assert any("in fatal" in frame for frame in body["stackTrace"])
    assert not any("moto_server.py" in frame for frame in body["stackTrace"])

    with pytest.raises(ClientError) as missing:
        lam.invoke(FunctionName="no-such-function", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "Function not found" in missing.value.response["Error"]["Message"]

    started = time.monotonic()
    queued = lam.invoke(FunctionName="slow", InvocationType="Event", Payload=json.dumps({"sleep": 0.3}))
    assert queued["StatusCode"] == 202 and time.monotonic() - started < 0.25


def test_state_machine_with_lambda_tasks_choice_retry_and_catch(aws: LocalAws) -> None:
    sfn = client(aws, "stepfunctions")
    machine = create_machine(sfn, "contract-main", MAIN)

    started = time.monotonic()
    ok = sfn.start_execution(
        stateMachineArn=machine, name="app-ok", input=json.dumps({"app": "app-ok", "kind": "ok"})
    )
    done = wait_done(sfn, ok["executionArn"])
    five_state_seconds = time.monotonic() - started
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"]) == {"app": "app-ok", "result": "issued"}
    context = CONTEXTS["app-ok"]
    assert context.function_name == "prepare"
    assert context.invoked_function_arn == f"{FN_ARN}prepare"
    assert context.get_remaining_time_in_millis() > 0 and context.aws_request_id
    print(f"5-state execution: {five_state_seconds * 1000:.0f} ms")

    flaky_run = sfn.start_execution(
        stateMachineArn=machine, name="app-flaky", input=json.dumps({"app": "app-flaky", "kind": "flaky"})
    )
    fatal_run = sfn.start_execution(
        stateMachineArn=machine, name="app-fatal", input=json.dumps({"app": "app-fatal", "kind": "fatal"})
    )

    flaky_done = wait_done(sfn, flaky_run["executionArn"])
    assert flaky_done["status"] == "SUCCEEDED", flaky_done
    assert json.loads(flaky_done["output"])["flaky"] == {"attempt": 3}
    assert ATTEMPTS["app-flaky"] == 3
    events = sfn.get_execution_history(executionArn=flaky_run["executionArn"], maxResults=1000)["events"]
    failures = [e["lambdaFunctionFailedEventDetails"] for e in events if e["type"] == "LambdaFunctionFailed"]
    assert [f["error"] for f in failures] == ["TransientStepError", "TransientStepError"]

    fatal_done = wait_done(sfn, fatal_run["executionArn"])
    assert fatal_done["status"] == "FAILED"
    assert (fatal_done["error"], fatal_done["cause"]) == ("ApplicationRejected", "recorded")
    (recorded,) = [f for f in FAILURES if f["app"] == "app-fatal"]
    assert recorded["error"]["Error"] == "PermanentStepError"
    cause = json.loads(recorded["error"]["Cause"])
    assert cause["errorType"] == "PermanentStepError" and cause["errorMessage"] == "documents rejected"


# --------------------------------------------------------------------------- (b, c) task tokens, names


def decision_machine(timeout_seconds: int) -> dict[str, Any]:
    return {
        "StartAt": "AwaitDecision",
        "States": {
            "AwaitDecision": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "store_token",
                    "Payload": {"token.$": "$$.Task.Token", "app.$": "$.app"},
                },
                "TimeoutSeconds": timeout_seconds,
                "ResultPath": "$.decision",
                "Catch": [
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "TimedOut"},
                    {"ErrorEquals": ["Rejected"], "ResultPath": "$.error", "Next": "WasRejected"},
                ],
                "End": True,
            },
            "TimedOut": {"Type": "Pass", "Result": "timed-out", "ResultPath": "$.outcome", "End": True},
            "WasRejected": {"Type": "Pass", "Result": "rejected", "ResultPath": "$.outcome", "End": True},
        },
    }


def test_wait_for_task_token_resumes_on_send_task_success(aws: LocalAws) -> None:
    sfn = client(aws, "stepfunctions")
    machine = create_machine(sfn, "contract-decision", decision_machine(60))
    run = sfn.start_execution(
        stateMachineArn=machine, name="app-decide", input=json.dumps({"app": "app-decide"})
    )
    token = wait_until(lambda: TOKENS.get("app-decide"))
    assert sfn.describe_execution(executionArn=run["executionArn"])["status"] == "RUNNING"

    sfn.send_task_success(taskToken=token, output=json.dumps({"decision": "approve"}))
    done = wait_done(sfn, run["executionArn"])
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["decision"] == {"decision": "approve"}

    # A token is spent once it has been used.
    with pytest.raises(ClientError) as reused:
        sfn.send_task_success(taskToken=token, output="{}")
    assert reused.value.response["Error"]["Code"] == "InvalidToken"

    # SendTaskFailure's error name is matched by Catch (its cause is not relied on: moto drops it).
    rejected = sfn.start_execution(
        stateMachineArn=machine, name="app-reject", input=json.dumps({"app": "app-reject"})
    )
    sfn.send_task_failure(taskToken=wait_until(lambda: TOKENS.get("app-reject")), error="Rejected", cause="x")
    rejected_done = wait_done(sfn, rejected["executionArn"])
    assert rejected_done["status"] == "SUCCEEDED"
    output = json.loads(rejected_done["output"])
    assert output["outcome"] == "rejected" and output["error"]["Error"] == "Rejected"


def test_task_token_wait_times_out_into_catch(aws: LocalAws) -> None:
    sfn = client(aws, "stepfunctions")
    machine = create_machine(sfn, "contract-decision-timeout", decision_machine(1))
    run = sfn.start_execution(stateMachineArn=machine, name="app-late", input=json.dumps({"app": "app-late"}))
    done = wait_done(sfn, run["executionArn"], timeout=10)
    assert done["status"] == "SUCCEEDED"
    output = json.loads(done["output"])
    assert output["outcome"] == "timed-out" and output["error"]["Error"] == "States.Timeout"


def test_start_execution_name_is_idempotent_only_for_identical_running_input(aws: LocalAws) -> None:
    sfn = client(aws, "stepfunctions")
    machine = create_machine(sfn, "contract-names", decision_machine(60))
    payload = json.dumps({"app": "app-dup"})
    first = sfn.start_execution(stateMachineArn=machine, name="app-dup", input=payload)
    # moto: same name + same input while RUNNING → the same execution (as on AWS).
    again = sfn.start_execution(stateMachineArn=machine, name="app-dup", input=payload)
    assert again["executionArn"] == first["executionArn"] and again["startDate"] == first["startDate"]
    assert len(sfn.list_executions(stateMachineArn=machine)["executions"]) == 1

    with pytest.raises(ClientError) as different:
        sfn.start_execution(stateMachineArn=machine, name="app-dup", input=json.dumps({"app": "other"}))
    assert different.value.response["Error"]["Code"] == "ExecutionAlreadyExists"

    sfn.send_task_success(taskToken=wait_until(lambda: TOKENS.get("app-dup")), output="{}")
    wait_done(sfn, first["executionArn"])
    with pytest.raises(ClientError) as finished:
        sfn.start_execution(stateMachineArn=machine, name="app-dup", input=payload)
    assert finished.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_abort_running_executions_ends_token_waits_at_once(aws: LocalAws) -> None:
    sfn = client(aws, "stepfunctions")
    machine = create_machine(sfn, "contract-abort", decision_machine(60))
    run = sfn.start_execution(
        stateMachineArn=machine, name="app-abort", input=json.dumps({"app": "app-abort"})
    )
    wait_until(lambda: TOKENS.get("app-abort"))
    assert aws.abort_running_executions() == 1
    # moto ends an interrupted token wait as FAILED (not ABORTED); what matters is that it ends now.
    assert wait_done(sfn, run["executionArn"], timeout=2)["status"] in ("ABORTED", "FAILED")


# --------------------------------------------------------------------------- (d) DynamoDB


def test_conditional_counter_is_exact_under_200_threads(aws: LocalAws) -> None:
    ddb = client(aws, "dynamodb", max_pool_connections=64)
    ddb.create_table(
        TableName="contract-counter",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName="contract-counter", Item={"pk": {"S": "counter"}, "seq": {"N": "0"}})
    start = threading.Barrier(200)
    conflicts: list[int] = []

    def read_counter() -> int:
        item = ddb.get_item(TableName="contract-counter", Key={"pk": {"S": "counter"}}, ConsistentRead=True)[
            "Item"
        ]
        return int(item["seq"]["N"])

    def take_number(_: int) -> int:
        # Everything in one process shares one GIL and moto manages ~300 requests/s: 200 threads
        # retrying at once would cost ~n²/2 requests (~45 s). Spread the starts and back off with
        # jitter (as a real client would); the contention that remains is still real (see below).
        start.wait()
        time.sleep(random.uniform(0, 2.5))
        expected = read_counter()
        while True:
            try:
                ddb.update_item(
                    TableName="contract-counter",
                    Key={"pk": {"S": "counter"}},
                    UpdateExpression="SET seq = :next",
                    ConditionExpression="seq = :expected",
                    ExpressionAttributeValues={
                        ":expected": {"N": str(expected)},
                        ":next": {"N": str(expected + 1)},
                    },
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ConditionalCheckFailedException"
                assert int(exc.response["Item"]["seq"]["N"]) > expected  # the winner's value comes back
                conflicts.append(expected)
                time.sleep(random.uniform(0, 1.5))
                expected = read_counter()
                continue
            # Each number may be issued once: the put refuses a duplicate server-side too.
            ddb.put_item(
                TableName="contract-counter",
                Item={"pk": {"S": f"number#{expected + 1}"}},
                ConditionExpression="attribute_not_exists(pk)",
            )
            return expected + 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=200) as pool:
        numbers = list(pool.map(take_number, range(200)))
    print(f"200-thread conditional counter: {time.monotonic() - started:.2f} s, {len(conflicts)} conflicts")
    assert sorted(numbers) == list(range(1, 201))
    assert conflicts, "the threads never raced: the test proves nothing"
    final = ddb.get_item(TableName="contract-counter", Key={"pk": {"S": "counter"}}, ConsistentRead=True)
    assert final["Item"]["seq"]["N"] == "200"


def test_transact_write_cancellation_reasons_and_gsi_query(aws: LocalAws) -> None:
    ddb = client(aws, "dynamodb")
    ddb.create_table(
        TableName="contract-apps",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
            {"AttributeName": "created", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_status",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "created", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for i, status in enumerate(["review", "issued", "review", "review"]):
        ddb.put_item(
            TableName="contract-apps",
            Item={"pk": {"S": f"app#{i}"}, "status": {"S": status}, "created": {"S": f"2026-01-0{4 - i}"}},
        )

    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "contract-apps",
                        "Key": {"pk": {"S": "app#0"}},
                        "UpdateExpression": "SET #s = :issued",
                        "ExpressionAttributeNames": {"#s": "status"},
                        "ExpressionAttributeValues": {":issued": {"S": "issued"}},
                    }
                },
                {
                    "Put": {
                        "TableName": "contract-apps",
                        "Item": {"pk": {"S": "app#1"}, "status": {"S": "x"}, "created": {"S": "x"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )
    error = cancelled.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    reasons = error["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Item"]["status"] == {"S": "issued"}
    # Nothing of a cancelled transaction is applied.
    assert ddb.get_item(TableName="contract-apps", Key={"pk": {"S": "app#0"}})["Item"]["status"] == {
        "S": "review"
    }

    page = ddb.query(
        TableName="contract-apps",
        IndexName="by_status",
        KeyConditionExpression="#s = :review",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":review": {"S": "review"}},
    )
    assert [item["pk"]["S"] for item in page["Items"]] == ["app#3", "app#2", "app#0"]


# --------------------------------------------------------------------------- (e) Cognito


def test_cognito_id_token_verifies_against_local_jwks(aws: LocalAws) -> None:
    idp = client(aws, "cognito-idp")
    pool_id = idp.create_user_pool(PoolName="contract-pool")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
        # moto copies into the ID token only the attributes a client lists here (AWS: all readable ones).
        ReadAttributes=["email"],
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool_id, GroupName="verifier")
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username="officer@rokanhilir.local",
        UserAttributes=[{"Name": "email", "Value": "officer@rokanhilir.local"}],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username="officer@rokanhilir.local", Password="Rohil-Secret-9a", Permanent=True
    )
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username="officer@rokanhilir.local", GroupName="verifier")

    tokens = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "officer@rokanhilir.local", "PASSWORD": "Rohil-Secret-9a"},
    )["AuthenticationResult"]
    id_token = tokens["IdToken"]
    assert jwt.get_unverified_header(id_token)["alg"] == "RS256"

    jwks_url = f"{aws.endpoint_url}/{pool_id}/.well-known/jwks.json"
    signing_key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(id_token)
    claims = jwt.decode(id_token, signing_key.key, algorithms=["RS256"], audience=client_id)
    assert claims["cognito:groups"] == ["verifier"]
    assert claims["token_use"] == "id" and claims["email"] == "officer@rokanhilir.local"
    # The issuer names the AWS host, not the local endpoint: the JWKS URL must be configured.
    assert claims["iss"] == f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"

    head, _, signature = id_token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "cognito:groups": ["head"]}).encode()).rstrip(
        b"="
    )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            f"{head}.{forged.decode()}.{signature}", signing_key.key, algorithms=["RS256"], audience=client_id
        )


# --------------------------------------------------------------------------- (f) SNS → SQS


def test_sns_to_sqs_raw_delivery_and_redrive_to_dlq(aws: LocalAws) -> None:
    sqs, sns = client(aws, "sqs"), client(aws, "sns")
    dlq_url = sqs.create_queue(QueueName="contract-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName="contract-notify",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name="contract-events")["TopicArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )

    sns.publish(TopicArn=topic, Message=json.dumps({"event": "submitted"}))
    for receive in (1, 2):
        (message,) = sqs.receive_message(
            QueueUrl=queue_url,
            WaitTimeSeconds=1,
            VisibilityTimeout=0,
            AttributeNames=["ApproximateReceiveCount"],
        )["Messages"]
        assert json.loads(message["Body"]) == {"event": "submitted"}  # raw: no SNS envelope
        assert message["Attributes"]["ApproximateReceiveCount"] == str(receive)
    # The receive after maxReceiveCount moves the message to the DLQ instead of returning it.
    assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []) == []
    (dead,) = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(dead["Body"]) == {"event": "submitted"}


# --------------------------------------------------------------------------- (h) presigned POST policy

UPLOAD_BUCKET = "contract-uploads"


@pytest.fixture(scope="module")
def uploads(aws: LocalAws) -> Any:
    s3 = client(aws, "s3")
    s3.create_bucket(Bucket=UPLOAD_BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    return s3


def presigned(s3: Any, expires: int = 60, key: str = "apps/app-1/${filename}") -> dict[str, Any]:
    return s3.generate_presigned_post(  # type: ignore[no-any-return]
        UPLOAD_BUCKET,
        key,
        Fields={"Content-Type": "application/pdf"},
        Conditions=[["content-length-range", 1, 1024], {"Content-Type": "application/pdf"}],
        ExpiresIn=expires,
    )


def post(post: dict[str, Any], body: bytes, filename: str = "doc.pdf", **fields: str) -> requests.Response:
    return requests.post(
        post["url"],
        data={**post["fields"], **fields},
        files={"file": (filename, body, "application/pdf")},
        timeout=10,
    )


def stored_keys(s3: Any) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=UPLOAD_BUCKET).get("Contents", [])]


def test_valid_presigned_post_is_stored(aws: LocalAws, uploads: Any) -> None:
    response = post(presigned(uploads), b"%PDF-1.7 small", filename="ok.pdf")
    assert response.status_code == 204, response.text
    stored = uploads.get_object(Bucket=UPLOAD_BUCKET, Key="apps/app-1/ok.pdf")
    assert stored["Body"].read() == b"%PDF-1.7 small" and stored["ContentType"] == "application/pdf"

    # Virtual-host style, as boto3 generates it for a `localhost` endpoint with addressing_style=virtual.
    virtual = boto3.client(
        "s3",
        config=Config(s3={"addressing_style": "virtual"}),
        **_client_kwargs(f"http://localhost:{aws.port}"),
    )
    form = presigned(virtual)
    assert form["url"] == f"http://{UPLOAD_BUCKET}.localhost:{aws.port}/"
    response = requests.post(
        f"{aws.endpoint_url}/",
        headers={"Host": f"{UPLOAD_BUCKET}.localhost:{aws.port}"},
        data=form["fields"],
        files={"file": ("virtual.pdf", b"%PDF", "application/pdf")},
        timeout=10,
    )
    assert response.status_code == 204, response.text
    assert "apps/app-1/virtual.pdf" in stored_keys(uploads)


@pytest.mark.parametrize(
    ("case", "status", "code", "message"),
    [
        ("too-large", 400, "EntityTooLarge", "exceeds the maximum allowed size"),
        ("empty", 400, "EntityTooSmall", "smaller than the minimum"),
        (
            "wrong-type",
            403,
            "AccessDenied",
            'Policy Condition failed: ["eq", "$Content-Type", "application/pdf"]',
        ),
        ("tampered-policy", 403, "SignatureDoesNotMatch", "signature we calculated does not match"),
        ("tampered-signature", 403, "SignatureDoesNotMatch", "signature we calculated does not match"),
        ("expired", 403, "AccessDenied", "Invalid according to Policy: Policy expired."),
        (
            "outside-prefix",
            403,
            "AccessDenied",
            'Policy Condition failed: ["starts-with", "$key", "apps/app-1/"]',
        ),
        ("extra-field", 403, "AccessDenied", "Extra input fields: x-amz-meta-owner"),
        ("unknown-key", 403, "InvalidAccessKeyId", "does not exist in our records"),
        (
            "other-bucket",
            403,
            "AccessDenied",
            'Policy Condition failed: ["eq", "$bucket", "contract-uploads"]',
        ),
    ],
)
def test_presigned_post_violations_are_refused_and_nothing_is_stored(
    aws: LocalAws, uploads: Any, case: str, status: int, code: str, message: str
) -> None:
    form = presigned(uploads, expires=-5 if case == "expired" else 60)
    body, fields = b"%PDF-1.7", {}
    if case == "too-large":
        body = b"x" * 1025
    elif case == "empty":
        body = b""
    elif case == "wrong-type":
        fields = {"Content-Type": "text/html"}
    elif case == "tampered-policy":
        policy = json.loads(base64.b64decode(form["fields"]["policy"]))
        policy["conditions"][0] = ["content-length-range", 1, 10**9]
        fields = {"policy": base64.b64encode(json.dumps(policy).encode()).decode()}
    elif case == "tampered-signature":
        signature = form["fields"]["x-amz-signature"]
        fields = {"x-amz-signature": ("0" if signature[0] != "0" else "1") + signature[1:]}
    elif case == "outside-prefix":
        fields = {"key": "apps/app-2/${filename}"}
    elif case == "extra-field":
        fields = {"x-amz-meta-owner": "someone"}
    elif case == "unknown-key":
        form = boto3.client(
            "s3",
            endpoint_url=aws.endpoint_url,
            region_name=REGION,
            aws_access_key_id="AKIAOTHER",
            aws_secret_access_key="x",
        ).generate_presigned_post(UPLOAD_BUCKET, "apps/app-1/${filename}", ExpiresIn=60)
    elif case == "other-bucket":
        form = {**form, "url": form["url"].replace(UPLOAD_BUCKET, "contract-other")}
    filename = f"{case}.pdf"
    response = post(form, body, filename=filename, **fields)
    assert response.status_code == status, response.text
    assert f"<Code>{code}</Code>" in response.text and message in response.text
    assert not any(key.endswith(filename) for key in stored_keys(uploads))


# --------------------------------------------------------------------------- (g) gate and persistence (last: restarts)


def test_snapshot_takes_write_locks_only_and_never_waits_for_a_lambda_invocation(
    aws: LocalAws, tmp_path: Path
) -> None:
    ddb = client(aws, "dynamodb")
    ddb.create_table(
        TableName="contract-gate",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    lam = client(aws, "lambda")
    event = {"sleep": 1.0, "table": "contract-gate", "pk": "nested", "endpoint": aws.endpoint_url}
    SLOW_STARTED.clear()
    SLOW_FINISHED.clear()
    invocation = threading.Thread(target=lambda: lam.invoke(FunctionName="slow", Payload=json.dumps(event)))
    invocation.start()
    assert SLOW_STARTED.wait(5)
    # A Lambda invocation holds no write lock: the snapshot does not wait for it (the old gate did).
    started = time.monotonic()
    aws.snapshot(tmp_path / "during.snapshot", timeout=5)
    assert time.monotonic() - started < 0.9 and not SLOW_FINISHED
    invocation.join()
    assert ddb.get_item(TableName="contract-gate", Key={"pk": {"S": "nested"}}).get("Item")

    # A write that holds its lock makes a snapshot time out, and nothing is written then.
    lock = durability.write_lock("s3")
    holder_in, holder_out = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            holder_in.set()
            holder_out.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holder_in.wait(5)
    with pytest.raises(TimeoutError):
        aws.snapshot(tmp_path / "late.snapshot", timeout=0.2)
    holder_out.set()
    holder.join()
    assert not (tmp_path / "late.snapshot").exists()


def test_dispatcher_names_the_service_of_each_request(aws: LocalAws, uploads: Any) -> None:
    """DurableWrites relies on DomainDispatcherApplication.get_application(environ).service."""
    from werkzeug.test import EnvironBuilder

    seen: list[str] = []
    original = aws.dispatcher.get_application

    def spy(environ: dict[str, Any]) -> Any:
        backend_app = original(environ)
        seen.append(backend_app.service)
        return backend_app

    aws.dispatcher.get_application = spy  # type: ignore[method-assign]
    try:
        client(aws, "dynamodb").list_tables()
        client(aws, "s3").list_buckets()
        client(aws, "cognito-idp").list_user_pools(MaxResults=1)
        client(aws, "sqs").list_queues()
        client(aws, "sns").list_topics()
        client(aws, "lambda").list_functions()
        client(aws, "stepfunctions").list_state_machines()
    finally:
        aws.dispatcher.get_application = original  # type: ignore[method-assign]
    assert seen == ["dynamodb", "s3", "cognitoidp", "sqs", "sns", "awslambda", "stepfunctions"]
    # Every persisted backend name maps to the module name its requests are dispatched under.
    for service in persistence.PERSISTED_SERVICES:
        assert importlib.import_module(f"moto.{durability.module_name(service)}.urls").url_bases
    # An unsigned presigned POST upload (path style) is S3's too.
    builder = EnvironBuilder(method="POST", path=f"/{UPLOAD_BUCKET}", base_url=aws.endpoint_url,
                             data={"key": "k", "file": (io.BytesIO(b"%PDF"), "f.pdf")})
    assert aws.dispatcher.get_application(builder.get_environ()).service == "s3"


def test_update_user_pool_keeps_username_attributes(aws: LocalAws) -> None:
    """moto resets every setting UpdateUserPool omits, UsernameAttributes included; AWS keeps it (patched)."""
    idp = client(aws, "cognito-idp")
    pool_id = idp.create_user_pool(PoolName="contract-update", UsernameAttributes=["email"])["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="by-mail@example.id", MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": "by-mail@example.id"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username="by-mail@example.id", Password="Update-Secret-3c",
                                Permanent=True)
    idp.update_user_pool(UserPoolId=pool_id, Policies={"PasswordPolicy": {"MinimumLength": 10}})
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["UsernameAttributes"] == ["email"]
    auth = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "by-mail@example.id", "PASSWORD": "Update-Secret-3c"})
    assert "IdToken" in auth["AuthenticationResult"]


def test_cognito_passwords_are_salted_hashes_that_still_authenticate(aws: LocalAws) -> None:
    from moto.cognitoidp.models import CognitoIdpUser, cognitoidp_backends

    idp = client(aws, "cognito-idp")
    pool_id = idp.create_user_pool(PoolName="contract-hash")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=client_id, Username="signed-up@example.id", Password="Signup-Secret-1a")
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username="signed-up@example.id")
    idp.admin_create_user(UserPoolId=pool_id, Username="admin-made@example.id", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username="admin-made@example.id", Password="Admin-Secret-2b", Permanent=True
    )

    pool = cognitoidp_backends[ACCOUNT][REGION].user_pools[pool_id]
    assert isinstance(CognitoIdpUser.__dict__["password"], property)
    for user in pool.users.values():
        assert "password" not in vars(user)
        assert isinstance(user.password, cognito_passwords.HashedPassword)
        assert not any(isinstance(v, str) and "Secret" in v for v in vars(user).values())
    for username, password in (("signed-up@example.id", "Signup-Secret-1a"), ("admin-made@example.id", "Admin-Secret-2b")):
        auth = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": username, "PASSWORD": password})
        assert "IdToken" in auth["AuthenticationResult"]
        with pytest.raises(ClientError, match="NotAuthorized"):
            idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": password + "x"})

    # The pool keeps issued tokens in these dicts; saved state leaves them out.
    assert all(getattr(pool, name) for name in persistence.COGNITO_TOKEN_ATTRIBUTES)
    saved = persistence.dump_state(("cognito-idp",))
    id_token = next(iter(pool.id_tokens))
    refresh_token = next(t for t in pool.refresh_tokens)
    assert id_token.encode() not in saved and refresh_token.encode() not in saved
    assert b"Signup-Secret-1a" not in saved and b"Admin-Secret-2b" not in saved


RESTORED_PROBE = """
import json, sys, boto3
from pathlib import Path
from silastri_local.moto_server import LocalAws

with LocalAws() as aws:
    assert aws.restore(Path(sys.argv[1]))
    kw = dict(endpoint_url=aws.endpoint_url, region_name="ap-southeast-3",
              aws_access_key_id="testing", aws_secret_access_key="testing")
    ddb, s3 = boto3.client("dynamodb", **kw), boto3.client("s3", **kw)
    sqs, idp = boto3.client("sqs", **kw), boto3.client("cognito-idp", **kw)
    ids = json.loads(sys.argv[2])
    item = ddb.get_item(TableName="contract-persist", Key={"pk": {"S": "permit#1"}})["Item"]
    body = s3.get_object(Bucket="contract-persist", Key="permits/1.pdf")["Body"].read().decode()
    queue_url = sqs.get_queue_url(QueueName="contract-persist")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    auth = idp.initiate_auth(ClientId=ids["client_id"], AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": "applicant@example.id", "PASSWORD": "Rohil-Secret-9a"})
    print(json.dumps({"number": item["number"]["S"], "body": body, "message": messages[0]["Body"],
                      "token": "IdToken" in auth["AuthenticationResult"]}))
"""


def test_snapshot_survives_a_restart(aws: LocalAws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ddb, s3, sqs, sns, idp = (client(aws, s) for s in ("dynamodb", "s3", "sqs", "sns", "cognito-idp"))
    ddb.create_table(
        TableName="contract-persist",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(
        TableName="contract-persist", Item={"pk": {"S": "permit#1"}, "number": {"S": "503/DPMPTSP/2026"}}
    )
    s3.create_bucket(Bucket="contract-persist", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="contract-persist", Key="permits/1.pdf", Body=b"%PDF permit")
    queue_url = sqs.create_queue(QueueName="contract-persist")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name="contract-persist")["TopicArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    sns.publish(TopicArn=topic, Message="before-restart")
    pool_id = idp.create_user_pool(PoolName="contract-persist")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="applicant@example.id", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username="applicant@example.id", Password="Rohil-Secret-9a", Permanent=True
    )

    snapshot = tmp_path / "state" / "moto.snapshot"
    started = time.monotonic()
    aws.snapshot(snapshot)
    print(
        f"snapshot: {snapshot.stat().st_size / 1024:.0f} KiB in {(time.monotonic() - started) * 1000:.0f} ms"
    )
    assert not list(snapshot.parent.glob("*.tmp"))
    aws.stop()

    # In this process: a new server, emptied, then restored.
    try:
        with LocalAws(handler_resolver=HANDLERS.get) as second:
            second.reset()
            ddb2, s32, sqs2, sns2, idp2 = (
                client(second, s) for s in ("dynamodb", "s3", "sqs", "sns", "cognito-idp")
            )
            assert ddb2.list_tables()["TableNames"] == []
            assert second.restore(snapshot) is True
            item = ddb2.get_item(TableName="contract-persist", Key={"pk": {"S": "permit#1"}})["Item"]
            assert item["number"] == {"S": "503/DPMPTSP/2026"}
            assert (
                s32.get_object(Bucket="contract-persist", Key="permits/1.pdf")["Body"].read()
                == b"%PDF permit"
            )
            # The subscription and the queue came back together: a new publish is delivered too.
            sns2.publish(TopicArn=topic, Message="after-restart")
            queue_url2 = sqs2.get_queue_url(QueueName="contract-persist")["QueueUrl"]
            bodies = {
                m["Body"]
                for m in sqs2.receive_message(QueueUrl=queue_url2, MaxNumberOfMessages=10, WaitTimeSeconds=1)[
                    "Messages"
                ]
            }
            assert bodies == {"before-restart", "after-restart"}
            tokens = idp2.initiate_auth(
                ClientId=client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "applicant@example.id", "PASSWORD": "Rohil-Secret-9a"},
            )["AuthenticationResult"]
            jwks = jwt.PyJWKClient(f"{second.endpoint_url}/{pool_id}/.well-known/jwks.json")
            key = jwks.get_signing_key_from_jwt(tokens["IdToken"]).key
            assert jwt.decode(tokens["IdToken"], key, algorithms=["RS256"], audience=client_id)

            assert second.restore(tmp_path / "missing.snapshot") is False
            monkeypatch.setattr(persistence, "_moto_version", lambda: "0.0.0")
            with pytest.raises(persistence.SnapshotVersionError, match="moto"):
                second.restore(snapshot)
    finally:
        aws.start()  # the module's server, on a new port, for any test after this one

    # In a fresh process: nothing but the file carries the state.
    result = subprocess.run(
        [sys.executable, "-c", RESTORED_PROBE, str(snapshot), json.dumps({"client_id": client_id})],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "number": "503/DPMPTSP/2026",
        "body": "%PDF permit",
        "message": "before-restart",
        "token": True,
    }
