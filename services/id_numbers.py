"""居民身份证号 (resident identity card number, GB 11643-1999): the check character.

Layout of the 18 characters: 6-digit administrative division, 8-digit birth date (YYYYMMDD),
3-digit sequence (odd for men, even for women), and a check character over the first 17
digits (ISO 7064 MOD 11-2: weights 2^(17-i) mod 11, the remainder mapped onto "10X98765432").
Used by contact validation and by the demo data, which must produce numbers that validate.
"""

from __future__ import annotations

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def resident_id_check_digit(first17: str) -> str:
    """GB 11643 check character of an 18-character 居民身份证号, from its first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError(f"expected 17 digits: {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]
