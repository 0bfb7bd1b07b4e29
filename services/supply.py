"""Supply chains and supply risk: tiers of suppliers and customers read from the graph, an
account marked disrupted (in the ledger, projected onto its graph node), and the exposure of
customers to a supplier's failure (DebtRank, `analytics.supply_risk`).

The SUPPLIES edges themselves are relationships (`relationshipCreate` with kind SUPPLIES).
Reads take every edge valid on the day asked about, including those through accounts the
reader may not see: the risk flows through them all the same. The reader's scope is applied
to what is shown — the GraphQL layer shows an account outside it as a restricted stub (id
only), exactly as the group tree does; its name never appears.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import anyio

from analytics import supply_risk
from analytics.supply_risk import Direction, Exposed, Link
from auth.actor import Actor
from graph import supply as graph_supply
from graph.engine import GraphEngine
from graph.supply import SupplyEdge
from relational.models import Account
from relational.repositories import accounts as account_repo
from relational.uow import UnitOfWork
from services import accounts, clock, policy
from services import validation as check
from services.accounts import AccountRecord
from services.errors import BadUserInput
from services.vocabulary import SupplyDirection

__all__ = ["ChainKey", "Exposed", "Link", "SupplyEdge"]

MAX_TIER = graph_supply.MAX_DEPTH  # supplyChain depth and exposure maxTier: 1 … 5
_DIRECTIONS = {SupplyDirection.UPSTREAM: Direction.UPSTREAM,
               SupplyDirection.DOWNSTREAM: Direction.DOWNSTREAM}


def check_tier(value: int | None, field: str, *, default: int = 3) -> int:
    """A depth or tier limit: 1 to MAX_TIER, named by its argument."""
    given = default if value is None else value
    if not 1 <= given <= MAX_TIER:
        raise BadUserInput(f"`{field}` must be between 1 and {MAX_TIER}", field=field)
    return given


@dataclass(frozen=True)
class ChainKey:
    """One supply chain asked for (DataLoader key): chains sharing direction, depth and day
    are read in one graph query."""

    account_id: str
    direction: SupplyDirection
    depth: int
    as_of: date


async def chains(graph: GraphEngine, keys: Sequence[ChainKey]) -> list[list[Link[SupplyEdge]]]:
    """The chains of `keys`, in order; one graph query per (direction, depth, day)."""
    found: dict[ChainKey, list[Link[SupplyEdge]]] = {}
    for group in {(key.direction, key.depth, key.as_of) for key in keys}:
        direction, depth, as_of = group
        roots = [key.account_id for key in keys if (key.direction, key.depth, key.as_of) == group]
        walked = _DIRECTIONS[direction]
        edges = await graph_supply.edges_around(
            graph, roots, upstream=walked is Direction.UPSTREAM, depth=depth, as_of=as_of)
        for root in roots:
            found[ChainKey(root, direction, depth, as_of)] = supply_risk.chain(
                edges.get(root, []), root, walked, depth)
    return [found[key] for key in keys]


async def exposure(graph: GraphEngine, account: AccountRecord, max_tier: int,
                   as_of: date) -> list[Exposed]:
    """Who the failure of `account` (visible to the caller) reaches within `max_tier` tiers of
    customers, with DebtRank scores and their explaining paths; one graph query, the
    propagation off the event loop."""
    root = str(account.id)
    edges = await graph_supply.edges_around(graph, [root], upstream=False, depth=max_tier,
                                            as_of=as_of)
    return await anyio.to_thread.run_sync(
        functools.partial(supply_risk.exposure, edges.get(root, []), root, max_tier))


def _disruption(account: Account) -> dict[str, str | None]:
    since = account.disrupted_since
    return {"disruptedReason": account.disrupted_reason,
            "disruptedSince": None if since is None else since.isoformat()}


async def _change(uow: UnitOfWork, actor: Actor, account_id: uuid.UUID, operation: str,
                  topic: str, reason: str | None, since: date | None) -> AccountRecord:
    account = await account_repo.get_for_update(uow.session, account_id,
                                                policy.visibility(actor))
    if account is None:
        raise await accounts.not_found(uow, account_id, operation, field="accountId")
    before = _disruption(account)
    account.disrupted_reason, account.disrupted_since = reason, since
    after = _disruption(account)
    if after == before:
        return AccountRecord.of(account)
    account.version += 1
    account.updated_at = datetime.now(UTC)
    await uow.session.flush()
    uow.audit(operation, [str(account.id)], before=before, after=after)
    uow.emit(topic, str(account.id), accounts.graph_row(account))
    return AccountRecord.of(account)


async def mark_disrupted(uow: UnitOfWork, actor: Actor, account_id: uuid.UUID, reason: str,
                         since: date | None, *, on: date | None = None) -> AccountRecord:
    """Mark an account disrupted since `since` (default: today, `on`), or change the reason
    or date of its disruption. A disruption cannot start in the future."""
    given = check.text(reason, "reason", max_length=500)
    current = on or clock.today()
    start = current if since is None else since
    if start > current:
        raise BadUserInput("`since` must not be later than today", field="since")
    return await _change(uow, actor, account_id, "account.markDisrupted", "account.disrupted",
                         given, start)


async def clear_disruption(uow: UnitOfWork, actor: Actor,
                           account_id: uuid.UUID) -> AccountRecord:
    """The account delivers again; clearing an account that is not disrupted changes nothing."""
    return await _change(uow, actor, account_id, "account.clearDisruption",
                         "account.disruptionCleared", None, None)
