"""Read your own writes: a mutation whose change the graph projects answers once the projector
has applied it (bounded by PROJECTION_WAIT_SECONDS), so the client's next read shows it. Past
the wait the payload says `projectionPending: true`; the write itself is committed either way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension


@strawberry.type(description="A write whose change also reaches the relationship graph.")
class GraphWrite:
    projection_pending: bool = strawberry.field(
        default=False,
        description="True if the graph had not applied the change when the answer was sent: "
                    "the write is committed, traversals show it moments later.")


class Settle(FieldExtension):
    """Waits, after the mutation's unit of work committed, for its outbox events."""

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any,
                            info: strawberry.Info, **kwargs: Any) -> Any:
        result = await next_(source, info, **kwargs)
        settled = await info.context.settle_writes()
        if not settled and isinstance(result, GraphWrite):
            result.projection_pending = True
        return result
