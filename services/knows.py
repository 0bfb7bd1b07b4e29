"""KNOWS edges from our staff to contacts, kept current from interactions: the strength is
derived (analytics/ties.py) unless someone set it by hand, in which case the manual value wins
and the edge says `manual`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

from analytics.ties import Touch, strength
from relational.models import Relationship
from relational.repositories import interactions as interaction_repo
from relational.repositories import relationships as repo
from relational.uow import UnitOfWork
from services.relationship_rows import audit_view, graph_row


def _touches(history: list[tuple[datetime, str]]) -> list[Touch]:
    return [Touch(day=occurred_at.astimezone(UTC).date(), inbound=direction == "INBOUND")
            for occurred_at, direction in history]


async def derived(uow: UnitOfWork, user_id: uuid.UUID, contact_ids: Sequence[uuid.UUID],
                  today: date) -> dict[uuid.UUID, tuple[Decimal, date | None]]:
    """(strength, first interaction day) of `user_id` with each contact, from the ledger."""
    found = await interaction_repo.history(uow.session, user_id, contact_ids)
    result: dict[uuid.UUID, tuple[Decimal, date | None]] = {}
    for contact_id, history in found.items():
        touches = _touches(list(history))
        first = min((touch.day for touch in touches), default=None)
        result[contact_id] = (Decimal(str(strength(touches, today))), first)
    return result


async def refresh(uow: UnitOfWork, user_id: uuid.UUID, contact_ids: Sequence[uuid.UUID],
                  today: date) -> list[Relationship]:
    """Create or update the derived KNOWS edge of `user_id` to each contact; a manual edge
    keeps its value. Emits one relationship event per edge that changed."""
    await repo.lock_reporting(uow.session)  # serialises KNOWS upserts with relationship writes
    existing = await repo.knows(uow.session, user_id, contact_ids, lock=True)
    values = await derived(uow, user_id, contact_ids, today)
    changed: list[Relationship] = []
    for contact_id in contact_ids:
        value, first = values.get(contact_id, (Decimal(0), None))
        edge = existing.get(contact_id)
        if edge is None:
            edge = Relationship(id=uuid.uuid4(), kind="KNOWS", from_id=user_id,
                                to_id=contact_id, weight=value, manual=False, products=[],
                                valid_from=first or today, version=1)
            uow.session.add(edge)
            topic = "relationship.created"
        elif edge.manual or (edge.weight == value and (first is None
                                                        or edge.valid_from <= first)):
            continue
        else:
            edge.weight = value
            edge.valid_from = min(edge.valid_from, first or edge.valid_from)
            edge.version += 1
            topic = "relationship.updated"
        await uow.session.flush()
        uow.emit(topic, str(edge.id), graph_row(edge))
        uow.audit("relationship.derive", [str(edge.id), str(contact_id)], after=audit_view(edge))
        changed.append(edge)
    return changed
