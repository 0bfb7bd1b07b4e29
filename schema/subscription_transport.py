"""The graphql-transport-ws handler: Strawberry's, naming each operation it runs
(`resolvers.subscriptions.OPERATION`) so that a subscription field can hand its live events to
the group of subscribers that run the same operation under the same authorization, and a way
to run that operation again for the group's own context."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types.execution import ExecutionResult

from resolvers import subscriptions as resolve
from resolvers.context import Context


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    async def run_operation(self, operation: Operation[Context, None]) -> None:
        key = (operation.query, json.dumps(operation.variables or {}, sort_keys=True,
                                           default=str), operation.operation_name)
        resolve.OPERATION.set(resolve.Operation(
            operation.id, key, partial(_payloads, self.schema, operation),
            self.view.encode_json_string))
        await super().run_operation(operation)


async def _payloads(schema: BaseSchema, operation: Operation[Context, None],
                    context: Context) -> AsyncIterator[dict[str, Any]]:
    """The operation run under `context`: each result as the `next` message's payload."""
    results = await schema.stream(operation.query, variable_values=operation.variables,
                                  context_value=context, root_value=None,
                                  operation_name=operation.operation_name)
    try:
        async for result in results:
            payload: dict[str, Any] = {"data": getattr(result, "data", None)}
            errors = getattr(result, "errors", None)
            if errors:
                payload["errors"] = [error.formatted for error in errors]
            if isinstance(result, ExecutionResult) and result.extensions:
                payload["extensions"] = result.extensions
            yield payload
    finally:
        await results.aclose()
