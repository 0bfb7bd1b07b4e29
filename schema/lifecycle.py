"""Lifecycle transitions by hand (LifecycleMutations)."""

from __future__ import annotations

import strawberry

from resolvers import lifecycle as resolve
from schema.accounts import Account, Info
from schema.directives import guard
from schema.writes import GraphWrite, Settle
from services.vocabulary import LifecycleStage


@strawberry.input(description="Move an account to another lifecycle stage, with a reason.")
class AccountLifecycleTransitionInput:
    account_id: strawberry.ID = strawberry.field(description="The account.")
    to: LifecycleStage = strawberry.field(description="The new stage.")
    reason: str = strawberry.field(description="Why (recorded with the transition).")


@strawberry.type(description="Result of accountLifecycleTransition.")
class AccountLifecycleTransitionPayload(GraphWrite):
    account: Account = strawberry.field(description="The account after the change.")


async def account_lifecycle_transition(
        info: Info, input: AccountLifecycleTransitionInput) -> AccountLifecycleTransitionPayload:
    row = await resolve.transition(info.context, str(input.account_id), input.to.value,
                                   input.reason)
    return AccountLifecycleTransitionPayload(account=Account.from_row(row))


@strawberry.type(description="Lifecycle writes.")
class LifecycleMutations:
    account_lifecycle_transition = strawberry.mutation(
        resolver=account_lifecycle_transition,
        description="Move an account along its lifecycle by hand; the target stage's actions "
                    "run (task for the owner, notification, win-back campaign).",
        extensions=[*guard("lifecycle:write", audit_as="account.lifecycle"), Settle()])
