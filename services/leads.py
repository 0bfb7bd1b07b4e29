"""Leads and their conversion into an account (found again by USCC or normalised name, else
created), a contact and an opportunity, in one transaction. A lead converts once."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from auth.actor import Actor
from auth.field_cipher import FieldCipher
from relational.ledger import Reader
from relational.models import Account
from relational.pipeline_models import Lead
from relational.repositories import accounts as accounts_repo
from relational.repositories import opportunities as repo
from relational.uow import UnitOfWork
from services import accounts, contacts, idempotency, money, opportunities, pipelines, policy
from services import validation as check
from services.accounts import AccountDraft
from services.contacts import ContactDraft
from services.errors import BadUserInput, Conflict, NotFound
from services.pagination import Page, check_first, decode_cursor, encode_cursor, make_page
from services.uscc import UsccError, normalize_uscc
from services.vocabulary import REGIONS

_NOISE = re.compile(r"[\s().,·\-]")


def normalized_name(name: str) -> str:
    """The name a duplicate is recognised by: NFKC (full-width → ASCII), lower case, without
    spaces and punctuation (relational/repositories/opportunities.py NAME_NOISE)."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", name)).lower()


@dataclass(frozen=True)
class LeadDraft:
    company_name: str
    region: str
    industry: str
    source: str
    uscc: str | None = None
    contact_name: str | None = None
    contact_title: str | None = None
    campaign_id: uuid.UUID | None = None
    score: int = 0


@dataclass(frozen=True)
class LeadRecord:
    id: uuid.UUID
    company_name: str
    uscc: str | None
    contact_name: str | None
    region: str
    industry: str
    source: str
    campaign_id: uuid.UUID | None
    score: int
    owner_id: uuid.UUID
    status: str
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    version: int
    created_at: datetime

    @classmethod
    def of(cls, row: Lead) -> LeadRecord:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Conversion:
    lead: LeadRecord
    account_id: uuid.UUID
    contact_id: uuid.UUID | None
    opportunity: opportunities.OpportunityRecord
    account_created: bool


def _uscc(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return normalize_uscc(raw)
    except UsccError as error:
        raise BadUserInput(f"`uscc` is not a valid 统一社会信用代码: {error}",
                           field="uscc") from error


async def create(uow: UnitOfWork, actor: Actor, draft: LeadDraft,
                 key: idempotency.Key | None = None) -> LeadRecord:
    return await idempotency.once(
        uow, actor, key, "lead.create", asdict(draft),
        run=lambda: _create(uow, actor, draft), result=lambda made: {"id": str(made.id)},
        replay=lambda stored: _visible(uow, actor, uuid.UUID(stored["id"]), "lead.create"))


async def _create(uow: UnitOfWork, actor: Actor, draft: LeadDraft) -> LeadRecord:
    if actor.user_id is None:
        raise BadUserInput("only a user can own a lead", field="ownerId")
    if not 0 <= draft.score <= 100:
        raise BadUserInput("`score` is between 0 and 100", field="score")
    await opportunities.check_campaign(uow, draft.campaign_id)
    row = Lead(id=uuid.uuid4(), company_name=check.text(draft.company_name, "companyName",
                                                       max_length=200),
               uscc=_uscc(draft.uscc), region=check.choice(draft.region, "region", REGIONS),
               industry=check.text(draft.industry, "industry", max_length=64),
               source=check.text(draft.source, "source", max_length=100),
               contact_name=check.optional_text(draft.contact_name, "contactName",
                                                max_length=100),
               contact_title=check.optional_text(draft.contact_title, "contactTitle",
                                                 max_length=100),
               campaign_id=draft.campaign_id, score=draft.score, owner_id=actor.user_id,
               department_id=actor.home_department, status="OPEN", version=1,
               created_at=datetime.now(UTC))
    uow.session.add(row)
    await uow.session.flush()
    uow.audit("lead.create", [str(row.id)], after={"companyName": row.company_name,
                                                   "source": row.source})
    uow.emit("lead.created", str(row.id), {"lead_id": str(row.id), "source": row.source,
                                           "campaign_id": None if row.campaign_id is None
                                           else str(row.campaign_id)})
    return LeadRecord.of(row)


async def _locked(uow: UnitOfWork, actor: Actor, lead_id: uuid.UUID, operation: str) -> Lead:
    row = await repo.lead_visible(uow.session, lead_id, policy.visibility(actor), lock=True)
    if row is None:
        raise NotFound("no lead with this id", field="leadId")
    return row


async def _visible(uow: UnitOfWork, actor: Actor, lead_id: uuid.UUID,
                   operation: str) -> LeadRecord:
    return LeadRecord.of(await _locked(uow, actor, lead_id, operation))


async def _account(uow: UnitOfWork, actor: Actor, lead: Lead) -> tuple[Account | None, bool]:
    """The existing account this lead is (by USCC, else by normalised name), if any."""
    found = None
    if lead.uscc is not None:
        found = await repo.account_by_uscc(uow.session, lead.uscc)
    if found is None:
        found = await repo.account_by_name(uow.session, normalized_name(lead.company_name))
    if found is None:
        return None, False
    visible = await accounts_repo.get_many(uow.session, [found.id], policy.visibility(actor))
    if found.id not in visible:
        raise Conflict("this company is already an account, outside your scope: ask its "
                       "owner", field="leadId")
    return found, True


async def convert(uow: UnitOfWork, actor: Actor, cipher: FieldCipher, lead_id: uuid.UUID, *,
                  version: int | None, name: str | None, amount: Decimal, currency: str,
                  expected_close_on: date | None) -> Conversion:
    lead = await _locked(uow, actor, lead_id, "lead.convert")
    if lead.status == "CONVERTED":
        raise Conflict("this lead is already converted", field="leadId")
    if version is not None:
        opportunities.check_version(lead, version, "lead")
    value, code = money.amount(amount), money.currency(currency)
    existing, _ = await _account(uow, actor, lead)
    if existing is None:
        if lead.uscc is None:
            raise BadUserInput("no account matches this lead: give it a `uscc` to create one",
                               field="uscc")
        made = await accounts.create(uow, actor, AccountDraft(
            name=lead.company_name, uscc=lead.uscc, region=lead.region,
            industry=lead.industry))
        account_id, created = made.id, True
    else:
        account_id, created = existing.id, False
    contact_id = None
    if lead.contact_name:
        contact = await contacts.create(uow, actor, cipher, account_id, ContactDraft(
            name=lead.contact_name, title=lead.contact_title))
        contact_id = contact.id
    deal = opportunities.add(
        uow, actor, account_id=account_id, name=check.text(name or lead.company_name, "name",
                                                          max_length=200),
        amount=value, currency=code, pipeline=pipelines.DEFAULT,
        expected=expected_close_on, campaign_id=lead.campaign_id, lead_id=lead.id)
    lead.status, lead.converted_at = "CONVERTED", datetime.now(UTC)
    lead.account_id, lead.contact_id, lead.opportunity_id = account_id, contact_id, deal.id
    lead.version += 1
    await uow.session.flush()
    opportunities.record_created(uow, deal)
    uow.audit("lead.convert", [str(lead.id)], after={
        "accountId": str(account_id), "accountCreated": created,
        "opportunityId": str(deal.id)})
    uow.emit("lead.converted", str(lead.id), {"lead_id": str(lead.id),
                                              "account_id": str(account_id),
                                              "opportunity_id": str(deal.id)})
    return Conversion(LeadRecord.of(lead), account_id, contact_id,
                      opportunities.OpportunityRecord.of(deal), created)


async def search(read: Reader, cursor_key: bytes, actor: Actor, status: str | None,
                 first: int | None, after: str | None) -> Page[LeadRecord]:
    limit = check_first(first)
    kind = "leads:created_at:1"
    cursor = None if after is None else decode_cursor(cursor_key, after, kind,
                                                      datetime.fromisoformat)
    async with read() as session:
        rows = await repo.leads_page(session, policy.visibility(actor), status, cursor,
                                     limit + 1)
    page = make_page(rows, limit, lambda row: encode_cursor(
        cursor_key, kind, row.created_at.isoformat(), row.id), has_previous=after is not None)
    return page.mapped(LeadRecord.of)
