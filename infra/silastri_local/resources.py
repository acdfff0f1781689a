"""Creates the stack's resources on the local AWS emulator by reading template.yaml, and resolves the
template's intrinsic functions (Ref, GetAtt, Sub) to the local physical ids.

Secrets Manager is not persisted by the local runtime: its secrets are created at every start and
`finish_local_setup` puts their values in (stable values kept in the data directory)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import boto3

from . import cognito_guard
from . import template as tpl

ACCOUNT_ID = "123456789012"
PREFIX = "silastri"
#: Local values of generated secrets live in these files of the data directory (default `<logical>.secret`);
#: the master secret keeps the file the runtime has always used, so NIK hashes and links stay valid.
LOCAL_SECRET_FILES = {"AppSecret": "app-secret.key"}
OFFICE_GROUP_PREFIX = "office:"
ACTING_HEAD_GROUP = "acting-head"


class LocalResources:
    """Physical ids of the template's resources on the local emulator (created idempotently)."""

    def __init__(self, template: dict[str, Any], region: str, parameters: dict[str, str]) -> None:
        self.template = template
        self.region = region
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
        self.parameters.update(parameters)
        self.refs: dict[str, str] = {}
        self.attrs: dict[tuple[str, str], str] = {}
        self._session = boto3.session.Session(region_name=region)

    def client(self, service: str) -> Any:
        return self._session.client(service)

    # -- intrinsic functions

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.attrs[(logical, attr)]
            if key == "Fn::Sub":
                return self._sub(arg)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws",
                  "AWS::StackName": PREFIX}
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.refs[name]

    def _sub(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return self.attrs[(logical, attr)]
            return self._ref(name)

        return re.sub(r"\$\{([A-Za-z0-9_:.]+)\}", replace, text)

    # -- creation, in dependency order

    def create_all(self) -> None:
        """Create every resource the local runtime plays, in dependency order (idempotent)."""
        cognito_guard.install()  # moto must refuse attribute writes the template's client does not allow
        resources = self.template["Resources"]
        for logical, res in resources.items():
            kind = res["Type"]
            if kind == "AWS::DynamoDB::Table":
                self._table(logical, res["Properties"])
            elif kind == "AWS::S3::Bucket":
                self._bucket(logical, res["Properties"])
        for logical, res in tpl.resources_of_type(self.template, "AWS::SQS::Queue").items():
            self._queue(logical, res["Properties"], first_pass=True)
        for logical, res in tpl.resources_of_type(self.template, "AWS::SQS::Queue").items():
            self._queue(logical, res["Properties"], first_pass=False)
        for logical in tpl.resources_of_type(self.template, "AWS::SNS::Topic"):
            self._topic(logical)
        for res in tpl.resources_of_type(self.template, "AWS::SNS::Subscription").values():
            self._subscription(res["Properties"])
        for logical, res in tpl.resources_of_type(self.template, "AWS::Cognito::UserPool").items():
            self._user_pool(logical, res["Properties"])
        for logical, res in tpl.resources_of_type(self.template, "AWS::Cognito::UserPoolClient").items():
            self._user_pool_client(logical, res["Properties"])
        for res in tpl.resources_of_type(self.template, "AWS::Cognito::UserPoolGroup").values():
            self._group(res["Properties"])
        for logical in tpl.resources_of_type(self.template, "AWS::SecretsManager::Secret"):
            self._secret(logical)
        self._functions()
        for logical, res in tpl.resources_of_type(self.template, "AWS::Serverless::StateMachine").items():
            self._state_machine(logical, res["Properties"])

    def _table(self, logical: str, props: dict[str, Any]) -> None:
        name = f"{PREFIX}-{logical}"
        ddb = self.client("dynamodb")
        self.refs[logical] = name
        self.attrs[(logical, "Arn")] = f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{name}"
        if name in ddb.list_tables()["TableNames"]:
            self._add_missing_indexes(ddb, name, props)  # a data folder made before an index was added
            return
        args: dict[str, Any] = {
            "TableName": name, "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            "AttributeDefinitions": props["AttributeDefinitions"], "KeySchema": props["KeySchema"],
        }
        if props.get("GlobalSecondaryIndexes"):
            args["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        ddb.create_table(**args)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)

    @staticmethod
    def _add_missing_indexes(ddb: Any, name: str, props: dict[str, Any]) -> None:
        """Create the template's global secondary indexes that an existing table lacks (as CloudFormation would)."""
        present = {i["IndexName"] for i in ddb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])}
        for index in props.get("GlobalSecondaryIndexes") or []:
            if index["IndexName"] not in present:
                keys = {k["AttributeName"] for k in index["KeySchema"]}
                ddb.update_table(TableName=name, AttributeDefinitions=[
                    a for a in props["AttributeDefinitions"] if a["AttributeName"] in keys],
                    GlobalSecondaryIndexUpdates=[{"Create": index}])

    def _bucket(self, logical: str, props: dict[str, Any]) -> None:
        name = f"{PREFIX}-{logical.lower()}"
        s3 = self.client("s3")
        self.refs[logical] = name
        self.attrs[(logical, "Arn")] = f"arn:aws:s3:::{name}"
        if any(b["Name"] == name for b in s3.list_buckets().get("Buckets", [])):
            return
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        block = props.get("PublicAccessBlockConfiguration")
        if block:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
        if props.get("VersioningConfiguration"):
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        encryption = props.get("BucketEncryption")
        if encryption:
            # CloudFormation says ServerSideEncryptionByDefault where the S3 API says ApplyServerSideEncryptionByDefault
            rules = [{"ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"]}
                     for rule in encryption["ServerSideEncryptionConfiguration"]]
            s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})

    def _queue(self, logical: str, props: dict[str, Any], first_pass: bool) -> None:
        name = f"{PREFIX}-{logical}"
        sqs = self.client("sqs")
        if first_pass:
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            self.refs[logical] = url
            self.attrs[(logical, "Arn")] = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{name}"
            self.attrs[(logical, "QueueName")] = name
            return
        attributes: dict[str, str] = {}
        if "VisibilityTimeout" in props:
            attributes["VisibilityTimeout"] = str(props["VisibilityTimeout"])
        if "MessageRetentionPeriod" in props:
            attributes["MessageRetentionPeriod"] = str(props["MessageRetentionPeriod"])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(self.resolve(props["RedrivePolicy"]))
        if attributes:
            sqs.set_queue_attributes(QueueUrl=self.refs[logical], Attributes=attributes)

    def _topic(self, logical: str) -> None:
        arn = self.client("sns").create_topic(Name=f"{PREFIX}-{logical}")["TopicArn"]
        self.refs[logical] = arn
        self.attrs[(logical, "TopicName")] = f"{PREFIX}-{logical}"

    def _subscription(self, props: dict[str, Any]) -> None:
        sns = self.client("sns")
        topic, endpoint = self.resolve(props["TopicArn"]), self.resolve(props["Endpoint"])
        existing = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if any(s["Endpoint"] == endpoint for s in existing):
            return
        attributes = {"RawMessageDelivery": "true"} if props.get("RawMessageDelivery") else {}
        sns.subscribe(TopicArn=topic, Protocol=props["Protocol"], Endpoint=endpoint, Attributes=attributes)

    def _user_pool(self, logical: str, props: dict[str, Any]) -> None:
        idp = self.client("cognito-idp")
        name = props.get("UserPoolName", f"{PREFIX}-{logical}")
        pools = idp.list_user_pools(MaxResults=60)["UserPools"]
        pool_id = next((p["Id"] for p in pools if p["Name"] == name), None)
        if pool_id is None:
            schema = [{k: v for k, v in attr.items()} for attr in props.get("Schema", [])
                      if attr["Name"] not in ("email", "name")]
            pool_id = idp.create_user_pool(
                PoolName=name, UsernameAttributes=props.get("UsernameAttributes", []),
                Policies=props.get("Policies", {}), Schema=schema,
                AdminCreateUserConfig=props.get("AdminCreateUserConfig", {}),
            )["UserPool"]["Id"]
        else:  # a restored pool takes the template's current settings
            idp.update_user_pool(UserPoolId=pool_id, Policies=props.get("Policies", {}),
                                 AdminCreateUserConfig=props.get("AdminCreateUserConfig", {}))
        self.refs[logical] = pool_id
        self.attrs[(logical, "Arn")] = f"arn:aws:cognito-idp:{self.region}:{ACCOUNT_ID}:userpool/{pool_id}"
        self.attrs[(logical, "ProviderURL")] = f"cognito-idp.{self.region}.amazonaws.com/{pool_id}"

    def _user_pool_client(self, logical: str, props: dict[str, Any]) -> None:
        idp = self.client("cognito-idp")
        pool_id = self.resolve(props["UserPoolId"])
        clients = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
        client_id = next((c["ClientId"] for c in clients if c["ClientName"] == logical), None)
        settings = {"ExplicitAuthFlows": props.get("ExplicitAuthFlows", []),
                    "ReadAttributes": props.get("ReadAttributes", []),
                    "WriteAttributes": props.get("WriteAttributes", [])}
        if client_id is None:
            client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName=logical, GenerateSecret=False,
                                                    **settings)["UserPoolClient"]["ClientId"]
        else:  # a restored client takes the template's current attribute permissions
            idp.update_user_pool_client(UserPoolId=pool_id, ClientId=client_id, ClientName=logical, **settings)
        self.refs[logical] = client_id

    def _group(self, props: dict[str, Any]) -> None:
        idp = self.client("cognito-idp")
        pool_id = self.resolve(props["UserPoolId"])
        with contextlib.suppress(idp.exceptions.GroupExistsException):
            idp.create_group(UserPoolId=pool_id, GroupName=props["GroupName"], Description=props.get("Description", ""))

    def _secret(self, logical: str) -> None:
        """The secret itself (its value comes in `finish_local_setup`); Ref is its ARN, as on AWS."""
        sm = self.client("secretsmanager")
        name = f"{PREFIX}-{logical}"
        try:
            arn = sm.describe_secret(SecretId=name)["ARN"]
        except sm.exceptions.ResourceNotFoundException:
            arn = sm.create_secret(Name=name, Description=f"{logical} (local runtime)")["ARN"]
        self.refs[logical] = arn
        self.attrs[(logical, "Id")] = arn

    def finish_local_setup(self, data_dir: Path, officers: Mapping[str, Mapping[str, str]],
                           acting_keys: Iterable[str]) -> None:
        """What the template cannot give a local stack, done at every start after the officers are seeded:

        - the secrets' values: a generated secret takes a random value kept in the data directory (stable
          across restarts), a literal `SecretString` is put as written;
        - the officers' groups: each seeded officer (`officers`: login key → {"email": ..., "office_id": ...})
          joins its office's `office:<id>` group (the default office's when none is named), and the keys in
          `acting_keys` join `acting-head`.
        """
        sm = self.client("secretsmanager")
        for logical, res in tpl.resources_of_type(self.template, "AWS::SecretsManager::Secret").items():
            props = res.get("Properties", {})
            if "GenerateSecretString" in props:
                value = _local_secret(Path(data_dir) / LOCAL_SECRET_FILES.get(logical, f"{logical}.secret"))
            else:
                value = str(self.resolve(props.get("SecretString", "")))
            sm.put_secret_value(SecretId=self.refs[logical], SecretString=value)
        idp = self.client("cognito-idp")
        pool_ids = [self.refs[logical] for logical in tpl.resources_of_type(self.template, "AWS::Cognito::UserPool")]
        default_office = os.environ.get("DEFAULT_OFFICE_ID", "rokan-hilir")
        acting = set(acting_keys)
        for pool_id in pool_ids:
            for key, officer in officers.items():
                office_group = OFFICE_GROUP_PREFIX + officer.get("office_id", default_office)
                with contextlib.suppress(idp.exceptions.GroupExistsException):
                    idp.create_group(UserPoolId=pool_id, GroupName=office_group)
                idp.admin_add_user_to_group(UserPoolId=pool_id, Username=officer["email"], GroupName=office_group)
                if key in acting:
                    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=officer["email"],
                                                GroupName=ACTING_HEAD_GROUP)

    def _functions(self) -> None:
        lam = self.client("lambda")
        iam = self.client("iam")
        role_name = f"{PREFIX}-local-function-role"
        try:
            role_arn = iam.get_role(RoleName=role_name)["Role"]["Arn"]
        except iam.exceptions.NoSuchEntityException:
            role_arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:  # the code itself runs in-process; moto needs a package
            archive.writestr("app.py", "# dispatched in-process by the local runtime\n")
        for spec in tpl.functions(self.template):
            name = f"{PREFIX}-{spec.logical_id}"
            arn = f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{name}"
            self.refs[spec.logical_id] = name
            self.attrs[(spec.logical_id, "Arn")] = arn
            try:
                lam.get_function(FunctionName=name)
            except lam.exceptions.ResourceNotFoundException:
                lam.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler=spec.handler,
                                    Code={"ZipFile": buffer.getvalue()}, Timeout=int(spec.properties.get("Timeout", 30)))

    def _state_machine(self, logical: str, props: dict[str, Any]) -> None:
        sfn = self.client("stepfunctions")
        definition = tpl.render_definition((tpl.ROOT / props["DefinitionUri"]).read_text(encoding="utf-8"),
                                           {k: self.resolve(v) for k, v in props["DefinitionSubstitutions"].items()})
        name = f"{PREFIX}-{logical}"
        role = f"arn:aws:iam::{ACCOUNT_ID}:role/{PREFIX}-local-function-role"
        existing = next((m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]
                         if m["name"] == name), None)
        if existing:
            sfn.update_state_machine(stateMachineArn=existing, definition=definition)
            arn = existing
        else:
            arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role,
                                           type=props.get("Type", "STANDARD"))["stateMachineArn"]
        self.refs[logical] = arn
        self.attrs[(logical, "Arn")] = arn
        self.attrs[(logical, "Name")] = name

    # -- what the functions see

    def function_environment(self) -> dict[str, str]:
        """Globals + every function's own variables (they share this process, so names must not clash)."""
        env: dict[str, str] = {}
        globals_ = self.template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        env.update({k: str(self.resolve(v)) for k, v in globals_.items()})
        for spec in tpl.functions(self.template):
            own = spec.properties.get("Environment", {}).get("Variables", {})
            for key, value in own.items():
                resolved = str(self.resolve(value))
                if key in env and env[key] != resolved:
                    raise ValueError(f"{spec.logical_id} sets {key} differently from another function")
                env[key] = resolved
        return env


def _local_secret(path: Path) -> str:
    """A random secret kept in `path` (created 0600 on first use), so that it is the same after a restart."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip()
