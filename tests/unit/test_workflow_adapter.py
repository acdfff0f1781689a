"""The Step Functions adapter against the AWS API contract, with no network: botocore's Stubber answers, but
the client still validates every call against the service model (a malformed SendTaskFailure fails here)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from silastri.adapters import workflow
from silastri.domain.errors import ConflictError


@pytest.fixture
def stubbed(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    sfn = boto3.session.Session().client("stepfunctions", region_name="ap-southeast-3")
    monkeypatch.setattr(workflow, "client", lambda service: sfn)
    with Stubber(sfn) as stub:
        yield stub
        stub.assert_no_pending_responses()


def test_a_decision_on_the_normal_path_resumes_with_send_task_success(stubbed):
    output = {"outcome": "verified", "task_id": "t-1", "step": "verification"}
    stubbed.add_response("send_task_success", {}, {"taskToken": "token-1", "output": json.dumps(output)})
    workflow.resume("token-1", output)


def test_a_decision_leaving_the_path_resumes_with_send_task_failure_its_error_and_the_decision_as_cause(stubbed):
    output = {"outcome": "returned", "task_id": "t-2", "step": "verification"}
    stubbed.add_response("send_task_failure", {}, {"taskToken": "token-2", "error": "Keputusan.Kembalikan",
                                                   "cause": json.dumps(output)})
    workflow.resume("token-2", output, error="Keputusan.Kembalikan")


@pytest.mark.parametrize("code", ["TaskDoesNotExist", "TaskTimedOut", "InvalidToken"])
def test_a_run_that_no_longer_waits_is_a_conflict_either_way(stubbed, code):
    stubbed.add_client_error("send_task_failure", service_error_code=code, http_status_code=400)
    with pytest.raises(ConflictError):
        workflow.resume("token-3", {"outcome": "withdrawn", "task_id": "t-3"}, error="Keputusan.Tarik")
