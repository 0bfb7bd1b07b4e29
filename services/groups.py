"""Company group structures: who owns whom, checked in the ledger, read from the graph."""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import MAX_PREC, Decimal, Inexact, localcontext
from typing import Any

from auth.actor import Actor
from graph import groups as graph_groups
from graph import rows as graph_rows
from graph.groups import OwnershipEdge

__all__ = ["GroupMembers", "GroupTree", "OwnershipEdge", "ShareholdingRecord"]
from graph.engine import GraphEngine
from relational.ledger import Reader
from relational.models import AccountEdge
from relational.repositories import accounts as account_repo
from relational.repositories import groups as group_repo
from relational.uow import UnitOfWork
from services import accounts, idempotency, policy
from services import validation as check
from services.accounts import AccountRecord
from services.errors import BadUserInput, Conflict, NotFound

OWNS = group_repo.OWNS


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
    uow: UnitOfWork, actor: Actor, child: uuid.UUID, parent: uuid.UUID, share_pct: Decimal,
    key: idempotency.Key | None = None,
) -> ShareholdingRecord:
    """Make `parent` a shareholder of `child` (or change its stake); both must be visible.
    Under an idempotency `key` a retry answers the first link again."""
    request = {"childId": str(child), "parentId": str(parent), "sharePct": str(share_pct)}

    async def replay(stored: dict[str, Any]) -> ShareholdingRecord:
        return ShareholdingRecord(child_id=uuid.UUID(stored["childId"]),
                                  parent_id=uuid.UUID(stored["parentId"]),
                                  share_pct=Decimal(stored["sharePct"]))

    return await idempotency.once(
        uow, actor, key, "account.linkParent", request,
        run=lambda: _link_parent(uow, actor, child, parent, share_pct),
        result=lambda made: {"childId": str(made.child_id), "parentId": str(made.parent_id),
                             "sharePct": str(made.share_pct)},
        replay=replay)


async def _link_parent(
    uow: UnitOfWork, actor: Actor, child: uuid.UUID, parent: uuid.UUID, share_pct: Decimal
) -> ShareholdingRecord:
    share = check.percentage(share_pct, "sharePct")
    if child == parent:
        raise BadUserInput("a company cannot hold shares in itself", field="parentId")
    await group_repo.lock_ownership(uow.session)
    await _require_accounts(uow, actor, child, parent, "account.linkParent")
    if await group_repo.is_descendant_or_self(uow.session, child, parent):
        raise Conflict("the parent is already owned by the child: this link would make a "
                       "company its own ancestor", field="parentId")
    held = await group_repo.shares_held_in(uow.session, child, excluding_parent=parent)
    if held + share > 100:
        raise Conflict(f"shares in this company would total {held + share} %, more than 100 %",
                       field="sharePct")
    edge = await group_repo.get(uow.session, OWNS, parent, child)
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
    await group_repo.lock_ownership(uow.session)
    await _require_accounts(uow, actor, child, parent, "account.unlinkParent")
    edge = await group_repo.get(uow.session, OWNS, parent, child)
    if edge is None:
        raise NotFound("the parent holds no shares in this company", field="parentId")
    await group_repo.remove(uow.session, edge)
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
    return await graph_groups.ancestor_edges(graph, ids, max_depth)


async def descendants_of(
    graph: GraphEngine, ids: Sequence[str], max_depth: int
) -> dict[str, list[Relative]]:
    """Each account's descendants down to `max_depth` levels with their effective ownership,
    from one graph query (a shallower tree is a prefix: the list is ordered by depth)."""
    found = await graph_groups.descendant_edges(graph, ids, max_depth)
    return {key: descendants(found.get(key, []), key, max_depth) for key in ids}


@dataclass(frozen=True)
class GroupMembers:
    """An account's descendants, and the records of those the reader may see (an absent one
    is shown as a restricted stub and adds nothing to a roll-up)."""

    descendants: list[Relative]
    visible: Mapping[str, AccountRecord]


async def members_of(read: Reader, graph: GraphEngine, actor: Actor, ids: Sequence[str],
                     max_depth: int) -> dict[str, GroupMembers]:
    """The members of each account's group, batched for a DataLoader: one graph query and one
    scoped read of every member, shared by the tree and its roll-up. A group of thousands of
    companies is one statement, never a lookup per member."""
    found = await descendants_of(graph, ids, max_depth)
    wanted = {relative.account_id for relatives in found.values() for relative in relatives}
    records = await accounts.load_many(read, actor, [uuid.UUID(key) for key in wanted])
    visible = {str(key): record for key, record in records.items()}
    return {key: GroupMembers(found[key], visible) for key in ids}


def parent_of(edges: list[OwnershipEdge], account_id: str) -> str | None:
    return controlling_parent(edges, account_id)


def ultimate_parent_of(edges: list[OwnershipEdge], account_id: str) -> str | None:
    return ultimate_parent(edges, account_id)


def tree(up: list[OwnershipEdge], down: list[Relative], account_id: str, depth: int,
         max_depth: int) -> GroupTree:
    """The tree around an account from its ancestors' edges and its descendants (as
    `descendants_of` answers them, to any depth ≥ `depth`)."""
    return GroupTree(
        ancestors=ancestors(up, account_id, max_depth),
        descendants=[relative for relative in down if relative.depth <= depth],
    )


def group_revenue(own_revenue: Decimal | None, members: GroupMembers) -> Decimal:
    """Own revenue plus each visible descendant's revenue weighted by effective ownership."""
    total = own_revenue or Decimal(0)
    for relative in members.descendants:
        record = members.visible.get(relative.account_id)
        revenue = None if record is None else record.annual_revenue
        if revenue:
            total += revenue * relative.effective_ownership / HUNDRED
    return total.quantize(Decimal("0.01"))


# Group-structure arithmetic over an ownership subgraph (a DAG: cycles are refused): pure.

HUNDRED = Decimal(100)
# Effective ownership in % is answered with six decimal places: a product of two stakes (each
# four places, the ledger's scale) is exact (33.33 % of 33.33 % = 11.108889 %); a longer path
# is rounded half-even (33.33 % of 33.33 % of 33.33 % = 3.702593 %). The products and sums are
# exact before that single rounding, so the answer never depends on the order paths arrive in.
EFFECTIVE_QUANTUM = Decimal("0.000001")


@dataclass(frozen=True)
class Relative:
    """An ancestor or descendant: its distance in levels and the effective ownership in %."""

    account_id: str
    depth: int
    effective_ownership: Decimal


def controlling_parent(edges: Iterable[OwnershipEdge], child: str) -> str | None:
    """The shareholder with the largest stake (ties: the smallest id, so the answer is stable)."""
    holders = [edge for edge in edges if edge.child_id == child]
    if not holders:
        return None
    return min(holders, key=lambda edge: (-edge.share_pct, edge.parent_id)).parent_id


def ultimate_parent(edges: list[OwnershipEdge], start: str) -> str | None:
    seen = {start}
    current, top = start, None
    while (parent := controlling_parent(edges, current)) is not None and parent not in seen:
        seen.add(parent)
        current = top = parent
    return top


def _relatives(
    links: dict[str, list[tuple[str, Decimal]]], root: str, max_depth: int
) -> list[Relative]:
    """Breadth-first for the minimal depth; ownership summed over every path in topological
    order (Kahn), each path contributing the product of its shares."""
    depth = {root: 0}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for nxt, _ in links.get(node, []):
            if nxt not in depth:
                depth[nxt] = depth[node] + 1
                queue.append(nxt)
    indegree: dict[str, int] = defaultdict(int)
    for node in depth:
        for nxt, _ in links.get(node, []):
            indegree[nxt] += 1
    owned = _owned(links, root, indegree)
    return sorted(
        (
            Relative(node, level, owned[node].quantize(EFFECTIVE_QUANTUM))
            for node, level in depth.items()
            if 0 < level <= max_depth
        ),
        key=lambda relative: (relative.depth, -relative.effective_ownership,
                              relative.account_id),
    )


def _owned(links: dict[str, list[tuple[str, Decimal]]], root: str,
           indegree: dict[str, int]) -> dict[str, Decimal]:
    """Effective ownership in % between the root and each node, summed over every path, each
    path the product of its stakes; exact (Inexact is trapped, nothing is rounded here)."""
    owned: dict[str, Decimal] = defaultdict(Decimal)
    owned[root] = HUNDRED
    ready = deque([root])
    with localcontext() as exact:
        exact.prec, exact.Emin, exact.Emax = MAX_PREC, -MAX_PREC, MAX_PREC
        exact.traps[Inexact] = True
        while ready:
            node = ready.popleft()
            for nxt, pct in links.get(node, []):
                owned[nxt] += owned[node] * pct.scaleb(-2)
                indegree[nxt] -= 1
                if indegree[nxt] == 0:
                    ready.append(nxt)
    return owned


def descendants(edges: Iterable[OwnershipEdge], root: str, max_depth: int) -> list[Relative]:
    links: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for edge in edges:
        links[edge.parent_id].append((edge.child_id, edge.share_pct))
    return _relatives(links, root, max_depth)


def ancestors(edges: Iterable[OwnershipEdge], root: str, max_depth: int) -> list[Relative]:
    links: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    for edge in edges:
        links[edge.child_id].append((edge.parent_id, edge.share_pct))
    return _relatives(links, root, max_depth)
