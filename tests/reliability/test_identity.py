"""Reliability row `identity-attributes`: a signed-in user cannot write an attribute the app trusts.

On the local runtime (moto's Cognito with the runtime's guard, the pool and client from template.yaml):
a signed-in applicant and signed-in officers (one of them an acting head) call cognito-idp
UpdateUserAttributes with their own access token for every attribute the app trusts. Every write must
be refused, the stored attributes must be unchanged, and the API's principal (GET /api/me) must be the
same afterwards. Separately, the principal is shown to ignore custom:* claims entirely.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from silastri_local.client import ApiClient
from silastri_local.journey import Journey
from silastri_local.runtime import LocalStack

pytestmark = pytest.mark.xdist_group("in-process-aws")

#: attribute → a value that would matter if accepted (escalation, a renamed signer, a redirected phone)
HOSTILE_WRITES = {
    "custom:office_id": "kabupaten-lain",
    "custom:acting": "true",
    "name": "Nama Palsu Penandatangan",
    "phone_number": "+6289999999999",
    "email": "penyerang@contoh.id",
}


def _fresh_emulator() -> None:
    """moto's backends and pynamodb's connections are process-wide: start from nothing."""
    from moto.moto_api._internal.models import moto_api_backend
    from pynamodb.models import Model

    moto_api_backend.reset()
    for model in Model.__subclasses__():
        model._connection = None


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    _fresh_emulator()
    local = LocalStack(data_dir=tmp_path_factory.mktemp("identity"), api_port=0, persist=False,
                       run_schedules=False, run_event_sources=False).start()
    yield local
    local.stop()
    _fresh_emulator()


def _idp(stack: LocalStack) -> Any:
    assert stack.aws
    return boto3.client("cognito-idp", region_name="ap-southeast-3", endpoint_url=stack.aws.endpoint_url)


def _access_token(stack: LocalStack, email: str, password: str) -> str:
    """The user's own access token for the public client (issued here with the emulator's admin credentials:
    the public client has no password flow, users sign in through the API)."""
    assert stack.resources
    result = _idp(stack).admin_initiate_auth(UserPoolId=stack.resources.refs["UserPool"],
                                             ClientId=stack.resources.refs["UserPoolClient"],
                                             AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                             AuthParameters={"USERNAME": email, "PASSWORD": password})
    return str(result["AuthenticationResult"]["AccessToken"])


def _stored(stack: LocalStack, email: str) -> dict[str, str]:
    assert stack.resources
    user = _idp(stack).admin_get_user(UserPoolId=stack.resources.refs["UserPool"], Username=email)
    return {a["Name"]: a["Value"] for a in user["UserAttributes"]}


def test_no_trusted_attribute_write_is_accepted(stack: LocalStack, row: Any) -> None:
    api = ApiClient(stack.api_url)
    back_office = stack.officers["back_office"]
    # the local outbox (where the activation code lands) is for local officers only
    journey = Journey(api=api.login(back_office["email"], back_office["password"]), officers={}, permit_type="")
    journey.register()
    users = [("applicant", journey.credentials["email"], journey.credentials["password"])]
    users += [(key, stack.officers[key]["email"], stack.officers[key]["password"])
              for key in ("back_office", "head", "head_acting")]

    attempts = accepted = 0
    changed: list[str] = []  # users whose stored attributes or API principal moved
    other_errors: list[str] = []  # refused, but not as AWS refuses an unauthorized attribute
    for who, email, password in users:
        me_before = api.login(email, password).get("/api/me")
        stored_before = _stored(stack, email)
        token = _access_token(stack, email, password)
        for name, value in HOSTILE_WRITES.items():
            attempts += 1
            value = value.replace("@", f"-{who}@")  # one e-mail address per user (no alias clash)
            try:
                _idp(stack).update_user_attributes(AccessToken=token, UserAttributes=[{"Name": name, "Value": value}])
                accepted += 1
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "NotAuthorizedException":
                    other_errors.append(f"{who}/{name}: {exc.response['Error']['Code']}")
        me_after = api.login(email, password).get("/api/me")
        fields = ("user_id", "roles", "office_id", "acting", "name", "email")
        if _stored(stack, email) != stored_before or any(me_after[f] != me_before[f] for f in fields):
            changed.append(who)

    met = accepted == 0 and attempts > 0 and not changed and not other_errors
    row("identity-attributes", figure=f"{accepted} of {attempts} trusted attribute writes accepted "
                                      f"({len(users)} signed-in users; changed: {changed or 'none'})", met=met)
    assert accepted == 0 and not changed and not other_errors, (changed, other_errors)

    # the principals are what the groups say
    acting_head = api.login(stack.officers["head_acting"]["email"], stack.officers["head_acting"]["password"])
    assert acting_head.get("/api/me")["acting"] is True
    assert acting_head.get("/api/me")["office_id"] == "rokan-hilir"
    applicant = api.login(journey.credentials["email"], journey.credentials["password"]).get("/api/me")
    assert applicant["office_id"] is None and applicant["acting"] is False


def test_principal_ignores_custom_claims_and_takes_office_and_acting_from_groups() -> None:
    from silastri.adapters.identity import principal_from_claims

    forged = principal_from_claims({"sub": "u1", "iat": 1, "cognito:groups": ["applicant"],
                                    "custom:office_id": "rokan-hilir", "custom:acting": "true"})
    assert forged.office_id is None and forged.acting is False and forged.roles == {"applicant"}

    officer = principal_from_claims({"sub": "u2", "iat": 1,
                                     "cognito:groups": ["acting-head", "office:rokan-hilir", "head"]})
    assert officer.office_id == "rokan-hilir" and officer.acting is True and officer.roles == {"head"}

    not_head = principal_from_claims({"sub": "u3", "iat": 1, "cognito:groups": ["verifier", "acting-head",
                                                                                   "office:rokan-hilir"]})
    assert not_head.acting is False  # acting means acting *head*

    two_offices = principal_from_claims({"sub": "u4", "iat": 1,
                                         "cognito:groups": ["verifier", "office:a", "office:b"]})
    assert two_offices.office_id is None  # ambiguous: no office-bound action is allowed
