"""Shared GraphQL pieces: ordering, page info, connection construction."""

from __future__ import annotations

from collections.abc import Callable
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
