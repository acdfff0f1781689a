"""Every AWS call a function makes, recorded on the local runtime while permits go through the SOP (issued,
returned, rejected, withdrawn, paid, overdue, a run stopped), is allowed by the role template.yaml gives that
function. moto does not enforce IAM: without this check a missing grant would show only on AWS, at the first call
(e.g. the SLA monitor writing its escalation into the audit trail)."""

from __future__ import annotations

import fnmatch
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from silastri_local import template as tpl
from silastri_local.client import ApiClient, wait_for
from silastri_local.journey import Journey, officer_clients
from silastri_local.moto_server import running_function
from silastri_local.runtime import LocalStack

#: The actions of the SAM policy templates template.yaml uses, as SAM expands them (aws-sam-translator,
#: samtranslator/policy_templates_data/policy_templates.json) and the template parameter naming the resource.
SAM_POLICY_TEMPLATES: dict[str, tuple[str, set[str]]] = {
    "DynamoDBCrudPolicy": ("TableName", {
        "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:Query",
        "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:DescribeTable",
        "dynamodb:ConditionCheckItem"}),
    "DynamoDBReadPolicy": ("TableName", {
        "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:DescribeTable"}),
    "S3CrudPolicy": ("BucketName", {
        "s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion", "s3:PutObject",
        "s3:PutObjectAcl", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration", "s3:DeleteObject"}),
    "SNSPublishMessagePolicy": ("TopicName", {"sns:Publish"}),
    "LambdaInvokePolicy": ("FunctionName", {"lambda:InvokeFunction"}),
    "AWSSecretsManagerGetSecretValuePolicy": ("SecretArn", {"secretsmanager:GetSecretValue"}),
    "SSMParameterReadPolicy": ("ParameterName", {
        "ssm:DescribeParameters", "ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"}),
}
WILDCARD = "*"

Grant = tuple[set[str], set[str]]  # (IAM action patterns, logical ids of the resources, or {"*"})


def grants_of(spec: tpl.FunctionSpec, resources: set[str] | None = None) -> list[Grant]:
    """The function's `Policies` as (actions, resources) pairs; fails on a policy this check cannot read.
    `resources`: the template's logical ids; a grant naming none of them (a parameter, a pseudo parameter, an ARN
    pattern) counts as granting the action on any resource."""
    grants: list[Grant] = []

    def named(value: Any) -> set[str]:
        found = tpl.references(value)
        return (found if resources is None else found & resources) or {WILDCARD}

    for policy in spec.properties.get("Policies", []):
        assert isinstance(policy, dict), f"{spec.logical_id}: managed policy {policy!r} is not read by this check"
        for name, args in policy.items():
            if name == "Statement":
                for statement in args:
                    assert statement.get("Effect", "Allow") == "Allow", f"{spec.logical_id}: Deny not read here"
                    actions = statement["Action"]
                    grants.append(({actions} if isinstance(actions, str) else set(actions),
                                   named(statement.get("Resource", WILDCARD))))
            else:
                assert name in SAM_POLICY_TEMPLATES, f"{spec.logical_id}: add {name}'s actions from SAM's templates"
                parameter, actions = SAM_POLICY_TEMPLATES[name]
                grants.append((actions, named(args[parameter])))
    return grants


def allowed(grants: list[Grant], action: str, resource: str) -> bool:
    """Whether a grant allows `action` on `resource` (a logical id; "*": a call that names none, e.g. a task
    token's SendTaskSuccess, checked on its action)."""
    return any(any(fnmatch.fnmatchcase(action, pattern) for pattern in actions)
               and (WILDCARD in resources or resource in resources or resource == WILDCARD)
               for actions, resources in grants)


# ----------------------------------------------------------------------------- what the functions call

_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
_S3 = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket",
       "HeadBucket": "ListBucket"}


def needs(service: str, operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The IAM (action, physical resource) pairs an SDK call needs (AWS's service authorization reference)."""
    if service == "dynamodb":
        if operation in ("BatchGetItem", "BatchWriteItem"):
            for table in params.get("RequestItems", {}):
                yield f"dynamodb:{operation}", table
        elif operation in ("TransactWriteItems", "TransactGetItems"):
            for entry in params.get("TransactItems", []):
                for kind, item in entry.items():
                    yield f"dynamodb:{_TRANSACT.get(kind, 'GetItem')}", item["TableName"]
        else:
            yield f"dynamodb:{operation}", params.get("TableName", WILDCARD)
    elif service == "s3":
        if operation == "CopyObject":
            source = params["CopySource"]
            yield "s3:GetObject", (source["Bucket"] if isinstance(source, dict) else source.lstrip("/").split("/")[0])
            yield "s3:PutObject", params["Bucket"]
        else:
            yield f"s3:{_S3.get(operation, operation)}", params.get("Bucket", WILDCARD)
    elif service == "sns":
        yield f"sns:{operation}", params.get("TopicArn", WILDCARD)
    elif service == "sqs":
        yield f"sqs:{operation}", params.get("QueueUrl", WILDCARD)
    elif service == "stepfunctions":
        arn = params.get("stateMachineArn") or params.get("executionArn") or WILDCARD
        yield f"states:{operation}", arn
    elif service == "lambda":
        yield "lambda:InvokeFunction" if operation == "Invoke" else f"lambda:{operation}", params.get("FunctionName", "")
    elif service == "cognito-idp":
        yield f"cognito-idp:{operation}", params.get("UserPoolId", WILDCARD)
    elif service == "secretsmanager":
        yield f"secretsmanager:{operation}", params.get("SecretId", WILDCARD)
    elif service == "ssm":
        yield f"ssm:{operation}", params.get("Name", WILDCARD)
    else:
        yield f"{service}:{operation}", WILDCARD


#: local adapters whose AWS calls stand in for what AWS does itself (the local outbox publishes the delivery
#: statuses End User Messaging Social and SES publish on AWS): not the function's calls
LOCAL_STAND_INS = ("LocalOutbox.",)


def _local_stand_in() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_qualname.startswith(LOCAL_STAND_INS):
            return True
        frame = frame.f_back
    return False


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[LocalStack, set[tuple[str, str, str]]]]:
    """A stack with its queues and run-status rule served, and every (function, action, resource) its
    functions' handlers called."""
    calls: set[tuple[str, str, str]] = set()
    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation: str, params: dict[str, Any]) -> Any:
        function = running_function()
        if function is not None and not _local_stand_in():
            service = self.meta.service_model.service_name
            with lock:
                calls.update((function, action, resource) for action, resource in needs(service, operation, params))
        return original(self, operation, params)

    saved = dict(os.environ)
    botocore.client.BaseClient._make_api_call = recording
    try:
        with tempfile.TemporaryDirectory(prefix="silastri-permissions-") as data_dir, \
                LocalStack(data_dir=Path(data_dir), api_port=0, persist=False, run_schedules=False) as stack:
            _play(stack, calls)
            yield stack, calls
    finally:
        botocore.client.BaseClient._make_api_call = original
        os.environ.clear()
        os.environ.update(saved)


def _play(stack: LocalStack, calls: set[tuple[str, str, str]]) -> None:
    """Drive every function at least once: permits issued (with and without an assessed payment), a return, a
    revision, a rejection, a withdrawal, an overdue task, decisions left half-done, a failed step, a stopped run, a
    redrive."""
    from silastri.adapters import dynamo
    from silastri.adapters.identity import Principal
    from silastri.domain.models import Task
    from silastri.services import tasks

    def opened_office(j: Journey) -> str:
        return dynamo.get_application(j.application_id, documents=False).office_id

    api = ApiClient(stack.api_url)
    staff = officer_clients(api, stack.officers)
    applicant = Journey(api, staff, "izin-operasional-orsos").register()

    def journey(permit_type: str) -> Journey:
        return Journey(api, staff, permit_type, applicant=applicant)

    journey("izin-operasional-orsos").run_to_pickup()
    journey("izin-pemakaian-kekayaan-daerah").run_to_pickup()  # payment assessed by the technical team
    Journey(api, officer_clients(api, stack.officers, "bengkalis"), "izin-pemakaian-gedung-olahraga",
            office_id="bengkalis", applicant=applicant).run_to_pickup()  # a fixed payment
    returned = journey("izin-operasional-orsos")
    returned.apply()
    returned.submit()
    returned.advance(until="approval")
    returned.decide("approver", "approval", "returned", "Periksa kembali lampiran")
    returned.decide("verifier", "verification", "verified", "Sudah diperiksa ulang")
    returned.decide("approver", "approval", "rejected", "Tidak memenuhi syarat")
    returned.decide("head", "rejection_signing", "signed")
    returned.wait_status(lambda s: s["status"] == "rejected", "rejection")
    incomplete = journey("izin-operasional-orsos")
    incomplete.apply()
    incomplete.submit()
    incomplete.decide("back_office", "completeness_check", "incomplete", "Lengkapi KTP pengurus")
    incomplete.wait_status(lambda s: s["status"] == "awaiting_revision", "revision requested")
    applicant.post(f"/api/applications/{incomplete.application_id}/withdraw", {"reason": "Tidak jadi"})
    incomplete.wait_status(lambda s: s["status"] == "withdrawn", "withdrawn")
    # an overdue task: the SLA monitor reminds, then escalates (writing the audit trail)
    overdue = journey("izin-operasional-orsos")
    overdue.apply()
    overdue.submit()
    task = overdue.task("back_office", "completeness_check")
    opened = dynamo.get_task(task["task_id"])
    stack.invoke("SlaMonitorFunction", {})  # nothing due yet
    dynamo.open_task(Task(task_id=uuid.uuid4().hex, application_id=opened.application_id, office_id=opened.office_id,
                          step="verification", role="verifier", opened_at=datetime.now(UTC) - timedelta(hours=2),
                          execution_name="x", due_at=datetime.now(UTC) - timedelta(hours=1),
                          remind_at=datetime.now(UTC) - timedelta(hours=1, minutes=30),
                          sla={"standard": "10 menit", "budget_minutes": 10, "consumed_minutes": 0}), "t")
    assert stack.invoke("SlaMonitorFunction", {})["escalated"] >= 1
    # decisions whose API call died (the claims sweeper): one before its effects were made, one before its hand-over
    stale = journey("izin-operasional-orsos")
    stale.apply()
    stale.submit()
    dead_claim = stale.task("back_office", "completeness_check")["task_id"]
    dynamo.claim_task(dead_claim, "c-dead", "complete", None, "officer-x", datetime.now(UTC) - timedelta(minutes=10))
    assert stack.invoke("RecoverClaimsFunction", {})["released"] == 1

    def died(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the API function timed out here")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "_deliver", died)
        patch.setattr(tasks, "now_utc", lambda: datetime.now(UTC) - timedelta(minutes=10))
        with pytest.raises(RuntimeError):
            tasks.decide(Principal(user_id="officer-x", roles={"back_office"}, office_id=opened_office(stale)),
                         dead_claim, "complete", "Berkas lengkap", {})
    assert stack.invoke("RecoverClaimsFunction", {})["delivered"] == 1
    # a step that kept failing: the ASL's catch-all state records it (invoked here as the state would)
    stack.invoke("RecordFailureFunction", {"application_id": opened.application_id, "error": {"Error": "X"}})
    # a run stopped from outside: the run-status rule's function records it
    sfn = boto3.client("stepfunctions")
    arn = os.environ["STATE_MACHINE_ARN"].replace(":stateMachine:", ":execution:")
    sfn.stop_execution(executionArn=f"{arn}:{dynamo.get_application(opened.application_id).execution_name}")
    stack.invoke("NotificationsRedriveFunction", {"include_failed": True})
    for function in ("ReconcileRunFunction", "DeliveryStatusFunction"):  # served from a poller: in a moment
        wait_for(lambda name=f"silastri-{function}": any(call[0] == name for call in list(calls)) or None,
                 timeout=60, what=f"{function} at work")


def test_every_call_a_function_made_is_granted_by_its_role(recorded):
    stack, calls = recorded
    assert stack.resources
    physical: dict[str, str] = {}
    for logical, value in stack.resources.refs.items():
        physical[str(value)] = logical
    for (logical, _attribute), value in stack.resources.attrs.items():
        physical[str(value)] = logical
    machine = os.environ["STATE_MACHINE_ARN"]

    def logical_id(resource: str) -> str:
        if resource.startswith(machine.replace(":stateMachine:", ":execution:")):
            resource = machine
        return physical.get(resource, resource)

    logical_ids = set(stack.template["Resources"])
    functions = {f"silastri-{logical}": spec for logical, spec in stack.specs.items()}
    missing = sorted({(function.removeprefix("silastri-"), action, logical_id(resource))
                      for function, action, resource in calls
                      if not allowed(grants_of(functions[function], logical_ids), action, logical_id(resource))})
    assert not missing, "calls the function's role does not allow:\n" + "\n".join(map(str, missing))
    called = {function.removeprefix("silastri-") for function, _, _ in calls}
    # the check saw the functions at work (a recorder that saw nothing would pass anything)
    assert {"ApiFunction", "OpenHumanTaskFunction", "NotifierFunction", "SlaMonitorFunction", "ReconcileRunFunction",
            "IssueReceiptFunction", "CloseApplicationFunction", "RecordReturnFunction", "PrepareRejectionFunction",
            "RequestRevisionFunction", "IssuePaymentReferenceFunction", "RecordFixedAssessmentFunction",
            "RecordFailureFunction", "NotificationsRedriveFunction",
            "DeliveryStatusFunction", "RecoverClaimsFunction"} <= called, called


def test_the_check_refuses_what_a_role_does_not_grant():
    spec = tpl.FunctionSpec(logical_id="X", code_uri=Path("."), handler="app.handler", properties={"Policies": [
        {"DynamoDBReadPolicy": {"TableName": {"Ref": "TasksTable"}}},
        {"Statement": [{"Effect": "Allow", "Action": ["states:SendTaskSuccess"],
                        "Resource": {"Ref": "LicensingStateMachine"}}]}]})
    grants = grants_of(spec)
    assert allowed(grants, "dynamodb:Query", "TasksTable")
    assert not allowed(grants, "dynamodb:PutItem", "TasksTable")
    assert not allowed(grants, "dynamodb:GetItem", "EventsTable")
    assert allowed(grants, "states:SendTaskSuccess", "LicensingStateMachine")
    assert not allowed(grants, "states:SendTaskFailure", "LicensingStateMachine")
    assert list(needs("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"ConditionCheck": {"TableName": "A"}}, {"Put": {"TableName": "B"}}]})) == [
        ("dynamodb:ConditionCheckItem", "A"), ("dynamodb:PutItem", "B")]
