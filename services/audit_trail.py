"""The audit trail for auditors: who accessed or changed which data, when, from where, why."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

from auth.actor import Actor
from relational.models import AuditRecord
from relational.repositories import audit as repo
from relational.repositories.audit import TrailQuery
from services.errors import BadUserInput
from services.pagination import Page, check_first, make_page
from services.stores import Stores

_KIND = "audit"
_EXPORT_BATCH = 1000
CSV_COLUMNS = ("seq", "at", "actor", "operation", "target_ids", "ip", "request_id", "reason",
               "fields", "before", "after")


def _cursor(record: AuditRecord) -> str:
    return f"{_KIND}:{record.seq}"


def _before_seq(after: str | None) -> int | None:
    if after is None:
        return None
    kind, _, seq = after.partition(":")
    if kind != _KIND or not seq.isdigit():
        raise BadUserInput("`after` is not a cursor of the audit trail", field="after")
    return int(seq)


def _check(query: TrailQuery) -> None:
    if query.since and query.until and query.since >= query.until:
        raise BadUserInput("`since` must be before `until`", field="since")


async def trail(stores: Stores, actor: Actor, query: TrailQuery, first: int | None,
                after: str | None) -> Page[AuditRecord]:
    _check(query)
    limit = check_first(first)
    async with stores.read() as session:
        rows = await repo.trail(session, query, limit=limit + 1, before_seq=_before_seq(after))
    return make_page(rows, limit, _cursor, has_previous=after is not None)


async def count(stores: Stores, actor: Actor, query: TrailQuery) -> int:
    async with stores.read() as session:
        return await repo.trail_count(session, query)


def fields_of(record: AuditRecord) -> list[str]:
    """The fields a record is about: those changed, or those read."""
    changed = set((record.before or {}).keys()) | set((record.after or {}).keys())
    reads = (record.after or {}).get("reads")
    if isinstance(reads, list):
        return sorted({str(read.get("field")) for read in reads if isinstance(read, dict)})
    return sorted(changed - {"changedFields"})


async def export_csv(stores: Stores, actor: Actor, query: TrailQuery) -> AsyncIterator[str]:
    """The whole matching trail as CSV, newest first, streamed in batches."""
    _check(query)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    before: int | None = None
    while True:
        async with stores.read() as session:
            rows = await repo.trail(session, query, limit=_EXPORT_BATCH, before_seq=before)
        for row in rows:
            writer.writerow([row.seq, row.at.isoformat(), row.actor or "", row.operation,
                             " ".join(row.target_ids), row.ip or "", row.request_id or "",
                             row.reason or "", " ".join(fields_of(row)),
                             json.dumps(row.before, ensure_ascii=False) if row.before else "",
                             json.dumps(row.after, ensure_ascii=False) if row.after else ""])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < _EXPORT_BATCH:
            return
        before = rows[-1].seq
