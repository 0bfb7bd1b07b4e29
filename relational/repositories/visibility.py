"""Data scope as a statement builder: the one place that decides which rows a reader sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_, select, true

from relational.models import Account, Contact
from relational.pipeline_models import Opportunity

TOP_LEVEL = 3  # 机密


@dataclass(frozen=True)
class Visibility:
    """What a reader may see; built by services from the actor (role × scope × clearance)."""

    everything: bool = False
    owner_id: uuid.UUID | None = None
    department_ids: tuple[uuid.UUID, ...] = ()
    regions: tuple[str, ...] = ()
    max_level: int = -1  # highest classification the reader is cleared for; -1: nothing

    @property
    def nothing(self) -> bool:
        return self.max_level < 0

    @property
    def all_opportunities(self) -> bool:
        """Every deal and its amount (scope ALL at the top clearance): the statements below
        are then `true`, and reports may leave the deals out of their plans."""
        return self.everything and self.max_level >= TOP_LEVEL


def accounts_readable(seen: Visibility) -> ColumnElement[bool]:
    if seen.nothing:
        return false()
    # At the top clearance the condition is always true; leaving it out keeps plans on the
    # region/name indexes.
    cleared = true() if seen.max_level >= TOP_LEVEL else Account.classification <= seen.max_level
    if seen.everything:
        return cleared
    reach: list[ColumnElement[bool]] = []
    if seen.owner_id is not None:
        reach.append(Account.owner_id == seen.owner_id)
    if seen.department_ids:
        reach.append(Account.department_id.in_(list(seen.department_ids)))
    if seen.regions:
        reach.append(Account.region.in_(list(seen.regions)))
    return and_(cleared, or_(false(), *reach))


def contacts_readable(seen: Visibility) -> ColumnElement[bool]:
    """A contact is visible when its account is and the reader is cleared for the contact."""
    if seen.nothing:
        return false()
    if seen.everything and seen.max_level >= TOP_LEVEL:
        return true()
    cleared = true() if seen.max_level >= TOP_LEVEL else Contact.classification <= seen.max_level
    return and_(cleared,
                Contact.account_id.in_(select(Account.id).where(accounts_readable(seen))))


def opportunities_readable(seen: Visibility) -> ColumnElement[bool]:
    """An opportunity is visible with its account, and to its owner and the owner's department
    scope even where the account is not (cleared for the account's classification)."""
    if seen.nothing:
        return false()
    if seen.all_opportunities:
        return true()
    reach: list[ColumnElement[bool]] = [
        Opportunity.account_id.in_(select(Account.id).where(accounts_readable(seen)))]
    cleared = select(Account.id).where(Account.classification <= seen.max_level)
    if seen.owner_id is not None:
        reach.append(and_(Opportunity.owner_id == seen.owner_id,
                          Opportunity.account_id.in_(cleared)))
    if seen.department_ids:
        reach.append(and_(Opportunity.department_id.in_(list(seen.department_ids)),
                          Opportunity.account_id.in_(cleared)))
    return or_(*reach)


def opportunity_amounts_readable(seen: Visibility) -> ColumnElement[bool]:
    """The deals whose amounts the reader sees (services.policy `amount_visible` as a
    statement): everything at scope ALL, else their own and their department subtree's."""
    if seen.nothing:
        return false()
    cleared = Opportunity.account_id.in_(
        select(Account.id).where(Account.classification <= seen.max_level))
    if seen.everything:
        return true() if seen.max_level >= TOP_LEVEL else cleared
    reach: list[ColumnElement[bool]] = []
    if seen.owner_id is not None:
        reach.append(Opportunity.owner_id == seen.owner_id)
    if seen.department_ids:
        reach.append(Opportunity.department_id.in_(list(seen.department_ids)))
    return and_(cleared, or_(false(), *reach))
