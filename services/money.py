"""Money rules shared by the pipeline's documents: ISO currencies and exact amounts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from services.errors import BadUserInput

# ISO 4217 codes the business invoices in.
CURRENCIES = ("CNY", "USD", "EUR", "HKD", "JPY", "GBP", "SGD", "RUB", "KRW", "AUD")
CENT = Decimal("0.01")
_MAX = Decimal("1e16")


def currency(value: str, field: str = "currency") -> str:
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise BadUserInput(f"`{field}` must be an ISO 4217 code we invoice in "
                           f"({', '.join(CURRENCIES)})", field=field)
    return code


def amount(value: Decimal, field: str = "amount", *, positive: bool = False) -> Decimal:
    """A non-negative (or positive) amount with at most two decimal places."""
    try:
        if not value.is_finite() or value >= _MAX:
            raise BadUserInput(f"`{field}` is not an amount", field=field)
        if value < 0 or (positive and value == 0):
            raise BadUserInput(f"`{field}` must be {'positive' if positive else 'non-negative'}",
                               field=field)
        if value != value.quantize(CENT):
            raise BadUserInput(f"`{field}` has more than 2 decimal places", field=field)
        return value.quantize(CENT)
    except InvalidOperation as error:
        raise BadUserInput(f"`{field}` is not an amount", field=field) from error


def percent(value: Decimal, field: str) -> Decimal:
    """0 to 100 with at most two decimal places."""
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise BadUserInput(f"`{field}` must be between 0 and 100", field=field)
    if value != value.quantize(CENT):
        raise BadUserInput(f"`{field}` has more than 2 decimal places", field=field)
    return value.quantize(CENT)


def same_currency(given: str, expected: str, field: str = "currency") -> None:
    if given != expected:
        raise BadUserInput(f"currency mismatch: `{field}` is {given}, the document is in "
                           f"{expected}", field=field)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
