"""Company group structures: who owns whom, checked in the ledger, read from the graph."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from auth.actor import Actor
from graph import accounts as graph_accounts
from graph import rows as graph_rows
from graph.accounts import OwnershipEdge

__all__ = ["GroupTree", "OwnershipEdge", "ShareholdingRecord"]
from graph.engine import GraphEngine
from relational.models import AccountEdge
from relational.repositories import accounts as account_repo
from relational.repositories import edges as edge_repo
from relational.uow import UnitOfWork
from services import accounts, ownership, policy
from services import validation as check
from services.errors import BadUserInput, Conflict, NotFound
from services.ownership import Relative

OWNS = edge_repo.OWNS


@dataclass(frozen=True)
class GroupTree:
    ancestors: list[Relative]
    descendants: list[Relative]


@dataclass(frozen=True)
class ShareholdingRecord:
    """A stake one account holds in another, as use cases hand it out."""

    child_id: uuid.UUID
    parent_id: uuid.UUID
    share_pct: Decimal

    @classmethod
    def of(cls, edge: AccountEdge) -> ShareholdingRecord:
        return cls(child_id=edge.target_id, parent_id=edge.source_id,
                   share_pct=edge.share_pct or Decimal(0))


def graph_row(edge: AccountEdge) -> dict[str, Any]:
    return graph_rows.ownership_row(parent_id=edge.source_id, child_id=edge.target_id,
                                    share=edge.share_pct or Decimal(0))


def _audit(edge: AccountEdge) -> dict[str, Any]:
    return {"parentId": str(edge.source_id), "childId": str(edge.target_id),
            "sharePct": str(edge.share_pct)}


async def _require_accounts(
    uow: UnitOfWork, actor: Actor, child: uuid.UUID, parent: uuid.UUID, operation: str
) -> None:
    found = await account_repo.get_many(uow.session, [child, parent], policy.visibility(actor))
    if child not in found:
        raise await accounts.not_found(uow, child, operation, field="childId")
    if parent not in found:
        raise await accounts.not_found(uow, parent, operation, field="parentId")


async def link_parent(
    uow: UnitOfWork, actor: Actor, child: uuid.UUID, parent: uuid.UUID, share_pct: Decimal
) -> ShareholdingRecord:
    """Make `parent` a shareholder of `child` (or change its stake); both must be visible."""
    share = check.percentage(share_pct, "sharePct")
    if child == parent:
        raise BadUserInput("a company cannot hold shares in itself", field="parentId")
    await edge_repo.lock_ownership(uow.session)
    await _require_accounts(uow, actor, child, parent, "account.linkParent")
    if await edge_repo.is_descendant_or_self(uow.session, child, parent):
        raise Conflict("the parent is already owned by the child: this link would make a "
                       "company its own ancestor", field="parentId")
    held = await edge_repo.shares_held_in(uow.session, child, excluding_parent=parent)
    if held + share > 100:
        raise Conflict(f"shares in this company would total {held + share} %, more than 100 %",
                       field="sharePct")
    edge = await edge_repo.get(uow.session, OWNS, parent, child)
    before = None if edge is None else _audit(edge)
    if edge is None:
        edge = AccountEdge(id=uuid.uuid4(), kind=OWNS, source_id=parent, target_id=child,
                           share_pct=share)
        uow.session.add(edge)
    else:
        edge.share_pct = share
    await uow.session.flush()
    uow.audit("account.linkParent", [str(child), str(parent)], before=before, after=_audit(edge))
    uow.emit("ownership.linked", str(child), graph_row(edge))
    return ShareholdingRecord.of(edge)


async def unlink_parent(
    uow: UnitOfWork, actor: Actor, child: uuid.UUID, parent: uuid.UUID
) -> ShareholdingRecord:
    await edge_repo.lock_ownership(uow.session)
    await _require_accounts(uow, actor, child, parent, "account.unlinkParent")
    edge = await edge_repo.get(uow.session, OWNS, parent, child)
    if edge is None:
        raise NotFound("the parent holds no shares in this company", field="parentId")
    await edge_repo.remove(uow.session, edge)
    uow.audit("account.unlinkParent", [str(child), str(parent)], before=_audit(edge))
    uow.emit("ownership.unlinked", str(child), graph_row(edge))
    return ShareholdingRecord.of(edge)


def check_depth(depth: int | None, limit: int, *, default: int = 3) -> int:
    value = default if depth is None else depth
    if not 1 <= value <= limit:
        raise BadUserInput(f"`depth` must be between 1 and {limit}", field="depth")
    return value


async def ancestor_edges(graph: GraphEngine, ids: Sequence[str],
                         max_depth: int) -> dict[str, list[OwnershipEdge]]:
    """The ownership subgraph above each account, batched for DataLoaders."""
    return await graph_accounts.ancestor_edges(graph, ids, max_depth)


async def descendant_edges(
    graph: GraphEngine, ids: Sequence[str], max_depth: int
) -> dict[str, list[OwnershipEdge]]:
    return await graph_accounts.descendant_edges(
        graph, ids, max_depth
    )


def parent_of(edges: list[OwnershipEdge], account_id: str) -> str | None:
    return ownership.controlling_parent(edges, account_id)


def ultimate_parent_of(edges: list[OwnershipEdge], account_id: str) -> str | None:
    return ownership.ultimate_parent(edges, account_id)


def tree(
    up: list[OwnershipEdge], down: list[OwnershipEdge], account_id: str, depth: int,
    max_depth: int,
) -> GroupTree:
    return GroupTree(
        ancestors=ownership.ancestors(up, account_id, max_depth),
        descendants=ownership.descendants(down, account_id, depth),
    )


def group_revenue(
    own_revenue: Decimal | None, descendants: list[Relative],
    revenues: dict[str, Decimal | None],
) -> Decimal:
    """Own revenue plus each descendant's revenue weighted by effective ownership."""
    total = own_revenue or Decimal(0)
    for relative in descendants:
        revenue = revenues.get(relative.account_id) or Decimal(0)
        total += revenue * relative.effective_ownership / ownership.HUNDRED
    return total.quantize(Decimal("0.01"))
