"""The template and the ASL agree with each other and with the code on disk."""

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
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
    asl["States"]["IssueReceipt"]["Next"] = "NoSuchState"
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


# ----------------------------------------------------------------------------- secrets

_SECRETISH = ("SECRET", "PASSWORD", "PASSPHRASE", "TOKEN", "PRIVATE", "CREDENTIAL")


def _function_environments(template):
    """Each function's effective environment: Globals plus its own variables."""
    globals_ = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    for spec in tpl.functions(template):
        own = spec.properties.get("Environment", {}).get("Variables", {})
        yield spec, {**globals_, **own}


def test_no_function_environment_holds_a_secret_value(template):
    secrets_ = set(tpl.resources_of_type(template, "AWS::SecretsManager::Secret"))
    no_echo = {name for name, spec in template.get("Parameters", {}).items() if spec.get("NoEcho")}
    assert secrets_, "the template declares its secrets"
    for spec, env in _function_environments(template):
        for name, value in env.items():
            assert not (tpl.references(value) & no_echo), f"{spec.logical_id}.{name} carries a NoEcho parameter"
            if any(word in name.upper() for word in _SECRETISH):
                # only the secret's name/ARN, never a value
                assert name.endswith("_SECRET_NAME"), f"{spec.logical_id}.{name} looks like a secret value"
                assert value == {"Ref": value.get("Ref")} and value["Ref"] in secrets_, f"{spec.logical_id}.{name}"


def _secrets_granted(spec, secrets_):
    granted = set()
    for policy in spec.properties.get("Policies", []):
        if not isinstance(policy, dict):
            continue
        for name, args in policy.items():
            if name == "AWSSecretsManagerGetSecretValuePolicy":
                granted |= tpl.references(args["SecretArn"]) & secrets_
            elif name == "Statement":
                for statement in args:
                    actions = statement.get("Action", [])
                    actions = [actions] if isinstance(actions, str) else actions
                    if any(a.lower().startswith("secretsmanager:") or a == "*" for a in actions):
                        resources = tpl.references(statement.get("Resource"))
                        assert resources <= secrets_ and resources, f"{spec.logical_id}: secrets by wildcard"
                        granted |= resources
            else:
                assert "secretsmanager" not in name.lower(), f"{spec.logical_id}: {name} grants secrets broadly"
    return granted


def test_each_function_may_read_exactly_the_secrets_it_is_given(template):
    secrets_ = set(tpl.resources_of_type(template, "AWS::SecretsManager::Secret"))
    readers = {}
    for spec, env in _function_environments(template):
        named = set().union(*(tpl.references(v) for v in env.values())) & secrets_
        assert _secrets_granted(spec, secrets_) == named, spec.logical_id
        for secret in named:
            readers.setdefault(secret, set()).add(spec.logical_id)
    # who derives keys from the master secret: the API (NIK hash, codes, CSRF, links) and the notifier
    # (signed task links in messages); only the API signs (BSrE)
    # only the API makes links to documents (the CDN's signing key)
    assert readers == {"AppSecret": {"ApiFunction", "NotifierFunction"}, "BsrePasswordSecret": {"ApiFunction"},
                       "BsreTrustRootsSecret": {"ApiFunction"},
                       "DocumentsCdnPrivateKeySecret": {"ApiFunction"}}


def _service_imports(source):
    """Names of silastri.services modules a source imports (`from . import x`, `from silastri.services import x`)."""
    names = set()
    for match in re.finditer(r"^from (?:\.|silastri\.services|\.\.services) import ([\w, ]+)", source, re.M):
        names |= {n.strip() for n in match.group(1).split(",")}
    names |= set(re.findall(r"^from \.(\w+) import", source, re.M))
    return names


def test_functions_that_derive_keys_are_the_ones_given_the_master_secret(template):
    """The code agrees with the template: a function whose services (transitively) call derived_key is
    given APP_SECRET_NAME, and one that is given it does call it."""
    services = {p.stem: p.read_text() for p in (ROOT / "layers/common/python/silastri/services").glob("*.py")}
    deriving = {name for name, source in services.items() if "derived_key(" in source}
    changed = True
    while changed:  # modules importing a deriving module derive too
        grown = {name for name, source in services.items() if _service_imports(source) & deriving}
        changed = not grown <= deriving
        deriving |= grown
    for spec, env in _function_environments(template):
        source = "\n".join(p.read_text() for p in spec.code_uri.rglob("*.py"))
        derives = bool(_service_imports(source) & deriving)
        assert derives == ("APP_SECRET_NAME" in env), spec.logical_id


# ----------------------------------------------------------------------------- documents CDN

CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CloudFront's managed CachingDisabled policy


def _cdn(template):
    return template["Resources"]["DocumentsCdn"]["Properties"]["DistributionConfig"]


def test_the_documents_cdn_exists_only_with_a_public_key(template):
    assert template["Conditions"]["HasDocumentsCdn"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "DocumentsCdnPublicKeyPem"}, ""]}]}
    assert template["Parameters"]["DocumentsCdnPublicKeyPem"]["Default"] == ""  # development stacks: presigned S3
    cdn_types = ("AWS::CloudFront::", "AWS::SSM::Parameter")
    conditional = {name for name, res in template["Resources"].items() if res["Type"].startswith(cdn_types)}
    assert {"DocumentsCdn", "DocumentsCdnKeyGroup", "DocumentsCdnPublicKey", "DocumentsCdnPdfHeaders",
            "DocumentsCdnOriginAccessControl", "DocumentsCdnDenyFunction", "DocumentsCdnParameter"} <= conditional
    for name in conditional:
        assert template["Resources"][name].get("Condition") == "HasDocumentsCdn", name
    key = template["Resources"]["DocumentsCdnPublicKey"]["Properties"]["PublicKeyConfig"]
    assert key["EncodedKey"] == {"Ref": "DocumentsCdnPublicKeyPem"}
    group = template["Resources"]["DocumentsCdnKeyGroup"]["Properties"]["KeyGroupConfig"]
    assert group["Items"] == [{"Ref": "DocumentsCdnPublicKey"}]


def test_the_cdn_routes_exactly_the_served_prefixes_to_their_buckets(template):
    from silastri.adapters import storage

    config = _cdn(template)
    origins = {}
    for origin in config["Origins"]:
        assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["DocumentsCdnOriginAccessControl", "Id"]}
        assert origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}  # OAC, not a legacy identity
        bucket, attribute = origin["DomainName"]["Fn::GetAtt"]
        assert attribute == "RegionalDomainName"
        origins[origin["Id"]] = bucket
    routed = {b["PathPattern"]: origins[b["TargetOriginId"]] for b in config["CacheBehaviors"]}
    assert routed == {storage.PROMOTED_PREFIX + "*": "UploadsBucket", storage.ISSUED_PREFIX + "*": "DocumentsBucket"}
    for behaviour in [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]:
        assert behaviour["ViewerProtocolPolicy"] == "https-only"
        assert behaviour["AllowedMethods"] == ["GET", "HEAD"]
        assert behaviour["TrustedKeyGroups"] == [{"Ref": "DocumentsCdnKeyGroup"}]  # signed URLs only
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "DocumentsCdnPdfHeaders"}
        assert behaviour["CachePolicyId"] == CACHING_DISABLED
        assert "OriginRequestPolicyId" not in behaviour  # no viewer query string or header reaches S3
    default = config["DefaultCacheBehavior"]
    assert default["FunctionAssociations"] == [{
        "EventType": "viewer-request",
        "FunctionARN": {"Fn::GetAtt": ["DocumentsCdnDenyFunction", "FunctionMetadata.FunctionARN"]}}]


def test_the_default_behaviour_function_refuses_every_request(template):
    function = template["Resources"]["DocumentsCdnDenyFunction"]["Properties"]
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0" and function["AutoPublish"] is True
    probe = function["FunctionCode"] + """
for (const uri of ["/", "/quarantine/x.pdf", "/documents/a.pdf", "/index.html"]) {
  console.log(JSON.stringify(handler({request: {method: "GET", uri: uri, querystring: {}, headers: {}}})));
}
"""
    result = subprocess.run(["node", "-e", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 4 and all(a == {"statusCode": 403, "statusDescription": "Forbidden"} for a in answers)


def test_every_served_pdf_gets_nosniff_and_a_sandboxing_policy(template):
    policy = template["Resources"]["DocumentsCdnPdfHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]
    security = policy["SecurityHeadersConfig"]
    assert security["ContentTypeOptions"] == {"Override": True}  # X-Content-Type-Options: nosniff
    csp = security["ContentSecurityPolicy"]
    assert csp["Override"] is True
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp["ContentSecurityPolicy"].split(";")}
    assert directives["default-src"] == "default-src 'none'" and directives["sandbox"] == "sandbox"
    assert security["ReferrerPolicy"] == {"ReferrerPolicy": "no-referrer", "Override": True}
    assert security["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert security["StrictTransportSecurity"]["Override"] is True
    custom = {h["Header"]: (h["Value"], h["Override"]) for h in policy["CustomHeadersConfig"]["Items"]}
    assert custom["Cache-Control"] == ("private, no-store", True)


def _bucket_statements(template, policy_logical):
    """The statements of a bucket policy: (statement, only with the CDN?)."""
    for statement in template["Resources"][policy_logical]["Properties"]["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement:
            condition, then, otherwise = statement["Fn::If"]
            assert condition == "HasDocumentsCdn" and otherwise == {"Ref": "AWS::NoValue"}
            yield then, True
        else:
            yield statement, False


@pytest.mark.parametrize(("policy", "bucket", "prefix"), [("UploadsBucketPolicy", "UploadsBucket", "documents/"),
                                                          ("DocumentsBucketPolicy", "DocumentsBucket", "issued/")])
def test_only_the_distribution_reads_the_served_prefix_and_presigned_gets_are_refused(template, policy, bucket, prefix):
    assert template["Resources"][policy]["Properties"]["Bucket"] == {"Ref": bucket}
    statements = list(_bucket_statements(template, policy))
    served = {"Fn::Sub": f"${{{bucket}.Arn}}/{prefix}*"}
    allows = [s for s, _ in statements if s["Effect"] == "Allow"]
    assert len(allows) == 1, "the distribution is the only principal the bucket policy lets in"
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject" and allow["Resource"] == served
    assert tpl.references(allow["Condition"]["StringEquals"]["AWS:SourceArn"]) >= {"DocumentsCdn"}
    denies_presigned = [s for s, with_cdn in statements if with_cdn and s["Effect"] == "Deny"
                        and s["Resource"] == served and s["Action"] == "s3:GetObject"
                        and s["Condition"] == {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}]
    assert len(denies_presigned) == 1
    assert all(with_cdn for s, with_cdn in statements if s["Effect"] == "Allow")  # without the CDN: as before
    assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s, _ in statements)


def test_the_api_function_finds_the_cdn_where_the_template_writes_it(template):
    from silastri.settings import Settings

    parameter = template["Resources"]["DocumentsCdnParameter"]["Properties"]
    described = json.loads(re.sub(r"\$\{[^}]+\}", "x", parameter["Value"]["Fn::Sub"]))
    assert set(described) == {"url", "key_pair_id"} and described["url"].startswith("https://")
    users = {}
    for spec, env in _function_environments(template):
        if "DOCUMENTS_CDN_PARAMETER_NAME" in env:
            users[spec.logical_id] = spec
            assert env["DOCUMENTS_CDN_PARAMETER_NAME"] == parameter["Name"]
            assert env["DOCUMENTS_CDN_PRIVATE_KEY_SECRET_NAME"] == {"Ref": "DocumentsCdnPrivateKeySecret"}
            reads = [p["SSMParameterReadPolicy"]["ParameterName"] for p in spec.properties["Policies"]
                     if isinstance(p, dict) and "SSMParameterReadPolicy" in p]
            assert reads == [{"Fn::Sub": parameter["Name"]["Fn::Sub"].lstrip("/")}]
        for name in env:
            if name.startswith("DOCUMENTS_CDN_"):
                assert name.lower() in Settings.model_fields, f"{spec.logical_id}.{name} is not a setting"
    assert set(users) == {"ApiFunction"}  # the only function that makes links to documents


# ----------------------------------------------------------------------------- identity

_TRUSTED_ATTRIBUTES = {"email", "email_verified", "name", "phone_number", "phone_number_verified",
                       "preferred_username", "custom:office_id", "custom:acting", "custom:nik_masked",
                       "custom:nik_hash"}


def test_the_public_client_may_write_no_attribute_the_app_trusts(template):
    pool = tpl.resources_of_type(template, "AWS::Cognito::UserPool")["UserPool"]["Properties"]
    custom = {"custom:" + a["Name"] for a in pool["Schema"] if a["Name"] not in ("email", "name")}
    for logical, res in tpl.resources_of_type(template, "AWS::Cognito::UserPoolClient").items():
        props = res["Properties"]
        write = props.get("WriteAttributes")
        assert write, f"{logical}: without WriteAttributes every standard attribute is writable"
        assert not set(write) & (_TRUSTED_ATTRIBUTES | custom), f"{logical} can write {set(write) & _TRUSTED_ATTRIBUTES}"
        assert props.get("GenerateSecret") is False  # it is the public client
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert not any(a.get("Required") for a in pool["Schema"]), "a required attribute must be client-writable"
    assert not custom & {"custom:office_id", "custom:acting"}, "office and acting come from groups"


def test_every_office_and_the_acting_head_have_a_group(template):
    groups = {r["Properties"]["GroupName"] for r in tpl.resources_of_type(template, "AWS::Cognito::UserPoolGroup").values()}
    catalog = ROOT / "layers/common/python/silastri/domain/data/catalog"
    office_ids = {yaml.safe_load(f.read_text())["office"]["office_id"] for f in catalog.glob("*.yaml")}
    assert office_ids and {f"office:{o}" for o in office_ids} <= groups
    assert "acting-head" in groups


# ----------------------------------------------------------------------------- checkov

CHECKOV = ROOT / ".venv-tools/bin/checkov"  # `make test` (and `make tools`) installs it, pinned
CHECKOV_VERSION = "3.3.30"


def _checkov(target: Path) -> dict:
    assert CHECKOV.exists(), "checkov is missing: `make tools` creates .venv-tools with checkov (make test does)"
    result = subprocess.run([str(CHECKOV), "-f", str(target), "--framework", "cloudformation",
                             "--compact", "--skip-download", "-o", "json"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode in (0, 1), result.stderr[-2000:]  # 1 = failed checks (reported below)
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_is_the_pinned_version():
    assert CHECKOV.exists(), "checkov is missing: `make tools` creates .venv-tools with checkov (make test does)"
    version = subprocess.run([str(CHECKOV), "--version"], capture_output=True, text=True).stdout.strip()
    assert version == CHECKOV_VERSION


def test_checkov_finds_nothing_unjustified_in_the_template():
    report = _checkov(ROOT / "template.yaml")
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]
    assert not failed, "unjustified checkov findings:\n" + "\n".join(failed)
    assert report["summary"]["passed"] > 0 and report["summary"]["parsing_errors"] == 0
    for skipped in report["results"]["skipped_checks"]:
        comment = (skipped.get("check_result") or {}).get("suppress_comment", "")
        assert len(comment.split()) >= 8, f"{skipped['check_id']} {skipped['resource']}: skipped without a reason"


def test_checkov_gate_catches_an_unjustified_finding(tmp_path, template):
    """The gate is live: the same template with one justification removed fails it."""
    text = (ROOT / "template.yaml").read_text()
    marker = "          - id: CKV_AWS_18\n            comment: This is the access-log target bucket; logging it into itself would loop.\n"
    assert marker in text
    broken = tmp_path / "template.yaml"
    broken.write_text(text.replace(marker, "          - id: CKV_AWS_000\n            comment: not a real check\n"))
    report = _checkov(broken)
    assert {(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]} == {
        ("CKV_AWS_18", "AWS::S3::Bucket.AccessLogsBucket")}
