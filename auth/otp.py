"""One-time codes of step-up verification: TOTP (RFC 6238, via `pyotp`) and random SMS codes
kept only as keyed SM3 hashes. Pure functions; no I/O."""

from __future__ import annotations

import hmac
import secrets
import uuid

import pyotp

from auth.crypto import hmac_sm3

ISSUER = "Graph CRM"
SMS_DIGITS = 6
# A code of the previous or next 30-second step is accepted too (clock drift, typing time).
TOTP_WINDOW = 1


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads from a QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def totp_step(secret: str, code: str, now: float, after_step: int) -> int | None:
    """The time step `code` belongs to, if it is valid around `now` and newer than
    `after_step` (so an accepted code is never accepted again); else None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if step > after_step and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_sms_code() -> str:
    return f"{secrets.randbelow(10 ** SMS_DIGITS):0{SMS_DIGITS}d}"


def sms_code_hash(key: bytes, challenge_id: uuid.UUID, code: str) -> str:
    """Keyed, and bound to its challenge: a leaked table does not give the 10⁶ codes away."""
    return hmac_sm3(key, f"stepUp\x1f{challenge_id}\x1f{code}".encode()).hex()


def same_hash(left: str, right: str) -> bool:
    return hmac.compare_digest(left, right)
