"""Makes moto's Cognito refuse what AWS Cognito refuses on the public, token-holding APIs.

moto 5.2.5 stores an app client's ``WriteAttributes`` but never checks them: with nothing more, a
signed-in user could call ``UpdateUserAttributes`` with their own access token (or ``SignUp`` through
the public client) and write any attribute, ``custom:*`` included. AWS answers
``NotAuthorizedException: A client attempted to write unauthorized attribute``. moto also ignores the
pool's ``AdminCreateUserConfig.AllowAdminCreateUserOnly`` on ``SignUp``.

moto also ignores an app client's ``ExplicitAuthFlows``: a password flow the client does not allow
(``USER_PASSWORD_AUTH`` on a client that lists only ``ALLOW_ADMIN_USER_PASSWORD_AUTH``) still signs in,
so anyone could try passwords against the pool around the API's rate limits. AWS answers
``InvalidParameterException: ... flow not enabled for this client``.

This module patches those backend methods so that the local runtime enforces all three, as AWS does.
It touches moto internals (moto is pinned exactly); ``tests/contract/test_cognito_guard.py`` pins
both the gap and its closure, so an upgrade that changes either fails loudly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from moto.cognitoidp.exceptions import InvalidParameterException, NotAuthorizedError
from moto.cognitoidp.models import CognitoIdpBackend

__all__ = ["DEFAULT_FLOWS", "STANDARD_ATTRIBUTES", "allowed_flows", "install", "installed", "uninstall",
           "writable_attributes"]

#: What an app client may write when its WriteAttributes are not set (AWS: "the Standard attributes").
STANDARD_ATTRIBUTES = frozenset({
    "address", "birthdate", "email", "family_name", "gender", "given_name", "locale", "middle_name", "name",
    "nickname", "phone_number", "picture", "preferred_username", "profile", "updated_at", "website", "zoneinfo",
})

_LOCK = threading.Lock()
_ORIGINALS: dict[str, Any] = {}


def writable_attributes(pool: Any, client_id: str) -> frozenset[str]:
    """The attributes `client_id` of moto user pool `pool` may write (its WriteAttributes, or AWS's default)."""
    client = pool.clients.get(client_id)
    configured = client.extended_config.get("WriteAttributes") if client is not None else None
    return frozenset(configured) if configured else STANDARD_ATTRIBUTES


def _refuse_unwritable(pool: Any, client_id: str, attributes: Iterable[dict[str, str]]) -> None:
    allowed = writable_attributes(pool, client_id)
    if any(attribute.get("Name") not in allowed for attribute in attributes or []):
        raise NotAuthorizedError("A client attempted to write unauthorized attribute")


def _guarded_update_user_attributes(self: CognitoIdpBackend, access_token: str,
                                    attributes: list[dict[str, str]]) -> None:
    for pool in self.user_pools.values():
        if access_token in pool.access_tokens:
            client_id, _username = pool.access_tokens[access_token]
            _refuse_unwritable(pool, client_id, attributes)
            break
    _ORIGINALS["update_user_attributes"](self, access_token, attributes)


def _guarded_sign_up(self: CognitoIdpBackend, client_id: str, username: str, password: str,
                     attributes: list[dict[str, str]]) -> Any:
    for pool in self.user_pools.values():
        if client_id in pool.clients:
            admin_only = (pool.extended_config.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly")
            if admin_only:
                raise NotAuthorizedError("SignUp is not permitted for this user pool")
            _refuse_unwritable(pool, client_id, attributes)
            break
    return _ORIGINALS["sign_up"](self, client_id, username, password, attributes)


#: The ExplicitAuthFlows value that enables each AuthFlow (new-style ALLOW_ names and the legacy ones).
_FLOW_SETTINGS = {
    "USER_PASSWORD_AUTH": {"ALLOW_USER_PASSWORD_AUTH", "USER_PASSWORD_AUTH"},
    "ADMIN_USER_PASSWORD_AUTH": {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"},
    "ADMIN_NO_SRP_AUTH": {"ALLOW_ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"},
    "USER_SRP_AUTH": {"ALLOW_USER_SRP_AUTH"},
    "CUSTOM_AUTH": {"ALLOW_CUSTOM_AUTH", "CUSTOM_AUTH_FLOW_ONLY"},
    "REFRESH_TOKEN_AUTH": {"ALLOW_REFRESH_TOKEN_AUTH"},
    "REFRESH_TOKEN": {"ALLOW_REFRESH_TOKEN_AUTH"},
}
#: AWS's flows for a client created without ExplicitAuthFlows.
DEFAULT_FLOWS = frozenset({"ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"})


def allowed_flows(pool: Any, client_id: str) -> frozenset[str]:
    """The ExplicitAuthFlows of `client_id` in moto user pool `pool` (AWS's default when not set)."""
    client = pool.clients.get(client_id)
    configured = client.extended_config.get("ExplicitAuthFlows") if client is not None else None
    return frozenset(configured) if configured else DEFAULT_FLOWS


def _refuse_disabled_flow(backend: CognitoIdpBackend, client_id: str, auth_flow: str) -> None:
    for pool in backend.user_pools.values():
        if client_id in pool.clients:
            if not _FLOW_SETTINGS.get(auth_flow, {auth_flow}) & allowed_flows(pool, client_id):
                raise InvalidParameterException(f"{auth_flow} flow not enabled for this client")
            return


def _guarded_initiate_auth(self: CognitoIdpBackend, client_id: str, auth_flow: str,
                           auth_parameters: dict[str, str]) -> Any:
    _refuse_disabled_flow(self, client_id, str(auth_flow))
    return _ORIGINALS["initiate_auth"](self, client_id, auth_flow, auth_parameters)


def _guarded_admin_initiate_auth(self: CognitoIdpBackend, user_pool_id: str, client_id: str, auth_flow: str,
                                 auth_parameters: dict[str, str]) -> Any:
    _refuse_disabled_flow(self, client_id, str(auth_flow))
    return _ORIGINALS["admin_initiate_auth"](self, user_pool_id, client_id, auth_flow, auth_parameters)


_PATCHES = {"update_user_attributes": "_guarded_update_user_attributes", "sign_up": "_guarded_sign_up",
            "initiate_auth": "_guarded_initiate_auth", "admin_initiate_auth": "_guarded_admin_initiate_auth"}


def install() -> None:
    """Patch moto's Cognito backend (idempotent, process-wide)."""
    with _LOCK:
        for method, guard in _PATCHES.items():
            if method not in _ORIGINALS:
                _ORIGINALS[method] = getattr(CognitoIdpBackend, method)
                setattr(CognitoIdpBackend, method, globals()[guard])


def uninstall() -> None:
    """Restore moto's own methods (for the contract test that pins the gap)."""
    with _LOCK:
        for method in _PATCHES:
            if method in _ORIGINALS:
                setattr(CognitoIdpBackend, method, _ORIGINALS.pop(method))


def installed() -> bool:
    """Whether the guard is in place."""
    return all(method in _ORIGINALS for method in _PATCHES)
