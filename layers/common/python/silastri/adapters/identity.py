"""Identity through Cognito: sign-up, login, token verification against the pool's JWKS.

The JWKS URL and issuer are configuration (the local runtime serves its own pool's keys; moto's
tokens name the real AWS host in `iss`, so the URL can never be derived from the token)."""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt
from pydantic import BaseModel

from ..domain.errors import ConflictError, DomainError, ValidationError
from ..settings import get_settings
from .aws import client


class AuthError(DomainError):
    status = 401


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
    return Principal(
        user_id=claims["sub"], email=claims.get("email"), name=claims.get("name"),
        roles=set(claims.get("cognito:groups", [])), office_id=claims.get("custom:office_id"),
        acting=claims.get("custom:acting") == "true", nik_masked=claims.get("custom:nik_masked"),
        issued_at=int(claims["iat"]),
    )


def login(email: str, password: str) -> dict[str, Any]:
    """USER_PASSWORD_AUTH; returns the ID token and its lifetime. Wrong credentials → AuthError."""
    idp = client("cognito-idp")
    settings = get_settings()
    try:
        result = idp.initiate_auth(
            ClientId=settings.user_pool_client_id, AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": email, "PASSWORD": password},
        )["AuthenticationResult"]
    except (idp.exceptions.NotAuthorizedException, idp.exceptions.UserNotFoundException,
            idp.exceptions.UserNotConfirmedException) as exc:
        raise AuthError("email atau kata sandi salah, atau akun belum aktif") from exc
    return {"id_token": result["IdToken"], "expires_in": result["ExpiresIn"], "issued_at": int(time.time())}


def register(email: str, password: str, name: str, phone: str, private: dict[str, str]) -> str:
    """Create an unconfirmed applicant account; returns the user id (sub).

    `private` attributes (masked and hashed NIK) are written by the backend only, never by the client."""
    idp = client("cognito-idp")
    settings = get_settings()
    try:
        response = idp.sign_up(
            ClientId=settings.user_pool_client_id, Username=email, Password=password,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "name", "Value": name},
                            {"Name": "phone_number", "Value": phone}],
        )
    except idp.exceptions.UsernameExistsException as exc:
        raise ConflictError("email sudah terdaftar", field="email") from exc
    except idp.exceptions.InvalidPasswordException as exc:
        raise ValidationError("kata sandi minimal 10 karakter dengan huruf besar, huruf kecil dan angka",
                              field="password") from exc
    idp.admin_update_user_attributes(UserPoolId=settings.user_pool_id, Username=email,
                                     UserAttributes=[{"Name": k, "Value": v} for k, v in private.items()])
    return str(response["UserSub"])


def set_password(email: str, password: str) -> None:
    client("cognito-idp").admin_set_user_password(UserPoolId=get_settings().user_pool_id, Username=email,
                                                  Password=password, Permanent=True)


def activate(email: str) -> None:
    """Confirm the account and put it in the applicant group (after the WhatsApp code matched)."""
    idp = client("cognito-idp")
    settings = get_settings()
    idp.admin_confirm_sign_up(UserPoolId=settings.user_pool_id, Username=email)
    idp.admin_add_user_to_group(UserPoolId=settings.user_pool_id, Username=email, GroupName="applicant")


def _attributes(user: dict[str, Any]) -> dict[str, str]:
    pairs = user.get("Attributes") or user.get("UserAttributes") or []
    return {a["Name"]: a["Value"] for a in pairs}


def contact_of(user_id: str) -> dict[str, str]:
    """email / phone_number / name of one user, by sub (notifier only)."""
    idp = client("cognito-idp")
    users = idp.list_users(UserPoolId=get_settings().user_pool_id, Filter=f'sub = "{user_id}"', Limit=1)["Users"]
    return _attributes(users[0]) if users else {}


def contacts_of_role(office_id: str, role: str) -> list[dict[str, str]]:
    """Contacts of the officers holding `role` in `office_id` (notifier only)."""
    idp = client("cognito-idp")
    settings = get_settings()
    found: list[dict[str, str]] = []
    kwargs: dict[str, Any] = {"UserPoolId": settings.user_pool_id, "GroupName": role}
    while True:
        page = idp.list_users_in_group(**kwargs)
        for user in page["Users"]:
            attrs = _attributes(user)
            if attrs.get("custom:office_id") == office_id:
                found.append(attrs)
        if not page.get("NextToken"):
            return found
        kwargs["NextToken"] = page["NextToken"]


def contact_by_email(email: str) -> dict[str, str]:
    """Attributes of the account with this (already validated) e-mail, plus its `status`; {} if none."""
    idp = client("cognito-idp")
    users = idp.list_users(UserPoolId=get_settings().user_pool_id, Filter=f'email = "{email}"', Limit=1)["Users"]
    if not users:
        return {}
    return {**_attributes(users[0]), "status": users[0].get("UserStatus", "")}
