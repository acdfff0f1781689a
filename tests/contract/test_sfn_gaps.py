"""Pins the Step Functions behaviours the decision path relies on, on moto's interpreter with the
runtime's patches: a stopped run refuses its token; a token may be used from inside the invocation
that received it (a resumed run delivering a decision claimed before a crash)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from silastri_local import sfn_gaps
from silastri_local.moto_server import LocalAws

REGION = "ap-southeast-3"
ROLE = "arn:aws:iam::123456789012:role/sfn"
TOKENS: dict[str, str] = {}
SELF_RESUMED: list[str] = []
ENDPOINT: dict[str, str] = {}


def keep_token(event: dict[str, Any], context: Any) -> dict[str, Any]:
    TOKENS[event["app"]] = event["token"]
    return {}


def resume_own_token(event: dict[str, Any], context: Any) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", endpoint_url=ENDPOINT["url"], region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106
    sfn.send_task_success(taskToken=event["token"], output=json.dumps({"outcome": "delivered"}))
    SELF_RESUMED.append(event["app"])
    return {}


HANDLERS = {"keep_token": keep_token, "resume_own_token": resume_own_token}


def machine(function: str) -> dict[str, Any]:
    return {"StartAt": "Await", "States": {"Await": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": function, "Payload": {"token.$": "$$.Task.Token", "app.$": "$.app"}},
        "TimeoutSeconds": 60, "ResultPath": "$.decision", "End": True}}}


@pytest.fixture(scope="module")
def sfn():
    sfn_gaps.install()
    local = LocalAws(handler_resolver=HANDLERS.get).start()
    ENDPOINT["url"] = local.endpoint_url
    yield boto3.client("stepfunctions", endpoint_url=local.endpoint_url, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106
    local.stop()


def wait(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_a_stopped_run_ends_at_once_and_refuses_its_token(sfn):
    arn = sfn.create_state_machine(name="gaps-stop", definition=json.dumps(machine("keep_token")),
                                   roleArn=ROLE)["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn, name="app-stop", input=json.dumps({"app": "app-stop"}))
    token = wait(lambda: TOKENS.get("app-stop"))
    sfn.stop_execution(executionArn=run["executionArn"], error="Operator.Stopped", cause="test")
    status = wait(lambda: (lambda s: s if s != "RUNNING" else None)(
        sfn.describe_execution(executionArn=run["executionArn"])["status"]), timeout=3)
    assert status == "ABORTED"  # as on AWS (the interpreter alone says FAILED: see sfn_gaps)
    with pytest.raises(ClientError) as refused:
        sfn.send_task_success(taskToken=token, output="{}")
    assert refused.value.response["Error"]["Code"] in ("InvalidToken", "TaskDoesNotExist", "TaskTimedOut")
    with pytest.raises(ClientError) as failure_refused:  # a decision leaving the normal path: refused the same
        sfn.send_task_failure(taskToken=token, error="Keputusan.Kembalikan", cause="{}")
    assert failure_refused.value.response["Error"]["Code"] in ("InvalidToken", "TaskDoesNotExist", "TaskTimedOut")


def test_a_token_can_be_used_inside_the_invocation_that_received_it(sfn):
    arn = sfn.create_state_machine(name="gaps-self", definition=json.dumps(machine("resume_own_token")),
                                   roleArn=ROLE)["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn, name="app-self", input=json.dumps({"app": "app-self"}))
    done = wait(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
        sfn.describe_execution(executionArn=run["executionArn"])))
    assert SELF_RESUMED == ["app-self"]
    assert done["status"] == "SUCCEEDED"
    assert json.loads(done["output"])["decision"] == {"outcome": "delivered"}


def test_a_task_failure_keeps_its_cause_for_the_catch(sfn):
    """A decision that leaves the normal path resumes the wait with SendTaskFailure (a named error, the decision
    as JSON cause); the Catch's ResultPath keeps both, as on AWS (moto alone drops the cause: see sfn_gaps)."""
    definition = machine("keep_token")
    definition["States"]["Await"].pop("End")
    definition["States"]["Await"] |= {"Next": "Normal", "Catch": [
        {"ErrorEquals": ["Keputusan.Kembalikan"], "ResultPath": "$.decision", "Next": "Returned"}]}
    definition["States"] |= {"Normal": {"Type": "Pass", "End": True}, "Returned": {"Type": "Pass", "End": True}}
    arn = sfn.create_state_machine(name="gaps-cause", definition=json.dumps(definition),
                                   roleArn=ROLE)["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn, name="app-cause", input=json.dumps({"app": "app-cause"}))
    cause = json.dumps({"outcome": "returned", "task_id": "t-1", "step": "verification"})
    sfn.send_task_failure(taskToken=wait(lambda: TOKENS.get("app-cause")), error="Keputusan.Kembalikan", cause=cause)
    done = wait(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
        sfn.describe_execution(executionArn=run["executionArn"])))
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["decision"] == {"Error": "Keputusan.Kembalikan", "Cause": cause}
    entered = [e["stateEnteredEventDetails"]["name"] for e in sfn.get_execution_history(
        executionArn=run["executionArn"])["events"] if "stateEnteredEventDetails" in e]
    assert entered == ["Await", "Returned"]


def test_the_patch_is_what_makes_stop_end_a_token_wait():
    assert sfn_gaps.installed()
    from moto.stepfunctions.parser.backend.execution import Execution

    assert Execution.stop is sfn_gaps._stop_and_wake


def test_a_run_can_continue_as_a_new_execution_of_its_own_machine(sfn):
    """`states:startExecution` with the ASL's parameter names starts the new run (the way a workflow can stay
    under the 365-day execution limit), and the calling run's result is AWS-shaped and describable."""
    definition = {"StartAt": "Again", "States": {
        "Again": {"Type": "Choice", "Choices": [{"Variable": "$.generation", "NumericEquals": 1, "Next": "Done"}],
                  "Default": "ContinueAsNew"},
        "ContinueAsNew": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution",
                          "Parameters": {"StateMachineArn.$": "$$.StateMachine.Id",
                                         "Name.$": "States.Format('{}-c1', $$.Execution.Name)",
                                         "Input": {"generation": 1}},
                          "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    arn = sfn.create_state_machine(name="gaps-continue", definition=json.dumps(definition),
                                   roleArn=ROLE)["stateMachineArn"]
    first = sfn.start_execution(stateMachineArn=arn, name="app-continue", input=json.dumps({"generation": 0}))
    done = wait(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
        sfn.describe_execution(executionArn=first["executionArn"])))
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["ExecutionArn"].endswith(":app-continue-c1") and isinstance(output["StartDate"], str)
    second = wait(lambda: (lambda d: d if d["status"] != "RUNNING" else None)(
        sfn.describe_execution(executionArn=output["ExecutionArn"])))
    assert second["status"] == "SUCCEEDED" and json.loads(second["input"]) == {"generation": 1}


def _lingering(timeout_seconds: int) -> dict[str, Any]:
    """A wait on a token (timing out after `timeout_seconds`, caught), then 5 s more of the same run."""
    definition = machine("keep_token")
    definition["States"]["Await"].update(TimeoutSeconds=timeout_seconds, Next="Linger", Catch=[
        {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "Linger"}])
    del definition["States"]["Await"]["End"]
    definition["States"]["Linger"] = {"Type": "Wait", "Seconds": 5, "End": True}
    return definition


@pytest.mark.parametrize("spent", ["timed_out", "used"])
def test_a_spent_token_is_refused_while_its_run_goes_on(sfn, spent):
    """AWS refuses a token whose wait is over: a lapse's timed-out revision, a decision handed over twice."""
    arn = sfn.create_state_machine(name=f"gaps-spent-{spent}", roleArn=ROLE, definition=json.dumps(
        _lingering(1 if spent == "timed_out" else 60)))["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn, name=f"app-{spent}", input=json.dumps({"app": f"app-{spent}"}))
    token = wait(lambda: TOKENS.get(f"app-{spent}"))
    if spent == "used":
        sfn.send_task_success(taskToken=token, output="{}")

    def lingering() -> bool:
        history = sfn.get_execution_history(executionArn=run["executionArn"])["events"]
        return any(e["type"] == "WaitStateEntered" for e in history)

    wait(lingering, timeout=10)
    assert sfn.describe_execution(executionArn=run["executionArn"])["status"] == "RUNNING"
    with pytest.raises(ClientError) as refused:
        sfn.send_task_success(taskToken=token, output="{}")
    assert refused.value.response["Error"]["Code"] in ("InvalidToken", "TaskDoesNotExist", "TaskTimedOut")
