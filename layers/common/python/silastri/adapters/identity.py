"""Identity through Cognito: accounts (admin APIs only), login, token verification against the pool's JWKS.

The JWKS URL and issuer are configuration (the local runtime serves its own pool's keys; moto's
tokens name the real AWS host in `iss`, so the URL can never be derived from the token).

Trust comes from groups, which only the backend can change: roles are role groups, the office is the
one `office:<id>` group, an acting head (Plt.) is in `acting-head`. No attribute a user could write
with their own token is trusted (the public client may write none the app reads); accounts are
created and changed by the API function through the admin APIs."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from ..domain.errors import ConflictError, DomainError, ValidationError
from ..settings import get_settings
from .aws import client

if TYPE_CHECKING:
    import jwt  # PyJWT (and cryptography under it) is imported on first verification: the workflow functions never verify


class AuthError(DomainError):
    status = 401


OFFICE_GROUP_PREFIX = "office:"
ACTING_HEAD_GROUP = "acting-head"
APPLICANT_GROUP = "applicant"


class Principal(BaseModel):
    """Who is calling, from a verified ID token."""

    user_id: str
    email: str | None = None
    name: str | None = None
    roles: set[str]
    office_id: str | None = None
    acting: bool = False  # an acting head (Plt.) signs in their own name
    nik_masked: str | None = None
    issued_at: int = 0


class _Jwks:
    """Caches the signing keys for ten minutes; refetches once on an unknown key id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: jwt.PyJWKClient | None = None
        self._url = ""

    def key_for(self, token: str) -> Any:
        import jwt

        url = get_settings().cognito_jwks_url
        with self._lock:
            if self._client is None or self._url != url:
                self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=600)
                self._url = url
            jwks_client = self._client
        return jwks_client.get_signing_key_from_jwt(token).key


_jwks = _Jwks()


def verify_token(token: str) -> Principal:
    """Verify signature (RS256, pool JWKS), expiry, issuer, audience and token use; raise AuthError."""
    import jwt

    settings = get_settings()
    try:
        key = _jwks.key_for(token)
        claims = jwt.decode(
            token, key, algorithms=["RS256"], audience=settings.user_pool_client_id,
            issuer=settings.cognito_issuer, options={"require": ["exp", "iat", "sub"]}, leeway=30,
        )
    except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
        raise AuthError(f"sesi tidak valid atau kedaluwarsa; silakan masuk lagi ({exc.__class__.__name__})") from exc
    if claims.get("token_use") != "id":
        raise AuthError("token ID diperlukan")
    return principal_from_claims(claims)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Roles, office and acting status from `cognito:groups` only (a custom:* claim is never trusted).

    An officer in no office group, or in several, has no office (office-bound actions are refused)."""
    groups = {g for g in claims.get("cognito:groups", []) if isinstance(g, str)}
    offices = {g.removeprefix(OFFICE_GROUP_PREFIX) for g in groups if g.startswith(OFFICE_GROUP_PREFIX)}
    roles = {g for g in groups if not g.startswith(OFFICE_GROUP_PREFIX) and g != ACTING_HEAD_GROUP}
    return Principal(
        user_id=claims["sub"], email=claims.get("email"), name=claims.get("name"), roles=roles,
        office_id=next(iter(offices)) if len(offices) == 1 else None,
        acting=ACTING_HEAD_GROUP in groups and "head" in roles, nik_masked=claims.get("custom:nik_masked"),
        issued_at=int(claims["iat"]),
    )


def login(email: str, password: str) -> dict[str, Any]:
    """Sign in through the API only (ADMIN_USER_PASSWORD_AUTH, the pool's admin credentials): the public app
    client has no password flow, so nobody can try passwords against Cognito around the API's rate limits.
    Returns the ID token and its lifetime. Wrong credentials → AuthError."""
    idp = client("cognito-idp")
    settings = get_settings()
    try:
        result = idp.admin_initiate_auth(
            UserPoolId=settings.user_pool_id, ClientId=settings.user_pool_client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH", AuthParameters={"USERNAME": email, "PASSWORD": password},
        )["AuthenticationResult"]
    except (idp.exceptions.NotAuthorizedException, idp.exceptions.UserNotFoundException,
            idp.exceptions.UserNotConfirmedException) as exc:
        raise AuthError("email atau kata sandi salah, atau akun belum aktif") from exc
    return {"id_token": result["IdToken"], "expires_in": result["ExpiresIn"], "issued_at": int(time.time())}


def register(email: str, password: str, name: str, phone: str, private: dict[str, str]) -> str:
    """Create an applicant account that cannot sign in until activated; returns the user id (sub).

    Created with the admin APIs (the public client may write no attribute), then disabled: activation
    enables it. `private` attributes (masked and hashed NIK) are never readable or writable by users."""
    idp = client("cognito-idp")
    pool_id = get_settings().user_pool_id
    attributes = {"email": email, "name": name, "phone_number": phone, **private}
    try:
        user = idp.admin_create_user(
            UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
            TemporaryPassword=_temporary_password(),
            UserAttributes=[{"Name": k, "Value": v} for k, v in attributes.items()],
        )["User"]
    except idp.exceptions.UsernameExistsException as exc:
        raise ConflictError("email sudah terdaftar", field="email") from exc
    try:
        idp.admin_disable_user(UserPoolId=pool_id, Username=email)
        idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    except idp.exceptions.InvalidPasswordException as exc:
        idp.admin_delete_user(UserPoolId=pool_id, Username=email)
        raise ValidationError("kata sandi minimal 10 karakter dengan huruf besar, huruf kecil dan angka",
                              field="password") from exc
    except Exception:
        idp.admin_delete_user(UserPoolId=pool_id, Username=email)
        raise
    return str(_attributes(user)["sub"])


def _temporary_password() -> str:
    """Never used to sign in (the real password is set at once); meets any password policy."""
    import secrets

    return "Tmp-" + secrets.token_urlsafe(24) + "a1A"


def set_password(email: str, password: str) -> None:
    client("cognito-idp").admin_set_user_password(UserPoolId=get_settings().user_pool_id, Username=email,
                                                  Password=password, Permanent=True)


def activate(email: str) -> None:
    """Put the account in the applicant group and enable it (after the WhatsApp code matched).

    Only an account waiting for activation qualifies: one an administrator disabled stays disabled."""
    idp = client("cognito-idp")
    pool_id = get_settings().user_pool_id
    if contact_by_email(email).get("status") != "UNCONFIRMED":
        raise ValidationError("tidak ada aktivasi yang menunggu untuk email ini", field="email")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=APPLICANT_GROUP)
    idp.admin_enable_user(UserPoolId=pool_id, Username=email)


def mark_email_verified(email: str) -> None:
    """Set `email_verified=true` on the account (after the applicant entered the code sent to that address).

    Admin API only: the public app client may not write `email_verified` (template WriteAttributes)."""
    client("cognito-idp").admin_update_user_attributes(
        UserPoolId=get_settings().user_pool_id, Username=email,
        UserAttributes=[{"Name": "email_verified", "Value": "true"}])


def _attributes(user: dict[str, Any]) -> dict[str, str]:
    pairs = user.get("Attributes") or user.get("UserAttributes") or []
    return {a["Name"]: a["Value"] for a in pairs}


def contact_of(user_id: str) -> dict[str, str]:
    """email / phone_number / name of one user, by sub (notifier only)."""
    idp = client("cognito-idp")
    users = idp.list_users(UserPoolId=get_settings().user_pool_id, Filter=f'sub = "{user_id}"', Limit=1)["Users"]
    return _attributes(users[0]) if users else {}


def _group_members(group: str) -> list[dict[str, Any]]:
    idp = client("cognito-idp")
    members: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"UserPoolId": get_settings().user_pool_id, "GroupName": group}
    while True:
        page = idp.list_users_in_group(**kwargs)
        members.extend(page["Users"])
        if not page.get("NextToken"):
            return members
        kwargs["NextToken"] = page["NextToken"]


def contacts_of_role(office_id: str, role: str) -> list[dict[str, str]]:
    """Contacts of the officers holding `role` in `office_id` (members of both groups; notifier only)."""
    in_office = {user["Username"] for user in _group_members(OFFICE_GROUP_PREFIX + office_id)}
    return [_attributes(user) for user in _group_members(role) if user["Username"] in in_office]


def contact_by_email(email: str) -> dict[str, str]:
    """Attributes of the account with this (already validated) e-mail, plus its `status`; {} if none.

    `status` is UNCONFIRMED for an account waiting for activation (disabled, in no group yet),
    DISABLED for one an administrator disabled, else Cognito's status (CONFIRMED)."""
    idp = client("cognito-idp")
    pool_id = get_settings().user_pool_id
    users = idp.list_users(UserPoolId=pool_id, Filter=f'email = "{email}"', Limit=1)["Users"]
    if not users:
        return {}
    user = users[0]
    status = str(user.get("UserStatus", ""))
    if not user.get("Enabled", True):
        groups = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=user["Username"], Limit=1)["Groups"]
        status = "DISABLED" if groups else "UNCONFIRMED"
    return {**_attributes(user), "status": status}
