"""How protected values look to someone allowed to know they exist but not to read them."""

from __future__ import annotations

from enum import Enum


class MaskKind(Enum):
    PHONE = "PHONE"
    EMAIL = "EMAIL"
    ID_NUMBER = "ID_NUMBER"
    FULL = "FULL"


def mask(kind: MaskKind, value: str) -> str:
    if kind is MaskKind.PHONE:
        digits = [char for char in value if char.isdigit()]
        if len(digits) >= 11:  # 13812345678 → 138****5678
            return "".join(digits[-11:-8]) + "****" + "".join(digits[-4:])
        return "*" * max(len(digits) - 2, 1) + "".join(digits[-2:])
    if kind is MaskKind.EMAIL:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"
    if kind is MaskKind.ID_NUMBER:  # 510107199003071234 → 5101**********1234
        return value[:4] + "*" * max(len(value) - 8, 0) + value[-4:]
    return "*" * 8
