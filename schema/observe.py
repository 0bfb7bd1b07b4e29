"""One log line and the request metrics of every GraphQL operation: request id, actor,
operation name, duration, outcome code (OK or the first error's code), graph round trips.
Never the query text or its variables: they carry phones, passwords and names."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import structlog
from strawberry.extensions import SchemaExtension

from services import metrics

log = structlog.get_logger("crm.request")


def _outcome(result: Any) -> str:
    errors = getattr(result, "errors", None) or []
    for error in errors:
        code = (getattr(error, "extensions", None) or {}).get("code")
        if code:
            return str(code)
    return "INTERNAL" if errors else "OK"


def _kind(context: Any) -> str | None:
    """query / mutation / subscription; None when the document did not parse."""
    if context.graphql_document is None:
        return None
    return str(context.operation_type.value)


class Observe(SchemaExtension):
    """First in the list, so it finishes last and sees the errors as clients get them."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        trips = metrics.count_round_trips()
        yield
        context = self.execution_context
        name = context.operation_name or "anonymous"
        # Operation names are the client's: keep the label set bounded and printable.
        operation = name[:64] if name.replace("_", "").isalnum() else "invalid"
        outcome = _outcome(context.result)
        seconds = time.perf_counter() - started
        metrics.REQUESTS.labels(operation, outcome).inc()
        metrics.LATENCY.labels(operation, outcome).observe(seconds)
        request = context.context
        actor = getattr(getattr(request, "known_actor", None), "label", None)
        log.info("graphql", request_id=getattr(request, "request_id", None),
                 actor=actor or "anonymous", operation=operation,
                 kind=_kind(context),
                 outcome=outcome, duration_ms=round(seconds * 1000, 1),
                 graph_round_trips=trips[0])
