"""Account use cases: create, update, read, search."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError

from auth.actor import Actor, Clearance
from graph import rows as graph_rows
from relational.ledger import Reader
from relational.models import Account
from relational.repositories import accounts as repo
from relational.repositories.accounts import AccountColumns, AccountQuery, AccountSort
from relational.uow import UnitOfWork
from services import idempotency, lifecycle, policy, vocabulary
from services import validation as check
from services.errors import BadUserInput, Conflict, Forbidden, NotFound
from services.pagination import Page, check_first, decode_cursor, encode_cursor, make_page
from services.uscc import UsccError, normalize_uscc


@dataclass(frozen=True)
class AccountDraft:
    name: str
    uscc: str
    region: str
    industry: str
    lifecycle_stage: str = vocabulary.DEFAULT_LIFECYCLE_STAGE.value
    tags: Sequence[str] = ()
    annual_revenue: Decimal | None = None
    classification: Clearance = Clearance.INTERNAL


@dataclass(frozen=True)
class Disruption:
    """Why a supplier cannot deliver, and since when."""

    reason: str
    since: date


@dataclass(frozen=True)
class AccountRecord:
    """An account as use cases hand it out (never the ledger row)."""

    id: uuid.UUID
    name: str
    uscc: str
    region: str
    industry: str
    lifecycle_stage: str
    tags: tuple[str, ...]
    annual_revenue: Decimal | None
    classification: Clearance
    owner_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    disruption: Disruption | None = None
    value_tier: str | None = None

    @classmethod
    def of(cls, row: Account | AccountColumns) -> AccountRecord:
        disruption = (None if row.disrupted_reason is None or row.disrupted_since is None
                      else Disruption(row.disrupted_reason, row.disrupted_since))
        return cls(id=row.id, name=row.name, uscc=row.uscc, region=row.region,
                   industry=row.industry, lifecycle_stage=row.lifecycle_stage,
                   tags=tuple(row.tags), annual_revenue=row.annual_revenue,
                   classification=Clearance(row.classification), owner_id=row.owner_id,
                   created_at=row.created_at, updated_at=row.updated_at,
                   disruption=disruption, value_tier=row.value_tier)


@dataclass(frozen=True)
class AccountSearch:
    """An account list: filters that must all hold, and its order."""

    name_contains: str | None = None
    regions: Sequence[str] = ()
    industries: Sequence[str] = ()
    lifecycle_stages: Sequence[str] = ()
    tags_any: Sequence[str] = ()
    sort: str = AccountSort.NAME.value  # name, created_at or annual_revenue
    descending: bool = False


@dataclass(frozen=True)
class AccountChanges:
    """Fields to change; None leaves a field as it is."""

    name: str | None = None
    uscc: str | None = None
    region: str | None = None
    industry: str | None = None
    lifecycle_stage: str | None = None
    tags: Sequence[str] | None = None
    annual_revenue: Decimal | None = None
    classification: Clearance | None = None


def snapshot(account: Account) -> dict[str, Any]:
    """The audit view of an account (no secret fields on accounts)."""
    return {
        "name": account.name,
        "uscc": account.uscc,
        "region": account.region,
        "industry": account.industry,
        "lifecycleStage": account.lifecycle_stage,
        "tags": list(account.tags),
        "annualRevenue": None if account.annual_revenue is None else str(account.annual_revenue),
        "classification": Clearance(account.classification).name,
        "ownerId": None if account.owner_id is None else str(account.owner_id),
    }


def graph_row(account: Account) -> dict[str, Any]:
    return graph_rows.account_row(
        account_id=account.id, name=account.name, region=account.region,
        industry=account.industry, lifecycle_stage=account.lifecycle_stage,
        disrupted_reason=account.disrupted_reason, disrupted_since=account.disrupted_since)


def _uscc(raw: str) -> str:
    try:
        return normalize_uscc(raw)
    except UsccError as error:
        message = f"`uscc` is not a valid 统一社会信用代码: {error}"
        raise BadUserInput(message, field="uscc") from error


def _validated(draft: AccountDraft) -> AccountDraft:
    return AccountDraft(
        name=check.text(draft.name, "name", max_length=200),
        uscc=_uscc(draft.uscc),
        region=check.choice(draft.region, "region", vocabulary.REGIONS),
        industry=check.text(draft.industry, "industry", max_length=64),
        lifecycle_stage=check.choice(
            draft.lifecycle_stage, "lifecycleStage", vocabulary.LIFECYCLE_STAGES),
        tags=check.tags(draft.tags),
        annual_revenue=check.money(draft.annual_revenue, "annualRevenue"),
        classification=draft.classification,
    )


def _within_clearance(actor: Actor, level: Clearance) -> None:
    if level > actor.clearance:
        raise Forbidden("you cannot classify above your own clearance", field="classification")


async def _ensure_uscc_free(uow: UnitOfWork, uscc: str, except_id: uuid.UUID | None) -> None:
    if await repo.uscc_taken(uow.session, uscc, except_id=except_id):
        raise Conflict("an account with this `uscc` already exists", field="uscc")


async def _flush(uow: UnitOfWork) -> None:
    try:
        await uow.session.flush()
    except IntegrityError as error:  # a concurrent request took the same USCC
        raise Conflict("an account with this `uscc` already exists", field="uscc") from error


async def create(
    uow: UnitOfWork, actor: Actor, draft: AccountDraft, key: idempotency.Key | None = None
) -> AccountRecord:
    """A new account; under an idempotency `key` a retry answers the account first created."""
    return await idempotency.once(
        uow, actor, key, "account.create", asdict(draft),
        run=lambda: _create(uow, actor, draft), result=lambda made: {"id": str(made.id)},
        replay=lambda stored: _created(uow, actor, uuid.UUID(stored["id"])))


async def _created(uow: UnitOfWork, actor: Actor, account_id: uuid.UUID) -> AccountRecord:
    found = await repo.get_many(uow.session, [account_id], policy.visibility(actor))
    if account_id not in found:
        raise NotFound("the account this idempotencyKey created no longer exists",
                       field="idempotencyKey")
    return AccountRecord.of(found[account_id])


async def _create(uow: UnitOfWork, actor: Actor, draft: AccountDraft) -> AccountRecord:
    valid = _validated(draft)
    _within_clearance(actor, valid.classification)
    await _ensure_uscc_free(uow, valid.uscc, None)
    account = Account(
        id=uuid.uuid4(), name=valid.name, uscc=valid.uscc, region=valid.region,
        industry=valid.industry, lifecycle_stage=valid.lifecycle_stage, tags=list(valid.tags),
        annual_revenue=valid.annual_revenue, owner_id=actor.user_id,
        department_id=actor.home_department, classification=int(valid.classification),
    )
    uow.session.add(account)
    await _flush(uow)
    uow.audit("account.create", [str(account.id)], after=snapshot(account))
    uow.emit("account.created", str(account.id), graph_row(account))
    uow.defer("lifecycle:value_tier", {"accountId": str(account.id)})
    return AccountRecord.of(account)


async def update(
    uow: UnitOfWork, actor: Actor, account_id: uuid.UUID, changes: AccountChanges
) -> AccountRecord:
    account = await repo.get_for_update(uow.session, account_id, policy.visibility(actor))
    if account is None:
        raise await not_found(uow, account_id, "account.update", field="id")
    before = snapshot(account)
    current = AccountDraft(account.name, account.uscc, account.region, account.industry,
                           account.lifecycle_stage, account.tags, account.annual_revenue,
                           Clearance(account.classification))
    given = {key: value for key, value in vars(changes).items() if value is not None}
    valid = _validated(replace(current, **given))
    _within_clearance(actor, valid.classification)
    if valid.uscc != account.uscc:
        await _ensure_uscc_free(uow, valid.uscc, account.id)
    if valid.lifecycle_stage != account.lifecycle_stage:
        await lifecycle.record(uow, account, valid.lifecycle_stage, "set by hand (accountUpdate)",
                               datetime.now(UTC), within_update=True)
    account.name, account.uscc, account.region = valid.name, valid.uscc, valid.region
    account.industry, account.lifecycle_stage = valid.industry, valid.lifecycle_stage
    account.tags, account.annual_revenue = list(valid.tags), valid.annual_revenue
    account.classification = int(valid.classification)
    after = snapshot(account)
    if after == before:
        return AccountRecord.of(account)
    account.version += 1
    account.updated_at = datetime.now(UTC)
    await _flush(uow)
    uow.audit("account.update", [str(account.id)], before=before, after=after)
    uow.emit("account.updated", str(account.id), graph_row(account))
    if before["annualRevenue"] != after["annualRevenue"]:
        uow.defer("lifecycle:value_tier", {"accountId": str(account.id)})
    return AccountRecord.of(account)


async def not_found(
    uow: UnitOfWork, account_id: uuid.UUID, operation: str, *, field: str
) -> NotFound:
    """The same NOT_FOUND for a missing and a hidden account; only the attempt on an existing
    one outside the actor's scope is audited (committed despite the refusal)."""
    if account_id in await repo.existing(uow.session, [account_id]):
        return policy.out_of_scope("no account with this id", field=field, operation=operation,
                                   target_id=account_id)
    return NotFound("no account with this id", field=field)


async def load_many(
    read: Reader, actor: Actor, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, AccountRecord]:
    """The accounts among `ids` the actor may see; the others are simply absent."""
    async with read() as session:
        found = await repo.columns_many(session, ids, policy.visibility(actor))
    return {key: AccountRecord.of(row) for key, row in found.items()}


def scoped(actor: Actor, search: AccountSearch) -> AccountQuery:
    """The repository's query: the search within what the actor may see."""
    return AccountQuery(
        name_contains=search.name_contains, regions=search.regions,
        industries=search.industries, lifecycle_stages=search.lifecycle_stages,
        tags_any=search.tags_any, sort=AccountSort(search.sort), descending=search.descending,
        visibility=policy.visibility(actor))


def _parse_sort_value(sort: AccountSort) -> Any:
    if sort is AccountSort.CREATED_AT:
        return datetime.fromisoformat
    if sort is AccountSort.ANNUAL_REVENUE:
        return Decimal
    return str


# Ordering by a field reveals how its values compare, so it needs what reading the field needs
# (schema/accounts.py: `annualRevenue` is @classified(level: INTERNAL)); a test keeps the two
# in step.
SORT_RULES: dict[AccountSort, policy.FieldRule] = {
    AccountSort.ANNUAL_REVENUE: policy.FieldRule("annualRevenue", level=Clearance.INTERNAL),
}


async def search(
    read: Reader, cursor_key: bytes, actor: Actor, wanted: AccountSearch, first: int | None,
    after: str | None,
) -> Page[AccountRecord]:
    query = scoped(actor, wanted)
    rule = SORT_RULES.get(query.sort)
    if rule is not None:
        policy.check_field(actor, rule, argument="orderBy", use="ordering by")
    limit = check_first(first)
    kind = f"accounts:{query.sort.value}:{int(query.descending)}"
    if after is not None:
        query = replace(query, after=decode_cursor(cursor_key, after, kind,
                                                   _parse_sort_value(query.sort)))
    async with read() as session:
        rows = await repo.page(session, query, limit + 1)
    page = make_page(
        rows, limit,
        lambda row: encode_cursor(cursor_key, kind, repo.sort_value(row, query.sort), row.id),
        has_previous=after is not None,
    )
    return page.mapped(AccountRecord.of)


async def count(read: Reader, actor: Actor, wanted: AccountSearch) -> int:
    async with read() as session:
        return await repo.count(session, scoped(actor, wanted))
