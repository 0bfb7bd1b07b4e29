"""统一社会信用代码 (Unified Social Credit Code, GB 32100-2015).

Layout of the 18 characters (0-based index):

====== ======================================================================
index  meaning
====== ======================================================================
0      registration authority (登记管理部门), one of ``REGISTRATION_AUTHORITIES``
1      organisation type (机构类别) — any alphabet character; its meaning
       depends on the authority, which this module does not model
2-7    administrative division code (登记管理机关行政区划码), six digits
8-16   organisation code (组织机构代码, GB 11714): 8 body characters + check
17     check digit over characters 0-16 (GB 32100 mod-31 scheme)
====== ======================================================================

:func:`normalize_uscc` checks exactly this, in this order: length 18, every
character in ``USCC_ALPHABET``, the mod-31 check digit, the authority
character, the division code being six digits, and the GB 11714 check
character of the embedded organisation code.  It does *not* check that the
division code exists or that the type fits the authority.

The organisation-code rule was confirmed against published real codes
(91350100M000100Y43, 911100001000080343, 9144030071526726XG, …), all of which
satisfy it; body letters take GB 11714 values A=10 … Z=35.
"""

from __future__ import annotations

import random

__all__ = [
    "REGISTRATION_AUTHORITIES",
    "USCC_ALPHABET",
    "USCC_WEIGHTS",
    "UsccError",
    "check_digit",
    "make_uscc",
    "normalize_uscc",
    "org_code_check_digit",
]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS: tuple[int, ...] = tuple(3**i % 31 for i in range(17))
REGISTRATION_AUTHORITIES = "123456789ABCDEFGNY"

_VALUE = {char: value for value, char in enumerate(USCC_ALPHABET)}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_DIGITS = "0123456789"
_LENGTH = 18


class UsccError(ValueError):
    """A string that is not a valid USCC; ``reason`` says why, in plain words.

    ``position`` is the 1-based position of the offending character, when one
    character is to blame.
    """

    def __init__(self, reason: str, *, position: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.position = position


def _check_charset(text: str) -> None:
    for index, char in enumerate(text):
        if char not in _VALUE:
            raise UsccError(
                f"invalid character {char!r} at position {index + 1}", position=index + 1
            )


def check_digit(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a code.

    c18 = 31 - (Σ value(c_i) · 3^i mod 31) mod 31, where a result of 31 means '0'.
    """
    if len(first17) != _LENGTH - 1:
        raise UsccError(f"wrong length: expected 17 characters, got {len(first17)}")
    _check_charset(first17)
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_digit(body: str) -> str:
    """The GB 11714 check character for an 8-character organisation-code body.

    C9 = 11 - (Σ value(c_i) · w_i mod 11) with w = 3,7,9,10,5,8,4,2, digits at face
    value and letters A=10 … Z=35; 10 is written 'X' and 11 is written '0'.
    """
    if len(body) != len(_ORG_WEIGHTS) or not all(c.isascii() and c.isalnum() for c in body):
        raise ValueError(f"organisation code body must be 8 ASCII letters/digits: {body!r}")
    total = sum(int(char, 36) * w for char, w in zip(body.upper(), _ORG_WEIGHTS, strict=True))
    result = 11 - total % 11
    return {10: "X", 11: "0"}.get(result, str(result))


def normalize_uscc(raw: str) -> str:
    """Strip surrounding whitespace, upper-case and validate; return the canonical code.

    Raises :class:`UsccError` with a human-readable reason (see the module
    docstring for the exact rules and their order).
    """
    code = raw.strip().upper()
    if len(code) != _LENGTH:
        raise UsccError(f"wrong length: expected 18 characters, got {len(code)}")
    _check_charset(code)
    expected = check_digit(code[:17])
    if code[17] != expected:
        raise UsccError(f"wrong check digit: expected {expected}, got {code[17]}", position=18)
    if code[0] not in REGISTRATION_AUTHORITIES:
        raise UsccError(f"unknown registration authority {code[0]!r} at position 1", position=1)
    for index in range(2, 8):
        if code[index] not in _DIGITS:
            raise UsccError(
                f"administrative division code must be digits: {code[index]!r} "
                f"at position {index + 1}",
                position=index + 1,
            )
    expected_org = org_code_check_digit(code[8:16])
    if code[16] != expected_org:
        raise UsccError(
            f"wrong organisation code check digit: expected {expected_org}, got {code[16]}",
            position=17,
        )
    return code


def make_uscc(
    rng: random.Random, *, division: str, authority: str = "9", org_type: str = "1"
) -> str:
    """A random but valid code for ``division`` (six digits, e.g. "510100").

    Enterprise-style organisation codes: either eight digits (pre-2015 style)
    or "MA" followed by six alphabet characters (post-2015 style).
    """
    if len(division) != 6 or not all(char in _DIGITS for char in division):
        raise ValueError(f"division must be six digits: {division!r}")
    if len(authority) != 1 or authority not in REGISTRATION_AUTHORITIES:
        raise ValueError(f"unknown registration authority: {authority!r}")
    if len(org_type) != 1 or org_type not in _VALUE:
        raise ValueError(f"organisation type must be one alphabet character: {org_type!r}")
    if rng.random() < 0.6:
        body = "MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(6))
    else:
        body = "".join(rng.choice(_DIGITS) for _ in range(8))
    first17 = authority + org_type + division + body + org_code_check_digit(body)
    return first17 + check_digit(first17)
