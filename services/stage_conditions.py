"""The entry conditions of pipeline stages that this domain can check (services/pipelines.py
`CONDITIONS`). Decision maps add DECISION_MAKER_ON_COMMITTEE the same way."""

from __future__ import annotations

import uuid

from relational.repositories import money as repo
from relational.uow import UnitOfWork
from services.pipelines import register_condition


@register_condition("APPROVED_QUOTE", "an approved quote is required")
async def approved_quote(uow: UnitOfWork, opportunity_id: uuid.UUID) -> bool:
    return await repo.has_quote(uow.session, opportunity_id, ("APPROVED", "ACCEPTED"))


@register_condition("SIGNED_CONTRACT", "a signed contract is required")
async def signed_contract(uow: UnitOfWork, opportunity_id: uuid.UUID) -> bool:
    return await repo.has_signed_contract(uow.session, opportunity_id)
