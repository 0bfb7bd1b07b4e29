"""The entry conditions of pipeline stages (services/pipelines.py `CONDITIONS`): the money
documents of this domain, and the decision maker that decision maps require before SOLUTION."""

from __future__ import annotations

import uuid

from relational.repositories import committees as committee_repo
from relational.repositories import money as repo
from relational.uow import UnitOfWork
from services import clock
from services.pipelines import register_condition


@register_condition("APPROVED_QUOTE", "an approved quote is required")
async def approved_quote(uow: UnitOfWork, opportunity_id: uuid.UUID) -> bool:
    return await repo.has_quote(uow.session, opportunity_id, ("APPROVED", "ACCEPTED"))


@register_condition("SIGNED_CONTRACT", "a signed contract is required")
async def signed_contract(uow: UnitOfWork, opportunity_id: uuid.UUID) -> bool:
    return await repo.has_signed_contract(uow.session, opportunity_id)


@register_condition("DECISION_MAKER_ON_COMMITTEE", "a decision maker on the committee is required")
async def decision_maker_on_committee(uow: UnitOfWork, opportunity_id: uuid.UUID) -> bool:
    """A current member with the DECISION_MAKER role on the opportunity's own committee; a
    deal without a committee of its own is judged by its account's committee (the people
    most deals of an account are decided by), as the decision-map coverage of the win model
    is."""
    committee = await committee_repo.roles_of_opportunities(
        uow.session, [opportunity_id], clock.today())
    return any("DECISION_MAKER" in roles for roles in committee.get(opportunity_id, []))
