"""Operations in the template: every log group keeps logs for a set time, the alarms and the dashboard watch
resources that exist and the counters the code emits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from silastri import observability
from silastri_local import template as tpl

PSEUDO = {"AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::Partition", "AWS::NoValue", "AWS::URLSuffix"}
COUNTERS = {observability.APPLICATIONS_SUBMITTED, observability.APPLICATIONS_DECIDED, observability.SLA_BREACHES,
            observability.DECISIONS_REFUSED, observability.NOTIFICATIONS_FAILED}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return tpl.load_template()


def _known(template: dict[str, Any]) -> set[str]:
    return set(template["Resources"]) | set(template.get("Parameters", {})) | PSEUDO


def test_every_function_has_its_log_group_with_a_retention(template):
    groups = tpl.resources_of_type(template, "AWS::Logs::LogGroup")
    named = {}
    for logical, group in groups.items():
        props = group["Properties"]
        assert "RetentionInDays" in props, f"{logical} keeps logs forever"
        retention = props["RetentionInDays"]
        if isinstance(retention, dict):
            parameter = template["Parameters"][retention["Ref"]]
            assert int(parameter["Default"]) >= 30 and all(int(v) >= 30 for v in parameter["AllowedValues"])
        named[json.dumps(props["LogGroupName"], sort_keys=True)] = logical
    for spec in tpl.functions(template):
        expected = json.dumps({"Fn::Sub": f"/aws/lambda/${{{spec.logical_id}}}"}, sort_keys=True)
        assert expected in named, f"{spec.logical_id} has no declared log group (Lambda would keep its logs forever)"
        assert "LoggingConfig" not in spec.properties  # the group is found by its default name


def test_the_state_machine_logs_only_to_a_group_with_retention(template):
    for logical, machine in tpl.resources_of_type(template, "AWS::Serverless::StateMachine").items():
        logging = machine["Properties"].get("Logging")
        if logging:  # logging is optional; when declared it must go to a declared group with retention
            for destination in logging["Destinations"]:
                group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
                assert "RetentionInDays" in template["Resources"][group]["Properties"], logical


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in tpl.resources_of_type(template, "AWS::CloudWatch::Alarm").items()}


def test_the_alarms_watch_the_workflow_the_dead_letter_queue_sla_breaches_and_lambda_errors(template):
    watched = {(a["Namespace"], a["MetricName"]): a for a in _alarms(template).values()}
    dimensions = {key: {d["Name"]: d["Value"] for d in a.get("Dimensions", [])} for key, a in watched.items()}
    machine = {"Ref": "LicensingStateMachine"}
    assert dimensions[("AWS/States", "ExecutionsFailed")] == {"StateMachineArn": machine}
    assert dimensions[("AWS/States", "ExecutionsTimedOut")] == {"StateMachineArn": machine}
    # one depth alarm per dead-letter queue: notifications not delivered, delivery statuses not applied
    depth = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]: a for a in _alarms(template).values()
             if (a["Namespace"], a["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")}
    assert set(depth) == {"NotificationsDeadLetterQueue", "DeliveryStatusDeadLetterQueue"}
    for dlq_name, dlq in depth.items():
        assert [d["Name"] for d in dlq["Dimensions"]] == ["QueueName"]
        assert dlq["Dimensions"][0]["Value"] == {"Fn::GetAtt": [dlq_name, "QueueName"]}
        assert (dlq["ComparisonOperator"], dlq["Threshold"]) == ("GreaterThanThreshold", 0)  # depth > 0
    for queue_name, dlq_name in [("NotificationsQueue", "NotificationsDeadLetterQueue"),
                                 ("DeliveryStatusQueue", "DeliveryStatusDeadLetterQueue")]:
        queue = template["Resources"][queue_name]["Properties"]
        assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [dlq_name, "Arn"]}
    # the SLA alarm watches the total the code emits (dimension `service` only)
    assert dimensions[(observability.NAMESPACE, observability.SLA_BREACHES)] == {"service": observability.SERVICE}
    assert ("AWS/Lambda", "Errors") in watched
    for logical, alarm in _alarms(template).items():
        assert tpl.references(alarm) <= _known(template), f"{logical} points at a missing resource"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], logical
        assert alarm["TreatMissingData"] == "notBreaching", logical


def test_the_alarm_topic_mails_the_operator_only_when_one_is_given(template):
    assert template["Parameters"]["OperatorEmail"]["Default"] == ""
    assert template["Conditions"]["HasOperatorEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OperatorEmail"}, ""]}]}
    topic = template["Resources"]["AlarmTopic"]["Properties"]
    condition, subscriptions, otherwise = topic["Subscription"]["Fn::If"]
    assert condition == "HasOperatorEmail" and otherwise == {"Ref": "AWS::NoValue"}
    assert subscriptions == [{"Protocol": "email", "Endpoint": {"Ref": "OperatorEmail"}}]


def _dashboard(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (dashboard,) = tpl.resources_of_type(template, "AWS::CloudWatch::Dashboard").values()
    text = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    assert isinstance(text, str)
    return text, json.loads(re.sub(r"\$\{[A-Za-z0-9_:.]+\}", "x", text))


def test_the_dashboard_is_valid_json_and_refers_to_real_resources(template):
    text, body = _dashboard(template)
    assert body["widgets"]
    names = {m.split(".", 1)[0] for m in re.findall(r"\$\{([A-Za-z0-9_:.]+)\}", text)}
    assert names <= _known(template), names - _known(template)
    for spec in tpl.functions(template):
        assert f"${{{spec.logical_id}}}" in text, f"{spec.logical_id}'s errors are not on the dashboard"
    for alarm in _alarms(template):
        assert f"${{{alarm}.Arn}}" in text, f"{alarm} is not on the dashboard"
    assert "${LicensingStateMachine}" in text
    for queue in ("NotificationsQueue", "NotificationsDeadLetterQueue", "DeliveryStatusDeadLetterQueue"):
        assert f"${{{queue}.QueueName}}" in text, f"{queue}'s depth is not on the dashboard"


def test_the_dashboard_shows_every_counter_the_code_emits(template):
    text, _ = _dashboard(template)
    for counter in COUNTERS:
        assert counter in text, f"{counter} is emitted but not on the dashboard"
    named_in_code = set(re.findall(r'^[A-Z_]+ = "([A-Za-z]+)"', (tpl.ROOT / "layers/common/python/silastri/"
                                                                  "observability.py").read_text(), re.M))
    assert named_in_code >= COUNTERS
