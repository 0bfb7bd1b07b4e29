"""SM2 signatures (GB/T 32918) with SM3 over Z_A || M, default user id ``1234567812345678``.

Thin, defensive wrapper over `gmssl` (pure Python). Formats:

- private key: 64 hex chars, the scalar d in [1, n-2];
- public key: 128 hex chars x || y (an uncompressed ``04`` prefix is accepted on input);
- signature: 128 hex chars r || s (raw, not DER).

What gmssl leaves to the caller, done here: keys are validated (public point on the curve,
public key matching the private key when signing), the per-signature nonce K comes from
`secrets` (gmssl's default uses `random`), r and s are range-checked before verifying, and
malformed signatures verify False instead of raising.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from gmssl import sm2 as gm_sm2

from auth.crypto import CryptoError

__all__ = ["generate_sm2_keypair", "sm2_sign", "sm2_verify"]

_TABLE: dict[str, str] = gm_sm2.default_ecc_table
_N = int(_TABLE["n"], 16)
_P = int(_TABLE["p"], 16)
_A = int(_TABLE["a"], 16)
_B = int(_TABLE["b"], 16)
_G = _TABLE["g"]
_PRIVATE_RE = re.compile(r"[0-9A-Fa-f]{64}")
_POINT_RE = re.compile(r"(?:04)?([0-9A-Fa-f]{128})")
_SIGNATURE_RE = re.compile(r"[0-9A-Fa-f]{128}")


def _crypt(private_hex: str, public_hex: str) -> Any:
    # gmssl's constructor does `public_key.lstrip("04")`, which also eats leading 0/4 digits
    # of x; set the validated key afterwards instead.
    crypt = gm_sm2.CryptSM2(private_key=private_hex, public_key="")
    crypt.public_key = public_hex
    return crypt


def _private_scalar(private_hex: str) -> int:
    if not isinstance(private_hex, str) or not _PRIVATE_RE.fullmatch(private_hex):
        raise CryptoError("SM2 private key must be 64 hex chars")
    d = int(private_hex, 16)
    if not 1 <= d <= _N - 2:
        raise CryptoError("SM2 private key is out of range")
    return d


def _public_point(public_hex: str) -> str:
    match = _POINT_RE.fullmatch(public_hex) if isinstance(public_hex, str) else None
    if match is None:
        raise CryptoError("SM2 public key must be 128 hex chars (x || y), optionally 04-prefixed")
    point = match.group(1).lower()
    x, y = int(point[:64], 16), int(point[64:], 16)
    if x >= _P or y >= _P or (y * y - (x * x * x + _A * x + _B)) % _P != 0:
        raise CryptoError("SM2 public key is not a point on the curve")
    return point


def _multiply_base(d: int) -> str:
    point: str = _crypt("", "")._kg(d, _G)
    return point


def generate_sm2_keypair() -> tuple[str, str]:
    """A fresh key pair: (private hex, public hex x || y)."""
    d = secrets.randbelow(_N - 2) + 1  # [1, n-2]: signing needs (1 + d) invertible mod n
    return f"{d:064x}", _multiply_base(d)


def sm2_sign(private_hex: str, public_hex: str, data: bytes) -> str:
    """Sign `data` (SM3 with Z_A); a fresh secret nonce K per signature."""
    d = _private_scalar(private_hex)
    public = _public_point(public_hex)
    if _multiply_base(d) != public:
        raise CryptoError("SM2 public key does not belong to the private key")
    crypt = _crypt(f"{d:064x}", public)
    while True:
        k = secrets.randbelow(_N - 1) + 1
        # gmssl returns None for the rare unusable K (r = 0, r + k = n, s = 0); draw again.
        signature: str | None = crypt.sign_with_sm3(data, f"{k:064x}")
        if signature is not None:
            return signature


def sm2_verify(public_hex: str, data: bytes, signature_hex: str) -> bool:
    """True only for a valid signature of `data` under `public_hex`.

    A malformed signature is False; a malformed public key raises `CryptoError` (keys are
    configuration, signatures are input).
    """
    public = _public_point(public_hex)
    if not isinstance(signature_hex, str) or not _SIGNATURE_RE.fullmatch(signature_hex):
        return False
    r, s = int(signature_hex[:64], 16), int(signature_hex[64:], 16)
    if not (1 <= r < _N and 1 <= s < _N):
        return False
    try:
        return bool(_crypt("", public).verify_with_sm3(signature_hex, data))
    except (TypeError, ValueError):
        # gmssl hits the point at infinity as None and fails on it; that is not a valid signature.
        return False
