"""Makes moto's Cognito refuse what AWS Cognito refuses on the public, token-holding APIs.

moto 5.2.5 stores an app client's ``WriteAttributes`` but never checks them: with nothing more, a
signed-in user could call ``UpdateUserAttributes`` with their own access token (or ``SignUp`` through
the public client) and write any attribute, ``custom:*`` included. AWS answers
``NotAuthorizedException: A client attempted to write unauthorized attribute``. moto also ignores the
pool's ``AdminCreateUserConfig.AllowAdminCreateUserOnly`` on ``SignUp``.

This module patches those two backend methods so that the local runtime enforces both, as AWS does.
It touches moto internals (moto is pinned exactly); ``tests/contract/test_cognito_guard.py`` pins
both the gap and its closure, so an upgrade that changes either fails loudly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from moto.cognitoidp.exceptions import NotAuthorizedError
from moto.cognitoidp.models import CognitoIdpBackend

__all__ = ["STANDARD_ATTRIBUTES", "install", "installed", "uninstall", "writable_attributes"]

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


def install() -> None:
    """Patch moto's Cognito backend (idempotent, process-wide)."""
    with _LOCK:
        if "update_user_attributes" not in _ORIGINALS:
            _ORIGINALS["update_user_attributes"] = CognitoIdpBackend.update_user_attributes
            CognitoIdpBackend.update_user_attributes = _guarded_update_user_attributes  # type: ignore[method-assign]
        if "sign_up" not in _ORIGINALS:
            _ORIGINALS["sign_up"] = CognitoIdpBackend.sign_up
            CognitoIdpBackend.sign_up = _guarded_sign_up  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore moto's own methods (for the contract test that pins the gap)."""
    with _LOCK:
        if "update_user_attributes" in _ORIGINALS:
            CognitoIdpBackend.update_user_attributes = _ORIGINALS.pop("update_user_attributes")  # type: ignore[method-assign]
        if "sign_up" in _ORIGINALS:
            CognitoIdpBackend.sign_up = _ORIGINALS.pop("sign_up")  # type: ignore[method-assign]


def installed() -> bool:
    """Whether the guard is in place."""
    return "update_user_attributes" in _ORIGINALS and "sign_up" in _ORIGINALS
