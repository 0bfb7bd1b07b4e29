"""Relationship edges: INFLUENCES (contact → contact, weight in [0, 1]), REPORTS_TO
(subordinate → manager, no cycles), KNOWS (staff user → contact, strength derived from
interactions unless set by hand) and SUPPLIES (supplier account → buyer account). Written to
the ledger with their audit record and an outbox event; the projector puts them in the graph."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from auth.actor import Actor
from relational.models import Relationship
from relational.repositories import accounts as account_repo
from relational.repositories import contacts as contact_repo
from relational.repositories import relationships as repo
from relational.uow import UnitOfWork
from services import accounts, knows, policy
from services import validation as check
from services.errors import BadUserInput, Conflict, NotFound
from services.relationship_rows import (
    CRITICALITIES,
    ENDS,
    KINDS,
    RelationshipRecord,
    audit_view,
    graph_row,
)

__all__ = ["KINDS", "RelationshipDraft", "RelationshipRecord", "create", "end", "update"]


@dataclass(frozen=True)
class RelationshipDraft:
    """A new edge. `valid_from` defaults to today; `weight` of a KNOWS edge sets it by hand."""

    kind: str
    from_id: uuid.UUID
    to_id: uuid.UUID
    weight: float | None = None
    evidence: str | None = None
    criticality: str | None = None
    share: Decimal | None = None
    products: Sequence[str] = field(default_factory=tuple)
    annual_volume: Decimal | None = None
    valid_from: date | None = None
    valid_to: date | None = None


def _weight(value: float | None, kind: str) -> Decimal | None:
    if value is None:
        if kind == "INFLUENCES":
            raise BadUserInput("an INFLUENCES edge needs a `weight` in [0, 1]", field="weight")
        return None
    if kind in ("REPORTS_TO", "SUPPLIES"):
        raise BadUserInput(f"a {kind} edge carries no `weight`", field="weight")
    if not math.isfinite(value) or not 0 <= value <= 1:
        raise BadUserInput("`weight` must be between 0 and 1", field="weight")
    return Decimal(str(round(value, 4)))


def _share(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    try:
        if not value.is_finite() or not 0 <= value <= 100:
            raise BadUserInput("`share` must be between 0 and 100 (% of the buyer's need)",
                               field="share")
        if value != value.quantize(Decimal("0.01")):
            raise BadUserInput("`share` has more than 2 decimal places", field="share")
    except InvalidOperation as error:
        raise BadUserInput("`share` is not a number", field="share") from error
    return value.quantize(Decimal("0.01"))


def _supply_fields(draft: RelationshipDraft) -> dict[str, Any]:
    if draft.kind != "SUPPLIES":
        for name, value in (("criticality", draft.criticality), ("share", draft.share),
                            ("annualVolume", draft.annual_volume)):
            if value is not None:
                raise BadUserInput(f"`{name}` is only for SUPPLIES edges", field=name)
        if draft.products:
            raise BadUserInput("`products` is only for SUPPLIES edges", field="products")
        return {"criticality": None, "share": None, "products": [], "annual_volume": None}
    if draft.criticality is None:
        raise BadUserInput("a SUPPLIES edge needs a `criticality`", field="criticality")
    check.choice(draft.criticality, "criticality", CRITICALITIES)
    products = [check.text(item, "products", max_length=100) for item in draft.products]
    if len(products) > 50:
        raise BadUserInput("at most 50 `products`", field="products")
    return {"criticality": draft.criticality, "share": _share(draft.share),
            "products": list(dict.fromkeys(products)),
            "annual_volume": check.money(draft.annual_volume, "annualVolume")}


def _period(valid_from: date, valid_to: date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise BadUserInput("`validTo` is before `validFrom`", field="validTo")


async def _require_end(uow: UnitOfWork, actor: Actor, kind_of_end: str, end_id: uuid.UUID,
                       field_name: str, operation: str) -> None:
    """The endpoint exists and the actor may see it; a hidden one answers like a missing one."""
    seen = policy.visibility(actor)
    if kind_of_end == "User":
        if end_id not in await repo.active_users(uow.session, [end_id]):
            raise NotFound("no active staff user with this id", field=field_name)
        return
    if kind_of_end == "Account":
        if end_id not in await account_repo.get_many(uow.session, [end_id], seen):
            raise await accounts.not_found(uow, end_id, operation, field=field_name)
        return
    if end_id not in await contact_repo.get_many(uow.session, [end_id], seen):
        if end_id in await contact_repo.existing(uow.session, [end_id]):
            raise policy.out_of_scope("no contact with this id", field=field_name,
                                      operation=operation, target_id=end_id)
        raise NotFound("no contact with this id", field=field_name)


async def _no_cycle(uow: UnitOfWork, row: Relationship) -> None:
    if row.kind != "REPORTS_TO":
        return
    if await repo.reports_up_to(uow.session, row.to_id, row.from_id, row.valid_from,
                                row.valid_to, excluding=row.id):
        raise Conflict("the manager already reports (directly or not) to this person: the "
                       "REPORTS_TO edge would close a cycle", field="toId")


async def create(uow: UnitOfWork, actor: Actor, draft: RelationshipDraft,
                 today: date) -> RelationshipRecord:
    kind = check.choice(draft.kind, "kind", KINDS)
    if draft.from_id == draft.to_id:
        raise BadUserInput("an edge cannot start and end at the same node", field="toId")
    weight = _weight(draft.weight, kind)
    supply = _supply_fields(draft)
    evidence = check.optional_text(draft.evidence, "evidence", max_length=2000)
    valid_from = draft.valid_from or today
    _period(valid_from, draft.valid_to)
    await repo.lock_reporting(uow.session)
    source, target = ENDS[kind]
    await _require_end(uow, actor, source, draft.from_id, "fromId", "relationship.create")
    await _require_end(uow, actor, target, draft.to_id, "toId", "relationship.create")
    if kind == "KNOWS" and await repo.knows(uow.session, draft.from_id, [draft.to_id]):
        raise Conflict("this staff user already has a KNOWS edge to this contact: change it "
                       "with relationshipUpdate", field="toId")
    row = Relationship(id=uuid.uuid4(), kind=kind, from_id=draft.from_id, to_id=draft.to_id,
                       weight=weight, manual=kind == "KNOWS" and weight is not None,
                       evidence=evidence, valid_from=valid_from, valid_to=draft.valid_to,
                       version=1, **supply)
    await _no_cycle(uow, row)
    if kind == "KNOWS" and weight is None:  # derived from the interactions so far
        strength, _ = (await knows.derived(uow, draft.from_id, [draft.to_id], today))[
            draft.to_id]
        row.weight = strength
    uow.session.add(row)
    await uow.session.flush()
    uow.audit("relationship.create", [str(row.id), str(row.from_id), str(row.to_id)],
              after=audit_view(row))
    uow.emit("relationship.created", str(row.id), graph_row(row))
    return RelationshipRecord.of(row)


async def _locked(uow: UnitOfWork, actor: Actor, relationship_id: uuid.UUID,
                  operation: str) -> Relationship:
    await repo.lock_reporting(uow.session)
    row = await repo.get(uow.session, relationship_id, lock=True)
    if row is None:
        raise NotFound("no relationship with this id", field="relationshipId")
    source, target = ENDS[row.kind]
    try:
        await _require_end(uow, actor, source, row.from_id, "relationshipId", operation)
        await _require_end(uow, actor, target, row.to_id, "relationshipId", operation)
    except NotFound as error:
        if error.notes:
            raise policy.out_of_scope("no relationship with this id", field="relationshipId",
                                      operation=operation, target_id=row.id) from None
        raise NotFound("no relationship with this id", field="relationshipId") from None
    return row


UNSET: Any = object()


@dataclass(frozen=True)
class RelationshipChanges:
    """Given fields change; UNSET leaves a field. A KNOWS `weight` of None returns the edge to
    its derived strength."""

    weight: float | None = UNSET
    evidence: str | None = UNSET
    criticality: str | None = UNSET
    share: Decimal | None = UNSET
    products: Sequence[str] = UNSET
    annual_volume: Decimal | None = UNSET
    valid_from: date = UNSET
    valid_to: date | None = UNSET


def _given(value: Any, current: Any) -> Any:
    return current if value is UNSET else value


async def update(uow: UnitOfWork, actor: Actor, relationship_id: uuid.UUID,
                 changes: RelationshipChanges, today: date) -> RelationshipRecord:
    row = await _locked(uow, actor, relationship_id, "relationship.update")
    before = audit_view(row)
    draft = RelationshipDraft(
        kind=row.kind, from_id=row.from_id, to_id=row.to_id,
        weight=_given(changes.weight, None if row.weight is None else float(row.weight)),
        evidence=_given(changes.evidence, row.evidence),
        criticality=_given(changes.criticality, row.criticality),
        share=_given(changes.share, row.share), products=_given(changes.products, row.products),
        annual_volume=_given(changes.annual_volume, row.annual_volume),
        valid_from=_given(changes.valid_from, row.valid_from),
        valid_to=_given(changes.valid_to, row.valid_to))
    if draft.valid_from is None:
        raise BadUserInput("`validFrom` cannot be cleared", field="validFrom")
    weight = _weight(draft.weight, row.kind)
    supply = _supply_fields(draft)
    _period(draft.valid_from, draft.valid_to)
    row.evidence = check.optional_text(draft.evidence, "evidence", max_length=2000)
    row.valid_from, row.valid_to = draft.valid_from, draft.valid_to
    for name, value in supply.items():
        setattr(row, name, value)
    if row.kind == "KNOWS" and changes.weight is not UNSET:
        row.manual = weight is not None
        if weight is None:
            weight = (await knows.derived(uow, row.from_id, [row.to_id], today))[row.to_id][0]
    row.weight = weight
    await _no_cycle(uow, row)
    return _changed(uow, row, before, "relationship.update", "relationship.updated")


def _changed(uow: UnitOfWork, row: Relationship, before: dict[str, Any], operation: str,
             topic: str) -> RelationshipRecord:
    if audit_view(row) == before:
        return RelationshipRecord.of(row)
    row.version += 1
    row.updated_at = datetime.now(UTC)
    uow.audit(operation, [str(row.id), str(row.from_id), str(row.to_id)], before=before,
              after=audit_view(row))
    uow.emit(topic, str(row.id), graph_row(row))
    return RelationshipRecord.of(row)


async def end(uow: UnitOfWork, actor: Actor, relationship_id: uuid.UUID,
              valid_to: date | None, today: date) -> RelationshipRecord:
    """The edge stops being valid after `valid_to` (default today); history keeps it."""
    row = await _locked(uow, actor, relationship_id, "relationship.end")
    before = audit_view(row)
    last = valid_to or today
    _period(row.valid_from, last)
    row.valid_to = last
    record = _changed(uow, row, before, "relationship.end", "relationship.ended")
    await uow.session.flush()
    return record


async def forget_contact(uow: UnitOfWork, contact_id: uuid.UUID) -> None:
    """A contact is deleted: its edges go with it (the graph's DETACH DELETE removes them),
    each with its event (subscribers who were shown the edge get DELETED)."""
    for row in await repo.remove_touching(uow.session, contact_id):
        uow.audit("relationship.delete", [str(row.id), str(contact_id)],
                  before=audit_view(row))
        uow.emit("relationship.deleted", str(row.id), graph_row(row))


def changes_of(**given: Any) -> RelationshipChanges:
    return replace(RelationshipChanges(), **given)
