"""Pins the Cognito gap the local runtime closes, and its closure (silastri_local.cognito_guard).

moto 5.2.5 keeps an app client's WriteAttributes but lets a user write any attribute with their own
access token, and ignores AllowAdminCreateUserOnly on SignUp. AWS refuses both. If a moto upgrade
starts enforcing them, the first test fails and the guard can go; if it changes the methods the guard
wraps, the second set fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from silastri_local import cognito_guard
from silastri_local.moto_server import LocalAws

pytestmark = pytest.mark.xdist_group("in-process-aws")

REGION = "ap-southeast-3"
PASSWORD = "Rahasia-Sekali-123"
TRUSTED = ["custom:office_id", "custom:acting", "name", "phone_number", "email"]


@pytest.fixture(scope="module")
def idp() -> Iterator[Any]:
    with LocalAws() as aws:
        yield boto3.client("cognito-idp", region_name=REGION, endpoint_url=aws.endpoint_url,
                           aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106


def _pool(idp: Any, *, admin_only: bool, write: list[str] | None) -> tuple[str, str]:
    pool_id = idp.create_user_pool(
        PoolName="guard", UsernameAttributes=["email"],
        Schema=[{"Name": "office_id", "AttributeDataType": "String", "Mutable": True},
                {"Name": "acting", "AttributeDataType": "String", "Mutable": True}],
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": admin_only})["UserPool"]["Id"]
    extra = {"WriteAttributes": write} if write is not None else {}
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="public", GenerateSecret=False,
                                            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
                                            **extra)["UserPoolClient"]["ClientId"]
    return pool_id, client_id


def _signed_in_user(idp: Any, pool_id: str, client_id: str, email: str) -> str:
    idp.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS", UserAttributes=[
        {"Name": "name", "Value": "Asli"}, {"Name": "phone_number", "Value": "+6281200000001"},
        {"Name": "custom:office_id", "Value": "rokan-hilir"}, {"Name": "custom:acting", "Value": "false"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
    result = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD})
    return str(result["AuthenticationResult"]["AccessToken"])


def _attributes(idp: Any, pool_id: str, email: str) -> dict[str, str]:
    user = idp.admin_get_user(UserPoolId=pool_id, Username=email)
    return {a["Name"]: a["Value"] for a in user["UserAttributes"]}


def _error_code(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def test_moto_alone_lets_a_user_write_attributes_the_client_may_not(idp: Any) -> None:
    cognito_guard.uninstall()
    try:
        pool_id, client_id = _pool(idp, admin_only=True, write=["locale"])
        token = _signed_in_user(idp, pool_id, client_id, "gap@contoh.id")
        idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "custom:office_id", "Value": "x"}])
        assert _attributes(idp, pool_id, "gap@contoh.id")["custom:office_id"] == "x"
        idp.sign_up(ClientId=client_id, Username="selfsignup@contoh.id", Password=PASSWORD)  # admin-only ignored
    finally:
        cognito_guard.install()


def test_guard_refuses_every_unwritable_attribute_and_leaves_it_unchanged(idp: Any) -> None:
    assert cognito_guard.installed()
    pool_id, client_id = _pool(idp, admin_only=True, write=["locale"])
    token = _signed_in_user(idp, pool_id, client_id, "officer@contoh.id")
    before = _attributes(idp, pool_id, "officer@contoh.id")
    for name in TRUSTED:
        code = _error_code(lambda name=name: idp.update_user_attributes(
            AccessToken=token, UserAttributes=[{"Name": name, "Value": "lain@contoh.id"}]))
        assert code == "NotAuthorizedException", name
    # one allowed attribute does not smuggle a forbidden one in with it
    assert _error_code(lambda: idp.update_user_attributes(AccessToken=token, UserAttributes=[
        {"Name": "locale", "Value": "id"}, {"Name": "custom:acting", "Value": "true"}])) == "NotAuthorizedException"
    assert _attributes(idp, pool_id, "officer@contoh.id") == before
    # what the client may write is still written (the guard does not simply refuse everything)
    idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "locale", "Value": "id"}])
    assert _attributes(idp, pool_id, "officer@contoh.id")["locale"] == "id"


def test_guard_refuses_sign_up_on_an_admin_only_pool(idp: Any) -> None:
    _pool_id, client_id = _pool(idp, admin_only=True, write=["locale"])
    assert _error_code(lambda: idp.sign_up(ClientId=client_id, Username="self@contoh.id",
                                           Password=PASSWORD)) == "NotAuthorizedException"


def test_guard_applies_write_attributes_to_sign_up_and_the_aws_default_when_unset(idp: Any) -> None:
    _pool_id, client_id = _pool(idp, admin_only=False, write=None)  # AWS default: standard attributes only
    assert _error_code(lambda: idp.sign_up(
        ClientId=client_id, Username="a@contoh.id", Password=PASSWORD,
        UserAttributes=[{"Name": "custom:office_id", "Value": "rokan-hilir"}])) == "NotAuthorizedException"
    idp.sign_up(ClientId=client_id, Username="b@contoh.id", Password=PASSWORD,
                UserAttributes=[{"Name": "name", "Value": "Boleh"}])
    pool_id, client_id = _pool(idp, admin_only=False, write=None)
    token = _signed_in_user(idp, pool_id, client_id, "c@contoh.id")
    assert _error_code(lambda: idp.update_user_attributes(AccessToken=token, UserAttributes=[
        {"Name": "custom:acting", "Value": "true"}])) == "NotAuthorizedException"
    idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "name", "Value": "Boleh"}])


def test_moto_has_no_delete_user_attributes_to_guard(idp: Any) -> None:
    """DeleteUserAttributes (a user removing e.g. custom:office_id) is not implemented by moto: if an
    upgrade adds it, this fails and the guard must cover it too."""
    pool_id, client_id = _pool(idp, admin_only=True, write=["locale"])
    token = _signed_in_user(idp, pool_id, client_id, "del@contoh.id")
    with pytest.raises(ClientError):
        idp.delete_user_attributes(AccessToken=token, UserAttributeNames=["custom:office_id"])
    assert _attributes(idp, pool_id, "del@contoh.id")["custom:office_id"] == "rokan-hilir"


def _admin_only_client(idp: Any) -> tuple[str, str]:
    pool_id = idp.create_user_pool(PoolName="flows", UsernameAttributes=["email"])["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="public", GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="flows@contoh.id", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="flows@contoh.id", Password=PASSWORD, Permanent=True)
    return pool_id, client_id


def test_moto_alone_signs_in_with_a_password_flow_the_client_does_not_allow(idp: Any) -> None:
    cognito_guard.uninstall()
    try:
        _pool_id, client_id = _admin_only_client(idp)
        result = idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": "flows@contoh.id", "PASSWORD": PASSWORD})
        assert "AccessToken" in result["AuthenticationResult"]
    finally:
        cognito_guard.install()


def test_guard_allows_only_the_client_s_auth_flows(idp: Any) -> None:
    pool_id, client_id = _admin_only_client(idp)
    for flow in ("USER_PASSWORD_AUTH", "USER_SRP_AUTH", "CUSTOM_AUTH"):
        assert _error_code(lambda flow=flow: idp.initiate_auth(
            ClientId=client_id, AuthFlow=flow,
            AuthParameters={"USERNAME": "flows@contoh.id", "PASSWORD": PASSWORD, "SRP_A": "1"})) == \
            "InvalidParameterException", flow
    admin = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                    AuthParameters={"USERNAME": "flows@contoh.id", "PASSWORD": PASSWORD})
    refresh = admin["AuthenticationResult"]["RefreshToken"]
    again = idp.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                              AuthParameters={"REFRESH_TOKEN": refresh})
    assert "IdToken" in again["AuthenticationResult"]
