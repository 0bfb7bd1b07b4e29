"""Per-request DataLoaders: every list field costs a constant number of round trips."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from strawberry.dataloader import DataLoader

from analytics.win import Score
from auth.actor import Actor
from services import (
    account_tags,
    accounts,
    contact_dates,
    contacts,
    contracts,
    groups,
    interactions,
    opportunities,
    quotes,
    staff,
    supply,
    tenders,
    tickets,
    win,
)
from services.account_tags import TagRecord
from services.accounts import AccountRecord
from services.contact_dates import DateRecord
from services.contact_fields import ContactRecord
from services.contracts import ContractRecord
from services.groups import GroupMembers, OwnershipEdge
from services.opportunities import OpportunityRecord, StageChangeRecord
from services.pagination import Page
from services.quotes import QuoteRecord
from services.staff import StaffRecord
from services.stores import Stores
from services.supply import ChainKey, Link, SupplyEdge
from services.tenders import TenderRecord
from services.tickets import HistoryRecord

ContactPageKey = tuple[uuid.UUID, int | None, str | None]
# An account's interaction list: (account, its filters without the account, first, after).
InteractionPageKey = tuple[uuid.UUID, interactions.InteractionList, int | None, str | None]


class Loaders:
    def __init__(self, stores: Stores, actor: Callable[[], Awaitable[Actor]]) -> None:
        self._stores = stores
        self._actor = actor
        self.account = DataLoader[uuid.UUID, AccountRecord | None](self._accounts)
        self.contact = DataLoader[uuid.UUID, ContactRecord | None](self._contacts)
        self.contact_page = DataLoader[ContactPageKey, Page[ContactRecord]](self._contact_pages)
        self.contact_count = DataLoader[uuid.UUID, int](self._contact_counts)
        self.ancestor_edges = DataLoader[str, list[OwnershipEdge]](self._ancestor_edges)
        self.group_members = DataLoader[str, GroupMembers](self._group_members)
        self.interaction_page = DataLoader[InteractionPageKey,
                                           Page[interactions.InteractionRecord]](
            self._interaction_pages)
        self.staff_name = DataLoader[uuid.UUID, str | None](self._staff_names)
        self.interaction_count = DataLoader[interactions.InteractionList, int](
            self._interaction_counts)
        self.supply_chain = DataLoader[ChainKey, list[Link[SupplyEdge]]](self._supply_chains)
        self.opportunity = DataLoader[uuid.UUID, OpportunityRecord | None](self._opportunities)
        self.stage_history = DataLoader[uuid.UUID, list[StageChangeRecord]](self._histories)
        self.win = DataLoader[OpportunityRecord, Score | None](
            self._wins, cache_key_fn=lambda deal: deal.id)
        self.tender = DataLoader[uuid.UUID, TenderRecord | None](self._tenders)
        self.staff = DataLoader[uuid.UUID, StaffRecord | None](self._staff)
        self.quotes = DataLoader[OpportunityRecord, list[QuoteRecord]](
            self._quotes, cache_key_fn=lambda deal: deal.id)
        self.contracts = DataLoader[OpportunityRecord, list[ContractRecord]](
            self._contracts, cache_key_fn=lambda deal: deal.id)
        self.ticket_history = DataLoader[uuid.UUID, list[HistoryRecord]](self._ticket_history)
        self.account_tags = DataLoader[uuid.UUID, list[TagRecord]](self._account_tags)
        self.contact_dates = DataLoader[uuid.UUID, list[DateRecord]](self._contact_dates)

    async def _contact_dates(self, ids: Sequence[uuid.UUID]) -> list[list[DateRecord]]:
        found = await contact_dates.of_contacts(self._stores.read, list(ids))
        return [found.get(key, []) for key in ids]

    async def _ticket_history(self, ids: Sequence[uuid.UUID]) -> list[list[HistoryRecord]]:
        found = await tickets.histories(self._stores.read, list(ids))
        return [found.get(key, []) for key in ids]

    async def _staff_names(self, ids: Sequence[uuid.UUID]) -> list[str | None]:
        found = await staff.display_names(self._stores.read, list(ids))
        return [found.get(key) for key in ids]

    async def _account_tags(self, ids: Sequence[uuid.UUID]) -> list[list[TagRecord]]:
        found = await account_tags.provenance(self._stores.read, list(ids))
        return [found.get(key, []) for key in ids]

    async def _accounts(self, ids: Sequence[uuid.UUID]) -> list[AccountRecord | None]:
        found = await accounts.load_many(self._stores.read, await self._actor(), ids)
        return [found.get(key) for key in ids]

    async def _contacts(self, ids: Sequence[uuid.UUID]) -> list[ContactRecord | None]:
        found = await contacts.load_many(self._stores.read, self._stores.cipher,
                                         await self._actor(), ids)
        return [found.get(key) for key in ids]

    async def _contact_pages(self, keys: Sequence[ContactPageKey]) -> list[Page[ContactRecord]]:
        # Accounts asking for the same page window share one statement.
        windows: dict[tuple[int | None, str | None], list[uuid.UUID]] = defaultdict(list)
        for account_id, first, after in keys:
            windows[(first, after)].append(account_id)
        pages: dict[ContactPageKey, Page[ContactRecord]] = {}
        for (first, after), account_ids in windows.items():
            found = await contacts.pages_by_account(
                self._stores.read, self._stores.cipher, await self._actor(), account_ids,
                first, after)
            for account_id, page in found.items():
                pages[(account_id, first, after)] = page
        return [pages[key] for key in keys]

    async def _contact_counts(self, ids: Sequence[uuid.UUID]) -> list[int]:
        found = await contacts.counts_by_account(self._stores.read, self._stores.cipher,
                                                 await self._actor(), ids)
        return [found.get(key, 0) for key in ids]

    async def _ancestor_edges(self, ids: Sequence[str]) -> list[list[OwnershipEdge]]:
        found = await groups.ancestor_edges(self._stores.graph, ids,
                                           self._stores.settings.max_group_depth)
        return [found.get(key, []) for key in ids]

    async def _group_members(self, ids: Sequence[str]) -> list[GroupMembers]:
        found = await groups.members_of(self._stores.read, self._stores.graph,
                                        await self._actor(), ids,
                                        self._stores.settings.max_group_depth)
        return [found[key] for key in ids]

    async def _interaction_pages(
        self, keys: Sequence[InteractionPageKey]
    ) -> list[Page[interactions.InteractionRecord]]:
        windows: dict[tuple[interactions.InteractionList, int | None, str | None],
                      list[uuid.UUID]] = defaultdict(list)
        for account_id, wanted, first, after in keys:
            windows[(wanted, first, after)].append(account_id)
        pages: dict[InteractionPageKey, Page[interactions.InteractionRecord]] = {}
        for (wanted, first, after), account_ids in windows.items():
            found = await interactions.pages_by_account(
                self._stores.read, self._stores.cipher, await self._actor(), account_ids,
                wanted, first, after)
            for account_id, page in found.items():
                pages[(account_id, wanted, first, after)] = page
        return [pages[key] for key in keys]

    async def _interaction_counts(self, keys: Sequence[interactions.InteractionList]
                                  ) -> list[int]:
        """Counts of account lists, one statement per set of filters."""
        windows: dict[interactions.InteractionList, list[uuid.UUID]] = defaultdict(list)
        for key in keys:
            if key.account_id is not None:
                windows[replace(key, account_id=None)].append(key.account_id)
        found: dict[interactions.InteractionList, int] = {}
        for wanted, account_ids in windows.items():
            counts = await interactions.counts_by_account(
                self._stores.read, await self._actor(), account_ids, wanted)
            for account_id, number in counts.items():
                found[replace(wanted, account_id=account_id)] = number
        for key in keys:
            if key.account_id is None:
                found[key] = await interactions.count(self._stores.read, await self._actor(),
                                                      key)
        return [found[key] for key in keys]
    async def _supply_chains(self, keys: Sequence[ChainKey]) -> list[list[Link[SupplyEdge]]]:
        return await supply.chains(self._stores.graph, keys)
    async def _opportunities(self, ids: Sequence[uuid.UUID]) -> list[OpportunityRecord | None]:
        found = await opportunities.load_many(self._stores.read, await self._actor(), ids)
        return [found.get(key) for key in ids]

    async def _histories(self, ids: Sequence[uuid.UUID]) -> list[list[StageChangeRecord]]:
        found = await opportunities.history_of(self._stores.read, await self._actor(), ids)
        return [found.get(key, []) for key in ids]

    async def _quotes(self, deals: Sequence[OpportunityRecord]) -> list[list[QuoteRecord]]:
        found = await quotes.of_opportunities(self._stores.read, await self._actor(), deals)
        return [found.get(deal.id, []) for deal in deals]

    async def _contracts(self, deals: Sequence[OpportunityRecord]
                         ) -> list[list[ContractRecord]]:
        found = await contracts.of_opportunities(self._stores.read, list(deals))
        return [found.get(deal.id, []) for deal in deals]

    async def _staff(self, ids: Sequence[uuid.UUID]) -> list[StaffRecord | None]:
        found = await staff.records(self._stores.read, ids)
        return [found.get(key) for key in ids]

    async def _wins(self, deals: Sequence[OpportunityRecord]) -> list[Score | None]:
        found = await win.score_many(self._stores.read, deals)
        return [found.get(deal.id) for deal in deals]

    async def _tenders(self, ids: Sequence[uuid.UUID]) -> list[TenderRecord | None]:
        found = await tenders.of_opportunities(self._stores.read, ids)
        return [found.get(key) for key in ids]
