"""Seed the demo dataset through the ordinary use cases (so it is audited and projected)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from auth.actor import Clearance
from auth.field_cipher import FieldCipher
from relational.ledger import Ledger
from relational.repositories import accounts as account_repo
from relational.uow import RequestMeta
from services import accounts, contacts, demo_operations, groups
from services.accounts import AccountDraft
from services.contacts import ContactDraft
from services.demo_data import DemoDataset, build_demo_dataset
from services.identity import users

# Accounts holding the top secrecy qualification are classified 秘密 in the demo.
SECRET_TAG = "保密资质一级"  # noqa: S105 - a tag


@dataclass(frozen=True)
class SeedResult:
    seeded: bool
    accounts: int = 0
    contacts: int = 0
    ownerships: int = 0


async def seed_demo(ledger: Ledger, cipher: FieldCipher,
                    dataset: DemoDataset | None = None) -> SeedResult:
    """Seed once: a ledger that already holds accounts is left alone."""
    data = dataset or build_demo_dataset()
    async with ledger.uow(RequestMeta(actor="system:demo-seed", reason="demo dataset")) as uow:
        if await account_repo.any_exist(uow.session):
            return SeedResult(seeded=False)
        people = {name: users.builtin_actor(user)
                  for name, user in (await users.seed_demo_users(uow)).items()}
        # 华东 and 华北 accounts belong to those regions' salespeople, the rest to the admin.
        owners = {"华东": people["sales.east"], "华北": people["sales.north"]}
        ids, owner_of = {}, {}
        for item in data.accounts:
            secret = SECRET_TAG in item.tags
            # A 秘密 account is kept by someone cleared for it.
            owner = people["admin"] if secret else owners.get(item.region, people["admin"])
            row = await accounts.create(uow, owner, AccountDraft(
                name=item.name, uscc=item.uscc, region=item.region, industry=item.industry,
                lifecycle_stage=item.lifecycle_stage, tags=item.tags,
                annual_revenue=item.annual_revenue,
                classification=Clearance.SECRET if secret else Clearance.INTERNAL))
            ids[item.key], owner_of[item.key] = row.id, owner
        for person in data.contacts:
            await contacts.create(uow, owner_of[person.account_key], cipher,
                                  ids[person.account_key], ContactDraft(
                name=person.name, title=person.title, phone=person.phone, email=person.email,
                id_number=person.id_number))
        for link in data.ownerships:
            await groups.link_parent(uow, people["admin"], ids[link.child_key],
                                     ids[link.parent_key], link.share_pct)
        await demo_operations.seed_operations(uow, people, list(ids.values()), datetime.now(UTC))
    return SeedResult(True, len(data.accounts), len(data.contacts), len(data.ownerships))
