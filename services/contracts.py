"""Contracts from approved quotes, signed with SM2: the contract's canonical serialisation
(sorted-key JSON of its terms, money and lines) → SM3 digest → SM2 signature with the signer's
own key. Each user's key pair is made on first signing; its private half is stored only as an
SM4 envelope of the field cipher and never leaves the server. A signed contract is immutable:
changes are amendments, new contracts linked to it."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from auth import sm2
from auth.actor import Actor
from auth.crypto import CryptoError, sm3_hex
from auth.field_cipher import FieldCipher
from relational.ledger import Reader
from relational.pipeline_models import Contract, Opportunity, Quote, SigningKey
from relational.repositories import money as repo
from relational.uow import UnitOfWork
from services import opportunities, policy
from services import validation as check
from services.errors import BadUserInput, Conflict, Forbidden

KEY_FIELD = "sm2.private"


class Tampered(Conflict):
    """A signed contract no longer matches its signature: nothing is done with it."""


@dataclass(frozen=True)
class ContractRecord:
    id: uuid.UUID
    quote_id: uuid.UUID
    opportunity_id: uuid.UUID
    account_id: uuid.UUID
    owner_id: uuid.UUID
    department_id: uuid.UUID | None
    amends_id: uuid.UUID | None
    number: int
    amount: Decimal
    currency: str
    terms: str
    status: str
    digest: str | None
    signature: str | None
    signer_id: uuid.UUID | None
    signed_at: datetime | None
    version: int
    ends_on: date | None = None

    @classmethod
    def of(cls, row: Contract, deal: Any) -> ContractRecord:
        return cls(id=row.id, quote_id=row.quote_id, opportunity_id=row.opportunity_id,
                   account_id=row.account_id, owner_id=deal.owner_id,
                   department_id=deal.department_id, amends_id=row.amends_id,
                   number=row.number, amount=row.amount, currency=row.currency,
                   terms=row.terms, status=row.status, digest=row.digest,
                   signature=row.signature, signer_id=row.signer_id, signed_at=row.signed_at,
                   version=row.version, ends_on=row.ends_on)


@dataclass(frozen=True)
class Verification:
    valid: bool
    signer: str | None
    signed_at: datetime | None
    reason: str


def canonical(row: Contract, lines: list[dict[str, str]]) -> bytes:
    """What is signed: every term of the contract, in one byte-exact form."""
    document = {
        "id": str(row.id), "number": row.number, "quoteId": str(row.quote_id),
        "opportunityId": str(row.opportunity_id), "accountId": str(row.account_id),
        "amendsId": None if row.amends_id is None else str(row.amends_id),
        "amount": str(row.amount), "currency": row.currency, "terms": row.terms,
        "lines": lines, "signerId": None if row.signer_id is None else str(row.signer_id),
        "signedAt": None if row.signed_at is None else row.signed_at.astimezone(UTC).isoformat(),
    }
    if row.ends_on is not None:  # a term end is signed too (absent: as signed before it existed)
        document["endsOn"] = row.ends_on.isoformat()
    return json.dumps(document, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode()


async def _lines(uow_session: Any, quote_id: uuid.UUID) -> list[dict[str, str]]:
    found = (await repo.lines(uow_session, [quote_id]))[quote_id]
    return [{"product": line.product, "quantity": str(line.quantity),
             "unitPrice": str(line.unit_price), "lineTotal": str(line.line_total)}
            for line in found]


async def _locked(uow: UnitOfWork, actor: Actor, contract_id: uuid.UUID,
                  operation: str) -> tuple[Contract, Opportunity]:
    return await opportunities.locked_document(uow, actor, Contract, contract_id, operation,
                                               field="contractId", noun="contract")


def _view(row: Contract) -> dict[str, Any]:
    return {"quoteId": str(row.quote_id), "number": row.number, "amount": str(row.amount),
            "currency": row.currency, "status": row.status,
            "amendsId": None if row.amends_id is None else str(row.amends_id),
            "endsOn": None if row.ends_on is None else row.ends_on.isoformat()}


async def create_from_quote(uow: UnitOfWork, actor: Actor, quote_id: uuid.UUID,
                            terms: str | None = None, ends_on: date | None = None
                            ) -> ContractRecord:
    quote, deal = await opportunities.locked_document(uow, actor, Quote, quote_id,
                                                      "contract.create", field="quoteId",
                                                      noun="quote")
    if quote.status not in ("APPROVED", "ACCEPTED"):
        raise BadUserInput(f"a contract needs an approved quote; this one is {quote.status}",
                           field="quoteId")
    if await repo.contract_of_quote(uow.session, quote.id) is not None:
        raise Conflict("this quote already has a contract", field="quoteId")
    quote.status, quote.version = "ACCEPTED", quote.version + 1
    row = Contract(id=uuid.uuid4(), quote_id=quote.id, opportunity_id=deal.id,
                   account_id=deal.account_id, number=1, amount=quote.total,
                   currency=quote.currency, status="DRAFT", version=1, ends_on=ends_on,
                   terms=check.text(terms or "", "terms", max_length=20000, required=False))
    return await _added(uow, row, deal, "contract.create")


async def _added(uow: UnitOfWork, row: Contract, deal: Any, operation: str) -> ContractRecord:
    uow.session.add(row)
    await uow.session.flush()
    uow.audit(operation, [str(row.id)], after=_view(row))
    uow.emit("contract.created", str(row.id), {**_view(row), "contract_id": str(row.id)})
    return ContractRecord.of(row, deal)


async def amend(uow: UnitOfWork, actor: Actor, contract_id: uuid.UUID, terms: str,
                ends_on: date | None = None) -> ContractRecord:
    """A new draft contract linked to a signed one, with changed terms (and term end; the
    signed one's if not given)."""
    row, deal = await _locked(uow, actor, contract_id, "contract.amend")
    if row.status != "SIGNED":
        raise BadUserInput("only a signed contract is amended; change the draft instead",
                           field="contractId")
    amendment = Contract(id=uuid.uuid4(), quote_id=row.quote_id, opportunity_id=row.opportunity_id,
                         account_id=row.account_id, amends_id=row.id,
                         number=await repo.latest_amendment(uow.session, row.id) + 1,
                         amount=row.amount, currency=row.currency, status="DRAFT", version=1,
                         ends_on=ends_on or row.ends_on,
                         terms=check.text(terms, "terms", max_length=20000))
    return await _added(uow, amendment, deal, "contract.amend")


async def _key_pair(uow: UnitOfWork, cipher: FieldCipher, user_id: uuid.UUID) -> tuple[str, str]:
    found = await repo.signing_key(uow.session, user_id)
    if found is not None:
        return cipher.open(user_id, KEY_FIELD, found.private_envelope), found.public_key
    private, public = sm2.generate_sm2_keypair()
    uow.session.add(SigningKey(user_id=user_id, public_key=public,
                               private_envelope=cipher.encrypt(user_id, KEY_FIELD, private)))
    uow.audit("signingKey.create", [str(user_id)], after={"publicKey": public})
    return private, public


async def sign(uow: UnitOfWork, cipher: FieldCipher, actor: Actor, contract_id: uuid.UUID,
               version: int | None = None) -> ContractRecord:
    row, deal = await _locked(uow, actor, contract_id, "contract.sign")
    if version is not None:
        opportunities.check_version(row, version, "contract")
    if row.status == "SIGNED":
        raise BadUserInput("the contract is already signed; a signed contract is immutable "
                           "(amend it instead)", field="contractId")
    if actor.user_id is None:
        raise Forbidden("only a user signs contracts", field="contractId")
    private, public = await _key_pair(uow, cipher, actor.user_id)
    row.signer_id, row.signed_at = actor.user_id, datetime.now(UTC).replace(microsecond=0)
    document = canonical(row, await _lines(uow.session, row.quote_id))
    row.digest = sm3_hex(document)
    row.signature = sm2.sm2_sign(private, public, document)
    row.signer_public_key, row.status = public, "SIGNED"
    row.version += 1
    row.updated_at = datetime.now(UTC)
    await uow.session.flush()
    uow.audit("contract.sign", [str(row.id)], after={**_view(row), "digest": row.digest})
    uow.emit("contract.signed", str(row.id), {**_view(row), "contract_id": str(row.id),
                                               "signer_id": str(actor.user_id)})
    return ContractRecord.of(row, deal)


async def _verified(session: Any, row: Contract) -> Verification:
    if row.status != "SIGNED" or not row.signature or row.signer_id is None:
        return Verification(False, None, None, "the contract is not signed")
    key = await repo.signing_key(session, row.signer_id)
    names = await repo.user_names(session, [row.signer_id])
    signer = names.get(row.signer_id)
    if key is None or key.public_key != row.signer_public_key:
        return Verification(False, signer, row.signed_at, "the signer's key does not match")
    document = canonical(row, await _lines(session, row.quote_id))
    if sm3_hex(document) != row.digest:
        return Verification(False, signer, row.signed_at,
                            "the contract was altered after signing (SM3 digest differs)")
    try:
        valid = sm2.sm2_verify(key.public_key, document, row.signature)
    except CryptoError:
        valid = False
    if not valid:
        return Verification(False, signer, row.signed_at, "the SM2 signature is not valid")
    return Verification(True, signer, row.signed_at, "the signature matches the contract")


async def verify(read: Reader, actor: Actor, contract_id: uuid.UUID) -> Verification | None:
    """None when there is no such contract the actor may see."""
    async with read() as session:
        row = (await repo.get_visible(session, Contract, [contract_id],
                                      policy.visibility(actor))).get(contract_id)
        return None if row is None else await _verified(session, row)


async def signed_and_intact(uow: UnitOfWork, row: Contract) -> None:
    """Money moves only against a signed contract that still matches its signature."""
    if row.status != "SIGNED":
        raise BadUserInput("the contract is not signed yet", field="contractId")
    result = await _verified(uow.session, row)
    if not result.valid:
        raise Tampered(f"the contract fails verification: {result.reason}",
                       field="contractId")


async def locked_signed(uow: UnitOfWork, actor: Actor, contract_id: uuid.UUID,
                        operation: str) -> tuple[Contract, Any]:
    row, deal = await _locked(uow, actor, contract_id, operation)
    await signed_and_intact(uow, row)
    return row, deal


async def of_opportunities(read: Reader, deals: list[Any]
                           ) -> dict[uuid.UUID, list[ContractRecord]]:
    by_id = {deal.id: deal for deal in deals}
    async with read() as session:
        rows = await repo.contracts_of(session, list(by_id))
    found: dict[uuid.UUID, list[ContractRecord]] = {key: [] for key in by_id}
    for row in rows:
        found[row.opportunity_id].append(ContractRecord.of(row, by_id[row.opportunity_id]))
    return found
