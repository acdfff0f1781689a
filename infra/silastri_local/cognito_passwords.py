"""Salted password hashes in moto's Cognito users (moto keeps the plaintext).

moto's ``CognitoIdpUser`` stores ``password`` as given and its auth flows compare it with
``user.password != password``. `install` replaces that attribute with a property: setting
a string stores a `HashedPassword` (PBKDF2-HMAC-SHA256, random 16-byte salt), and reading
it returns that object, which compares equal to the right plaintext. Nothing else in moto
reads the password, so the auth flows keep working while neither memory dumps nor saved
state (snapshot, journal) hold a plaintext password.

Pinned by ``tests/contract/test_moto_contract.py`` (moto is pinned exactly).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from typing import Any

__all__ = ["ITERATIONS", "HashedPassword", "install", "installed", "uninstall"]

#: PBKDF2 iterations: about 30 ms per check on a laptop core (local accounts only).
ITERATIONS = 100_000
_SALT_BYTES = 16
_ATTRIBUTE = "_silastri_password_hash"
_lock = threading.Lock()
_original: dict[str, Any] = {}


class HashedPassword:
    """A salted PBKDF2-HMAC-SHA256 hash that compares equal to the plaintext it was made from."""

    __slots__ = ("digest", "iterations", "salt")

    def __init__(self, salt: bytes, digest: bytes, iterations: int) -> None:
        self.salt = salt
        self.digest = digest
        self.iterations = iterations

    @classmethod
    def of(cls, password: str, iterations: int = ITERATIONS) -> HashedPassword:
        """Hash ``password`` with a new random salt."""
        salt = os.urandom(_SALT_BYTES)
        return cls(salt, hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations), iterations)

    def matches(self, password: str) -> bool:
        """True when ``password`` is the plaintext this hash was made from (constant-time compare)."""
        candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), self.salt, self.iterations)
        return hmac.compare_digest(candidate, self.digest)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.matches(other)
        if isinstance(other, HashedPassword):
            return hmac.compare_digest(self.digest, other.digest) and self.salt == other.salt
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HashedPassword(pbkdf2-sha256, {self.iterations} iterations)"

    def __getstate__(self) -> tuple[bytes, bytes, int]:
        return self.salt, self.digest, self.iterations

    def __setstate__(self, state: tuple[bytes, bytes, int]) -> None:
        self.salt, self.digest, self.iterations = state


def _get_password(user: Any) -> HashedPassword | None:
    stored = user.__dict__.get(_ATTRIBUTE)
    if stored is None and isinstance(user.__dict__.get("password"), str):
        # A user restored from state saved before the hashes: hash it now, drop the plaintext.
        stored = user.__dict__[_ATTRIBUTE] = HashedPassword.of(user.__dict__.pop("password"))
    return stored  # type: ignore[no-any-return]


def _set_password(user: Any, value: str | HashedPassword | None) -> None:
    user.__dict__.pop("password", None)
    user.__dict__[_ATTRIBUTE] = HashedPassword.of(value) if isinstance(value, str) else value


def install() -> None:
    """Make ``CognitoIdpUser.password`` a hashing property (idempotent, process-wide)."""
    from moto.cognitoidp.models import CognitoIdpUser

    with _lock:
        if "password" in _original:
            return
        _original["password"] = CognitoIdpUser.__dict__.get("password")
        setattr(CognitoIdpUser, "password", property(_get_password, _set_password))  # noqa: B010 - instance attribute in moto's types


def uninstall() -> None:
    """Restore moto's plain attribute (users created meanwhile keep their hashes)."""
    from moto.cognitoidp.models import CognitoIdpUser

    with _lock:
        if "password" not in _original:
            return
        original = _original.pop("password")
        if original is None:
            delattr(CognitoIdpUser, "password")
        else:
            setattr(CognitoIdpUser, "password", original)  # noqa: B010 - see install


def installed() -> bool:
    """Whether `install` is in effect."""
    return "password" in _original
