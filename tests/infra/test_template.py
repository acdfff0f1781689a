"""The template and the ASL agree with each other and with the code on disk."""

import json
import subprocess
from pathlib import Path

import pytest
from silastri_local import template as tpl

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def template():
    return tpl.load_template()


def test_cfn_lint_reports_no_error():
    result = subprocess.run([str(ROOT / ".venv/bin/cfn-lint"), "template.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode in (0, 4, 8), result.stdout + result.stderr  # 4 = warnings, 8 = informational only


def test_asl_validator_accepts_the_state_machine():
    validator = ROOT / "node_modules/.bin/asl-validator"
    assert validator.exists(), "run make install (npm ci) first"
    result = subprocess.run([str(validator), "--json-path", "statemachine/licensing.asl.json"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_catches_a_next_to_a_missing_state(tmp_path):
    asl = json.loads((ROOT / "statemachine/licensing.asl.json").read_text())
    asl["States"]["RecordSubmission"]["Next"] = "NoSuchState"
    broken = tmp_path / "broken.asl.json"
    broken.write_text(json.dumps(asl))
    result = subprocess.run([str(ROOT / "node_modules/.bin/asl-validator"), "--json-path", str(broken)],
                            capture_output=True, text=True)
    assert result.returncode != 0


def test_every_definition_substitution_resolves(template):
    machine = tpl.resources_of_type(template, "AWS::Serverless::StateMachine")["LicensingStateMachine"]["Properties"]
    text = (ROOT / machine["DefinitionUri"]).read_text()
    subs = machine["DefinitionSubstitutions"]
    assert tpl.definition_placeholders(text) == set(subs)
    for name, value in subs.items():
        target = value["Fn::GetAtt"][0]
        assert target in template["Resources"], f"{name} points at missing {target}"
    tpl.render_definition(text, {k: "arn:aws:lambda:ap-southeast-3:123456789012:function:x" for k in subs})


def test_every_handler_path_resolves(template):
    for spec in tpl.functions(template):
        assert spec.module_path.exists(), f"{spec.logical_id}: {spec.module_path} missing"
        source = spec.module_path.read_text()
        assert f"def {spec.attribute}(" in source or f"{spec.attribute} = " in source, spec.logical_id


def test_every_human_step_waits_with_a_timeout_and_every_task_retries_and_catches():
    asl = json.loads((ROOT / "statemachine/licensing.asl.json").read_text())
    tasks = {n: s for n, s in asl["States"].items() if s["Type"] == "Task"}
    assert tasks
    for name, state in tasks.items():
        retry = state["Retry"][0]
        assert retry["BackoffRate"] >= 2 and retry["JitterStrategy"] == "FULL" and retry["MaxAttempts"] <= 5, name
        assert any("States.ALL" in c["ErrorEquals"] for c in state["Catch"]), name
        if state["Resource"].endswith(".waitForTaskToken"):
            assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state, name
            assert state["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"


def test_all_ten_sop_steps_are_in_the_workflow():
    text = (ROOT / "statemachine/licensing.asl.json").read_text()
    for sop in range(1, 11):
        assert f"SOP {sop}" in text, f"SOP step {sop} missing from the ASL comments"


def test_pynamodb_models_match_the_templates_key_schemas(template):
    from silastri.adapters import dynamo

    models = {
        "ApplicationsTable": dynamo.ApplicationItem, "TasksTable": dynamo.TaskItem, "EventsTable": dynamo.EventItem,
        "CountersTable": dynamo.CounterItem, "PermitsTable": dynamo.PermitItem, "SurveysTable": dynamo.SurveyItem,
        "CodesTable": dynamo.CodeItem,
    }
    tables = tpl.resources_of_type(template, "AWS::DynamoDB::Table")
    for logical, model in models.items():
        props = tables[logical]["Properties"]
        declared = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}
        hash_key = model._hash_keyname
        range_key = model._range_keyname
        expected = {hash_key: "HASH", **({range_key: "RANGE"} if range_key else {})}
        assert declared == expected, logical
        types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
        indexes = {i["IndexName"]: {k["AttributeName"]: k["KeyType"] for k in i["KeySchema"]}
                   for i in props.get("GlobalSecondaryIndexes", [])}
        model_indexes = {}
        for index in model._indexes.values():
            keys = {a.attr_name: ("HASH" if a.is_hash_key else "RANGE")
                    for a in type(index).__dict__.values() if getattr(a, "is_hash_key", False)
                    or getattr(a, "is_range_key", False)}
            model_indexes[index.Meta.index_name] = keys
        assert model_indexes == indexes, logical
        for attribute, kind in types.items():
            assert model.get_attributes()[attribute].attr_type == kind, f"{logical}.{attribute}"
