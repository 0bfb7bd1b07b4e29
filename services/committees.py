"""Buying committees: who sits on an account's committee, or on one opportunity's (several
roles each, the first the primary one), their stance, valid over a period so a map can be
drawn as of a date. A change emits `committee.changed` naming the committee (account and
opportunity), which makes the influence follower recompute it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from auth.actor import Actor
from relational.models import CommitteeMember
from relational.repositories import accounts as account_repo
from relational.repositories import committees as repo
from relational.repositories import contacts as contact_repo
from relational.uow import UnitOfWork
from services import accounts, opportunities, policy
from services import validation as check
from services.errors import BadUserInput, Conflict, NotFound
from services.vocabulary import CommitteeRole, Stance

ROLES = tuple(role.value for role in CommitteeRole)
STANCES = tuple(stance.value for stance in Stance)


@dataclass(frozen=True)
class MemberRecord:
    id: uuid.UUID
    account_id: uuid.UUID
    contact_id: uuid.UUID
    roles: tuple[str, ...]
    stance: str
    valid_from: date
    valid_to: date | None
    opportunity_id: uuid.UUID | None = None

    @property
    def role(self) -> str:
        return self.roles[0]

    @classmethod
    def of(cls, row: CommitteeMember) -> MemberRecord:
        return cls(row.id, row.account_id, row.contact_id, tuple(row.roles), row.stance,
                   row.valid_from, row.valid_to, row.opportunity_id)


def _roles(role: str | None, roles: Sequence[str]) -> list[str]:
    """The primary role first, then the others, each once."""
    wanted = ([role] if role is not None else []) + list(roles)
    if not wanted:
        raise BadUserInput("give the member's `role`", field="role")
    for item in wanted:
        check.choice(item, "roles" if item in roles else "role", ROLES)
    return list(dict.fromkeys(wanted))


def _view(row: CommitteeMember) -> dict[str, Any]:
    return {"accountId": str(row.account_id), "contactId": str(row.contact_id),
            "opportunityId": None if row.opportunity_id is None else str(row.opportunity_id),
            "roles": list(row.roles), "stance": row.stance,
            "validFrom": row.valid_from.isoformat(),
            "validTo": None if row.valid_to is None else row.valid_to.isoformat()}


def _event(row: CommitteeMember | MemberRecord) -> dict[str, str | None]:
    return {"account_id": str(row.account_id), "contact_id": str(row.contact_id),
            "opportunity_id": None if row.opportunity_id is None else str(row.opportunity_id)}


def _changed(uow: UnitOfWork, row: CommitteeMember, operation: str,
             before: dict[str, Any] | None) -> None:
    uow.audit(operation, [str(row.id), str(row.account_id), str(row.contact_id)],
              before=before, after=_view(row))
    uow.emit("committee.changed", str(row.account_id), _event(row))


async def _check_opportunity(uow: UnitOfWork, actor: Actor, account_id: uuid.UUID,
                             opportunity_id: uuid.UUID) -> None:
    """The opportunity exists, the actor sees it (NOT_FOUND otherwise, audited when hidden)
    and it is a deal of this account."""
    deal = await opportunities.locked(uow, actor, opportunity_id, "committee.add")
    if deal.account_id != account_id:
        raise BadUserInput("the opportunity belongs to another account",
                           field="opportunityId")


async def add(uow: UnitOfWork, actor: Actor, account_id: uuid.UUID, contact_id: uuid.UUID,
              role: str, roles: Sequence[str], stance: str | None,
              opportunity_id: uuid.UUID | None, today: date,
              valid_from: date | None = None) -> MemberRecord:
    """`valid_from` (default today) dates the membership back, e.g. when a map is entered
    after the fact."""
    if valid_from is not None and valid_from > today:
        raise BadUserInput("`validFrom` is in the future", field="validFrom")
    wanted = _roles(role, roles)
    attitude = check.choice(stance or "UNKNOWN", "stance", STANCES)
    seen = policy.visibility(actor)
    if account_id not in await account_repo.get_many(uow.session, [account_id], seen):
        raise await accounts.not_found(uow, account_id, "committee.add", field="accountId")
    if contact_id not in await contact_repo.get_many(uow.session, [contact_id], seen):
        if contact_id in await contact_repo.existing(uow.session, [contact_id]):
            raise policy.out_of_scope("no contact with this id", field="contactId",
                                      operation="committee.add", target_id=contact_id)
        raise NotFound("no contact with this id", field="contactId")
    if opportunity_id is not None:
        await _check_opportunity(uow, actor, account_id, opportunity_id)
    if await repo.open_membership(uow.session, account_id, contact_id,
                                  opportunity_id) is not None:
        raise Conflict("this person already sits on the committee: change the membership "
                       "with committeeMemberUpdate", field="contactId")
    row = CommitteeMember(id=uuid.uuid4(), account_id=account_id, contact_id=contact_id,
                          opportunity_id=opportunity_id, roles=wanted, stance=attitude,
                          valid_from=valid_from or today, version=1)
    uow.session.add(row)
    await uow.session.flush()
    _changed(uow, row, "committee.add", None)
    return MemberRecord.of(row)


async def _locked(uow: UnitOfWork, actor: Actor, member_id: uuid.UUID,
                  operation: str) -> CommitteeMember:
    row = await repo.get(uow.session, member_id)
    if row is None or row.valid_to is not None:
        raise NotFound("no current committee member with this id", field="memberId")
    seen = policy.visibility(actor)
    if row.account_id not in await account_repo.get_many(uow.session, [row.account_id], seen):
        raise policy.out_of_scope("no current committee member with this id", field="memberId",
                                  operation=operation, target_id=member_id)
    return row


async def update(uow: UnitOfWork, actor: Actor, member_id: uuid.UUID, role: str | None,
                 roles: Sequence[str] | None, stance: str | None) -> MemberRecord:
    row = await _locked(uow, actor, member_id, "committee.update")
    before = _view(row)
    if role is not None or roles is not None:
        row.roles = _roles(role or row.roles[0], roles if roles is not None else row.roles[1:])
    if stance is not None:
        row.stance = check.choice(stance, "stance", STANCES)
    if _view(row) != before:
        row.version += 1
        row.updated_at = datetime.now(UTC)
        await uow.session.flush()
        _changed(uow, row, "committee.update", before)
    return MemberRecord.of(row)


async def remove(uow: UnitOfWork, actor: Actor, member_id: uuid.UUID,
                 today: date) -> MemberRecord:
    """The person leaves the committee today: maps as of earlier dates still show them."""
    row = await _locked(uow, actor, member_id, "committee.remove")
    before = _view(row)
    record = MemberRecord.of(row)
    if row.valid_from >= today:
        await uow.session.delete(row)
    else:
        row.valid_to = today - timedelta(days=1)
        row.version += 1
    await uow.session.flush()
    uow.audit("committee.remove", [str(record.id), str(record.account_id),
                                   str(record.contact_id)], before=before)
    uow.emit("committee.changed", str(record.account_id), _event(record))
    return record
