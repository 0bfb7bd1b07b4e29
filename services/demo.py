"""Seed the demo dataset through the ordinary use cases (so it is audited and projected)."""

from __future__ import annotations

from dataclasses import dataclass

from relational.repositories import accounts as account_repo
from relational.uow import RequestMeta
from services import accounts, contacts, groups, users
from services.accounts import AccountDraft
from services.contacts import ContactDraft
from services.demo_data import DemoDataset, build_demo_dataset
from services.stores import Stores


@dataclass(frozen=True)
class SeedResult:
    seeded: bool
    accounts: int = 0
    contacts: int = 0
    ownerships: int = 0


async def seed_demo(stores: Stores, dataset: DemoDataset | None = None) -> SeedResult:
    """Seed once: a ledger that already holds accounts is left alone."""
    data = dataset or build_demo_dataset()
    async with stores.uow(RequestMeta(actor="system:demo-seed", reason="demo dataset")) as uow:
        if await account_repo.any_exist(uow.session):
            return SeedResult(seeded=False)
        ids = {}
        for item in data.accounts:
            row = await accounts.create(uow, AccountDraft(
                name=item.name, uscc=item.uscc, region=item.region, industry=item.industry,
                lifecycle_stage=item.lifecycle_stage, tags=item.tags,
                annual_revenue=item.annual_revenue))
            ids[item.key] = row.id
        for person in data.contacts:
            await contacts.create(uow, stores.cipher, ids[person.account_key], ContactDraft(
                name=person.name, title=person.title, phone=person.phone, email=person.email,
                id_number=person.id_number))
        for link in data.ownerships:
            await groups.link_parent(uow, ids[link.child_key], ids[link.parent_key],
                                     link.share_pct)
        await users.seed_demo_users(uow)
    return SeedResult(True, len(data.accounts), len(data.contacts), len(data.ownerships))
