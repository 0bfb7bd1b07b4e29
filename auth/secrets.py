"""Passwords (argon2id), opaque tokens (stored as SM3 hashes) and short-lived JWT access
tokens."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from auth.crypto import sm3_hex

_HASHER = PasswordHasher()  # argon2id, library defaults (64 MiB, t=3, p=4)
# Verified when the username is unknown, so both paths cost one argon2 verification.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def configure_password_hashing(memory_kib: int, time_cost: int) -> None:
    """Cost of new hashes (existing hashes keep the cost they were made with)."""
    global _HASHER, _DUMMY_HASH
    _HASHER = PasswordHasher(memory_cost=memory_kib, time_cost=time_cost)
    _DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
_ALGORITHM = "HS256"


class InvalidToken(Exception):
    """An access token that is malformed, forged or expired."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def new_opaque_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def token_hash(token: str) -> str:
    return sm3_hex(token.encode())


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID


def issue_access_token(secret: str, claims: AccessClaims, ttl: timedelta) -> str:
    now = datetime.now(UTC)
    payload = {"sub": str(claims.user_id), "sid": str(claims.session_id), "iat": now,
               "exp": now + ttl, "typ": "access"}
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def read_access_token(secret: str, token: str) -> AccessClaims:
    try:
        payload = jwt.decode(token, secret, algorithms=[_ALGORITHM],
                             options={"require": ["sub", "sid", "exp", "iat"]})
        if payload.get("typ") != "access":
            raise InvalidToken("not an access token")
        return AccessClaims(uuid.UUID(payload["sub"]), uuid.UUID(payload["sid"]))
    except (jwt.PyJWTError, ValueError, KeyError) as error:
        raise InvalidToken(str(error)) from error
