"""Shared GraphQL pieces: ordering, page info, connection construction."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry import relay

from services.pagination import Page

N = TypeVar("N", bound=relay.Node)

FirstArg = Annotated[int | None, strawberry.argument(
    description="Page size, 0 to 100.")]
AfterArg = Annotated[str | None, strawberry.argument(
    description="Continue after this cursor (pageInfo.endCursor).")]


def _parse_decimal(value: object) -> Decimal:
    # A JSON number arrives as a float: go through its shortest repr so 0.1 stays 0.1.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("expected a decimal number as a string or number")
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation as error:
        raise ValueError(f"{value!r} is not a decimal number") from error


DecimalScalar = strawberry.scalar(
    name="Decimal",
    description="Exact decimal number, serialised as a string (e.g. \"1234.50\"); numbers and "
                "strings are accepted as input.",
    serialize=str,
    parse_value=_parse_decimal,
)
SCALAR_OVERRIDES: dict[object, Any] = {Decimal: DecimalScalar}


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


def page_info(page: Page[Any]) -> relay.PageInfo:
    return relay.PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )


def edges(page: Page[Any], to_node: Callable[[Any], N]) -> list[relay.Edge[N]]:
    return [relay.Edge(cursor=cursor, node=to_node(item))
            for item, cursor in zip(page.items, page.cursors, strict=True)]
