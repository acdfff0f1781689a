"""The local emulator's journal: acknowledged writes survive kill -9, nothing is applied twice, failures are loud.

The writing side runs in a child process that kills itself with SIGKILL right after its
last acknowledged write (no snapshot, no clean stop); another child recovers the data
directory and reports what it finds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from silastri_local import durability
from silastri_local.template import ROOT

CHILD = r'''
import json, os, shutil, signal, sys
from pathlib import Path
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from silastri_local import persistence
from silastri_local.moto_server import LocalAws

data, phase = Path(sys.argv[1]), sys.argv[2]
aws = LocalAws().start()
report = aws.open_store(data)
kw = dict(endpoint_url=aws.endpoint_url, region_name="ap-southeast-3", aws_access_key_id="testing",
          aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
ddb, s3, idp, sqs, sns = (boto3.client(s, **kw) for s in ("dynamodb", "s3", "cognito-idp", "sqs", "sns"))
TABLE, BUCKET, PASSWORD = "durable", "durable-bucket", "Durable-Secret-77a"

def crash(result):
    print(json.dumps(result), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

def code(call):
    try:
        call()
        return 200
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"]

if phase == "write":
    ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    for _ in range(40):  # not idempotent: a record applied twice shows
        ddb.update_item(TableName=TABLE, Key={"pk": {"S": "counter"}}, UpdateExpression="ADD n :one",
                        ExpressionAttributeValues={":one": {"N": "1"}})
    refused = code(lambda: ddb.put_item(TableName=TABLE, Item={"pk": {"S": "counter"}},
                                        ConditionExpression="attribute_not_exists(pk)"))
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "permit#1"}, "number": {"S": "503/0001"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": TABLE, "Key": {"pk": {"S": "counter"}}, "UpdateExpression": "SET latest = :n",
                    "ExpressionAttributeValues": {":n": {"S": "503/0001"}}}}])
    ddb.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}} for i in range(5)]})
    ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "b0"}})
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-3"})
    s3.put_object(Bucket=BUCKET, Key="keep.pdf", Body=b"%PDF keep")
    s3.put_object(Bucket=BUCKET, Key="gone.pdf", Body=b"%PDF gone")
    s3.delete_object(Bucket=BUCKET, Key="gone.pdf")
    pool = idp.create_user_pool(PoolName="durable")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="web",
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    sub = idp.sign_up(ClientId=client, Username="applicant@example.id", Password=PASSWORD)["UserSub"]
    idp.admin_confirm_sign_up(UserPoolId=pool, Username="applicant@example.id")
    tokens = idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "applicant@example.id", "PASSWORD": PASSWORD})["AuthenticationResult"]
    queue = sqs.create_queue(QueueName="durable-notes")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="durable-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    for i in range(3):
        sns.publish(TopicArn=topic, Message=f"published-{i}")
    sqs.send_message(QueueUrl=queue, MessageBody="sent-0")
    sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": "a", "MessageBody": "sent-1"}])
    handled = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=1)["Messages"][0]
    sqs.delete_message(QueueUrl=queue, ReceiptHandle=handled["ReceiptHandle"])
    crash({"refused": refused, "pool": pool, "client": client, "sub": sub, "password": PASSWORD,
           "tokens": [tokens["IdToken"], tokens["AccessToken"], tokens["RefreshToken"]],
           "appends": aws.store.appends, "mean_append_ms": aws.store.stats()["mean_append_ms"]})

elif phase == "compact-then-crash-before-cleanup":
    # The snapshot is renamed into place, then the process dies before deleting the journal it contains.
    saved = {p.name: p.read_bytes() for p in data.glob("journal.*.log")}
    aws.store.compact()
    for name, content in saved.items():
        (data / name).write_bytes(content)
    crash({"restored_journals": sorted(saved)})

elif phase == "fail-journal":
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "before-failure"}})
    full = os.open("/dev/full", os.O_WRONLY)  # every write: ENOSPC, as on a full disk
    os.dup2(full, aws.store.journal._fd)
    def error(call):
        try:
            call()
        except ClientError as exc:
            return [exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"],
                    exc.response["Error"].get("Message", "")]
        return None
    first = error(lambda: ddb.put_item(TableName=TABLE, Item={"pk": {"S": "refused-1"}}))
    later = error(lambda: ddb.put_item(TableName=TABLE, Item={"pk": {"S": "refused-2"}}))
    upload = error(lambda: s3.put_object(Bucket=BUCKET, Key="refused.pdf", Body=b"%PDF"))
    user = error(lambda: idp.admin_create_user(UserPoolId=sys.argv[3], Username="refused@example.id",
                                               MessageAction="SUPPRESS"))
    read = "Item" in ddb.get_item(TableName=TABLE, Key={"pk": {"S": "before-failure"}})
    crash({"first": first, "later": later, "upload": upload, "user": user, "read": read,
           "failure": aws.store.failure})

elif phase == "fail-snapshot":
    def refuse(path, data):
        raise OSError(28, "No space left on device", str(path))
    persistence.write_snapshot = refuse
    try:
        aws.store.compact()
        compact = "ok"
    except Exception as exc:
        compact = type(exc).__name__
    status = code(lambda: ddb.put_item(TableName=TABLE, Item={"pk": {"S": "after-snapshot-failure"}}))
    crash({"compact": compact, "status": status, "failure": aws.store.failure})

elif phase == "read":
    item = lambda pk: ddb.get_item(TableName=TABLE, Key={"pk": {"S": pk}}).get("Item")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))
    pool, client = sys.argv[3], sys.argv[4]
    user = idp.admin_get_user(UserPoolId=pool, Username="applicant@example.id")
    sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
    login = idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "applicant@example.id", "PASSWORD": "Durable-Secret-77a"})["AuthenticationResult"]
    queue = sqs.get_queue_url(QueueName="durable-notes")["QueueUrl"]
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages", [])
        if not got:
            break
        bodies += [m["Body"] for m in got]
    print(json.dumps({
        "queued": sorted(bodies),
        "counter": item("counter")["n"]["N"], "last": item("counter")["latest"]["S"],
        "permit": item("permit#1")["number"]["S"], "batch": sorted(k for k in ("b0", "b1", "b2", "b3", "b4") if item(k)),
        "refused": [k for k in ("refused-1", "refused-2", "after-snapshot-failure") if item(k)],
        "before_failure": bool(item("before-failure")),
        "objects": keys, "body": s3.get_object(Bucket=BUCKET, Key="keep.pdf")["Body"].read().decode(),
        "sub": sub, "status": user["UserStatus"], "login": "IdToken" in login,
        "report": {"snapshot": report.snapshot, "requests": report.replayed_requests,
                   "states": report.replayed_states, "skipped": report.skipped, "diverged": report.diverged}}),
        flush=True)
    aws.stop()
'''


def run_child(data: Path, phase: str, *args: str, killed: bool = True) -> tuple[dict, str]:
    """Run one phase in a fresh interpreter; returns its JSON line and its stderr."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "infra"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", CHILD, str(data), phase, *args], capture_output=True, text=True,
                            timeout=120, env=env, cwd=ROOT, check=False)
    expected = -9 if killed else 0
    assert result.returncode == expected, f"{phase}: exit {result.returncode}\n{result.stderr[-3000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dict]:
    data = tmp_path_factory.mktemp("durable")
    facts, _ = run_child(data, "write")
    print(f"journal: {facts['appends']} appends, mean {facts['mean_append_ms']} ms (write + fdatasync)")
    return data, facts


def test_every_acknowledged_write_survives_kill_9_without_any_snapshot(written):
    data, facts = written
    assert facts["refused"] == 400  # the failed conditional put changed nothing and was not journaled
    assert not (data / "aws-state.pickle").exists()  # only the journal carries the state
    state, stderr = run_child(data, "read", facts["pool"], facts["client"], killed=False)
    assert "journal replay" not in stderr, stderr
    assert state["counter"] == "40" and state["last"] == "503/0001" and state["permit"] == "503/0001"
    assert state["batch"] == ["b1", "b2", "b3", "b4"]
    assert state["objects"] == ["keep.pdf"] and state["body"] == "%PDF keep"
    assert state["sub"] == facts["sub"]  # Cognito is journaled as state: the applicant id stays the same
    assert state["status"] == "CONFIRMED" and state["login"]
    assert state["report"]["requests"] >= 40 + 4 and state["report"]["diverged"] == []
    # Every acknowledged message is back (the one handled before the crash too: at-least-once, consumers dedupe).
    assert state["queued"] == ["published-0", "published-1", "published-2", "sent-0", "sent-1"]
    # Recovering twice applies nothing twice.
    again, _ = run_child(data, "read", facts["pool"], facts["client"], killed=False)
    assert again["counter"] == "40" and again["batch"] == state["batch"]


def test_saved_files_hold_no_plaintext_password_and_no_issued_token(written):
    data, facts = written
    secrets = [facts["password"].encode(), *(t.encode() for t in facts["tokens"])]
    files = [p for p in data.rglob("*") if p.is_file()]
    assert any(p.name.startswith("journal.") for p in files)
    found = [(p.name, s[:12]) for p in files for s in secrets if s in p.read_bytes()]
    assert found == []


def test_a_crash_between_snapshot_and_journal_cleanup_applies_nothing_twice(written, tmp_path):
    data, facts = written
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in data.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    crashed, _ = run_child(copy, "compact-then-crash-before-cleanup")
    assert crashed["restored_journals"]
    state, _ = run_child(copy, "read", facts["pool"], facts["client"], killed=False)
    assert state["report"]["snapshot"] and state["report"]["skipped"] > 0
    assert state["counter"] == "40" and state["objects"] == ["keep.pdf"] and state["sub"] == facts["sub"]


def test_a_journal_failure_refuses_every_later_write_loudly(written, tmp_path):
    data, facts = written
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in data.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    failed, stderr = run_child(copy, "fail-journal", facts["pool"])
    for answer in (failed["first"], failed["later"], failed["upload"], failed["user"]):
        assert answer is not None and answer[0] == 503, failed
    assert failed["first"][1] == "ServiceUnavailable" and "No space left on device" in failed["first"][2]
    assert failed["read"] is True  # reads still work
    assert "PERSISTENCE FAILED" in stderr and "No space left on device" in stderr
    state, _ = run_child(copy, "read", facts["pool"], facts["client"], killed=False)
    assert state["before_failure"] and state["refused"] == []  # nothing answered 503 came back


def test_a_snapshot_failure_refuses_writes_loudly(written, tmp_path):
    data, facts = written
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in data.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    failed, stderr = run_child(copy, "fail-snapshot")
    assert failed["compact"] == "PersistenceFailure" and failed["status"] == 503
    assert "could not be written" in failed["failure"] and "PERSISTENCE FAILED" in stderr
    state, _ = run_child(copy, "read", facts["pool"], facts["client"], killed=False)
    assert state["counter"] == "40" and state["refused"] == []


def test_a_torn_tail_is_ignored_and_whole_records_are_kept(tmp_path):
    journal = durability.Journal(tmp_path, 1, last_seq=10)
    for payload in (b"one", b"two", b"three"):
        journal.append(payload)
    journal.close()
    path = tmp_path / "journal.00000001.log"
    whole = path.read_bytes()
    record = durability._FRAME.size + len(b"one")  # the first frame
    assert list(durability.read_journal(path)) == [(11, b"one"), (12, b"two"), (13, b"three")]
    for torn in (whole + whole[:5], whole + whole[: record - 1]):  # a crash in the middle of the next append
        path.write_bytes(torn)
        assert list(durability.read_journal(path)) == [(11, b"one"), (12, b"two"), (13, b"three")]
    path.write_bytes(whole + whole[:record])  # an older record repeated after the tail is not a new one
    assert list(durability.read_journal(path)) == [(11, b"one"), (12, b"two"), (13, b"three")]
    corrupted = bytearray(whole)
    corrupted[-2] ^= 0xFF  # a flipped bit in the last record
    path.write_bytes(bytes(corrupted))
    assert list(durability.read_journal(path)) == [(11, b"one"), (12, b"two")]
