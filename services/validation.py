"""Small input rules shared by the use cases; each failure names its field."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from services.errors import BadUserInput

_MAX_MONEY = Decimal("1e17")


def text(value: str, field: str, *, max_length: int, required: bool = True) -> str:
    cleaned = " ".join(value.split())
    if required and not cleaned:
        raise BadUserInput(f"`{field}` must not be empty", field=field)
    if len(cleaned) > max_length:
        raise BadUserInput(f"`{field}` is longer than {max_length} characters", field=field)
    return cleaned


def optional_text(value: str | None, field: str, *, max_length: int) -> str | None:
    if value is None:
        return None
    return text(value, field, max_length=max_length, required=False) or None


def choice(value: str, field: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise BadUserInput(f"`{field}` must be one of {', '.join(allowed)}", field=field)
    return value


def tags(values: Sequence[str], field: str = "tags") -> list[str]:
    cleaned: list[str] = []
    for value in values:
        tag = text(value, field, max_length=32)
        if tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > 20:
        raise BadUserInput(f"at most 20 `{field}`", field=field)
    return cleaned


def money(value: Decimal | None, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        if not value.is_finite() or value < 0 or value >= _MAX_MONEY:
            raise BadUserInput(f"`{field}` must be a non-negative amount", field=field)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -2 and value != value.quantize(Decimal("0.01")):
            raise BadUserInput(f"`{field}` has more than 2 decimal places", field=field)
        return value.quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise BadUserInput(f"`{field}` is not an amount", field=field) from error


def percentage(value: Decimal, field: str) -> Decimal:
    if not value.is_finite() or value <= 0 or value > 100:
        raise BadUserInput(f"`{field}` must be greater than 0 and at most 100", field=field)
    if value != value.quantize(Decimal("0.0001")):
        raise BadUserInput(f"`{field}` has more than 4 decimal places", field=field)
    return value.quantize(Decimal("0.0001"))
