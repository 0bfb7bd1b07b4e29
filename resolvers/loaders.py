"""Per-request DataLoaders: every list field costs a constant number of round trips."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence

from strawberry.dataloader import DataLoader

from auth.actor import Actor
from services import account_tags, accounts, contacts, groups, staff, tickets
from services.account_tags import TagRecord
from services.accounts import AccountRecord
from services.contact_fields import ContactRecord
from services.groups import OwnershipEdge
from services.pagination import Page
from services.stores import Stores
from services.tickets import HistoryRecord

ContactPageKey = tuple[uuid.UUID, int | None, str | None]


class Loaders:
    def __init__(self, stores: Stores, actor: Callable[[], Awaitable[Actor]]) -> None:
        self._stores = stores
        self._actor = actor
        self.account = DataLoader[uuid.UUID, AccountRecord | None](self._accounts)
        self.contact = DataLoader[uuid.UUID, ContactRecord | None](self._contacts)
        self.contact_page = DataLoader[ContactPageKey, Page[ContactRecord]](self._contact_pages)
        self.contact_count = DataLoader[uuid.UUID, int](self._contact_counts)
        self.ancestor_edges = DataLoader[str, list[OwnershipEdge]](self._ancestor_edges)
        self.descendant_edges = DataLoader[str, list[OwnershipEdge]](self._descendant_edges)
        self.ticket_history = DataLoader[uuid.UUID, list[HistoryRecord]](self._ticket_history)
        self.staff_name = DataLoader[uuid.UUID, str | None](self._staff_names)
        self.account_tags = DataLoader[uuid.UUID, list[TagRecord]](self._account_tags)

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

    async def _descendant_edges(self, ids: Sequence[str]) -> list[list[OwnershipEdge]]:
        found = await groups.descendant_edges(self._stores.graph, ids,
                                             self._stores.settings.max_group_depth)
        return [found.get(key, []) for key in ids]
