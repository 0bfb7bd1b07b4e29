"""Audit: the trail for auditors — who accessed or changed which data, when, from where,
why — and `crm audit verify`, the whole log checked against its SM3 hash chain.

A record about an account or contact above the reader's clearance still shows that the event
happened (who, when, what operation, which ids, from where) but not its content: the
classification is read from the ledger when the trail is read, so a record written while the
account was 内部 is hidden once it is raised to 机密.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, Clearance
from auth.audit_chain import ChainRow, verifier
from auth.audit_verifier import Problem
from relational.ledger import Reader
from relational.models import AuditRecord
from relational.repositories import audit as repo
from relational.repositories.audit import TrailQuery
from relational.uow import UnitOfWork
from services.errors import BadUserInput
from services.pagination import Page, check_first, make_page, open_cursor, seal_cursor

_KIND = "audit"
_EXPORT_BATCH = 1000
CSV_COLUMNS = ("seq", "at", "actor", "operation", "target_ids", "ip", "request_id", "reason",
               "fields", "before", "after", "redacted")
# Records whose content is only what was attempted (operation, permission, reason), never the
# target's data: shown in full whatever the target's classification.
_NEVER_REDACTED = frozenset({"denied"})
# A spreadsheet evaluates a cell starting with one of these as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class TrailEntry:
    """An audit record as its reader may see it; `redacted`: the content is withheld."""

    seq: int
    at: datetime
    actor: str | None
    operation: str
    target_ids: list[str]
    fields: list[str]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None
    request_id: str | None
    reason: str | None
    redacted: bool


def _before_seq(secret: bytes, after: str | None) -> int | None:
    if after is None:
        return None
    (seq,) = open_cursor(secret, after, _KIND, 1)
    if seq is None or not seq.isdigit():
        raise BadUserInput("`after` is not a cursor of this list", field="after")
    return int(seq)


@dataclass(frozen=True)
class TrailFilter:
    """Which audit records to show; all given conditions must hold."""

    actor: str | None = None
    target_id: str | None = None
    operation: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _checked(wanted: TrailFilter) -> TrailQuery:
    if wanted.since and wanted.until and wanted.since >= wanted.until:
        raise BadUserInput("`since` must be before `until`", field="since")
    return TrailQuery(actor=wanted.actor, target_id=wanted.target_id,
                      operation=wanted.operation, since=wanted.since, until=wanted.until)


def _uuids(values: Sequence[str]) -> list[uuid.UUID]:
    found: list[uuid.UUID] = []
    for value in values:
        try:
            found.append(uuid.UUID(value))
        except ValueError:
            continue
    return found


def _recorded_level(record: AuditRecord) -> int:
    """The classification an account snapshot in the record carries (it may have been higher
    then than the account's is now)."""
    levels = [Clearance[str(snapshot["classification"])].value
              for snapshot in (record.before, record.after)
              if isinstance(snapshot, dict)
              and str(snapshot.get("classification")) in Clearance.__members__]
    return max(levels, default=0)


async def _entries(session: AsyncSession, actor: Actor,
                   rows: list[AuditRecord]) -> list[TrailEntry]:
    """Each record redacted when one of its targets is above the actor's clearance (one query
    for the whole batch)."""
    levels = await repo.target_levels(
        session, _uuids([target for row in rows for target in row.target_ids]))
    entries: list[TrailEntry] = []
    for row in rows:
        level = max([_recorded_level(row), *(levels.get(target, 0)
                                              for target in _uuids(row.target_ids))])
        redacted = level > actor.clearance and row.operation not in _NEVER_REDACTED
        entries.append(_entry(row, redacted=redacted))
    return entries


def _entry(record: AuditRecord, *, redacted: bool) -> TrailEntry:
    return TrailEntry(
        seq=record.seq, at=record.at, actor=record.actor, operation=record.operation,
        target_ids=list(record.target_ids), fields=[] if redacted else fields_of(record),
        before=None if redacted else record.before, after=None if redacted else record.after,
        ip=record.ip, request_id=record.request_id, reason=record.reason, redacted=redacted)


async def trail(read: Reader, cursor_key: bytes, actor: Actor, wanted: TrailFilter,
                first: int | None, after: str | None) -> Page[TrailEntry]:
    query = _checked(wanted)
    limit = check_first(first)
    secret = cursor_key
    before = _before_seq(secret, after)
    async with read() as session:
        rows = await repo.trail(session, query, limit=limit + 1, before_seq=before)
        entries = await _entries(session, actor, rows)
    return make_page(entries, limit, lambda entry: seal_cursor(secret, _KIND, [str(entry.seq)]),
                     has_previous=after is not None)


async def count(read: Reader, actor: Actor, wanted: TrailFilter) -> int:
    async with read() as session:
        return await repo.trail_count(session, _checked(wanted))


def fields_of(record: AuditRecord) -> list[str]:
    """The fields a record is about: those changed, or those read."""
    changed = set((record.before or {}).keys()) | set((record.after or {}).keys())
    reads = (record.after or {}).get("reads")
    if isinstance(reads, list):
        return sorted({str(read.get("field")) for read in reads if isinstance(read, dict)})
    return sorted(changed - {"changedFields"})


def neutralised(cell: object) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading
    single quote (OWASP)."""
    text = str(cell)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def _csv_row(entry: TrailEntry) -> list[str]:
    cells: list[object] = [
        entry.seq, entry.at.isoformat(), entry.actor or "", entry.operation,
        " ".join(entry.target_ids), entry.ip or "", entry.request_id or "", entry.reason or "",
        " ".join(entry.fields),
        json.dumps(entry.before, ensure_ascii=False) if entry.before else "",
        json.dumps(entry.after, ensure_ascii=False) if entry.after else "",
        "true" if entry.redacted else ""]
    return [neutralised(cell) for cell in cells]


def record_export(uow: UnitOfWork, wanted: TrailFilter) -> None:
    """An export of the trail is on record (the data-use report lists exports)."""
    uow.audit("audit.export", [], after={
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in vars(wanted).items() if value is not None})


async def export_csv(read: Reader, actor: Actor, wanted: TrailFilter) -> AsyncIterator[str]:
    """The whole matching trail as CSV, newest first, streamed in batches."""
    query = _checked(wanted)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    before: int | None = None
    while True:
        async with read() as session:
            rows = await repo.trail(session, query, limit=_EXPORT_BATCH, before_seq=before)
            entries = await _entries(session, actor, rows)
        writer.writerows(_csv_row(entry) for entry in entries)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < _EXPORT_BATCH:
            return
        before = rows[-1].seq


_VERIFY_BATCH = 1000


@dataclass(frozen=True)
class AuditReport:
    records: int
    problems: list[Problem]


async def verify(read: Reader, *, batch: int = _VERIFY_BATCH) -> AuditReport:
    """Walk the chain in seq order, `batch` records at a time, in one snapshot: records
    appended meanwhile are simply not part of this check."""
    checker = verifier(context=batch)
    records = 0
    async with read() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        async for rows in repo.walk(session, batch):
            checker.feed(_chain_row(row) for row in rows)
            records += len(rows)
    return AuditReport(records, checker.finish())


def _chain_row(row: RowMapping) -> ChainRow:
    return ChainRow(id=row["id"], seq=row["seq"], prev_hash=row["prev_hash"], hash=row["hash"],
                    content={name: row[name] for name in repo.CONTENT})
