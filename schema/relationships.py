"""Relationship edge types, inputs and the relationshipCreate / Update / End mutations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from resolvers import relationships as resolve
from resolvers.ids import to_global_id
from schema.accounts import Info
from schema.directives import guard
from schema.writes import GraphWrite, Settle
from services import relationships as service
from services.relationships import RelationshipDraft, RelationshipRecord
from services.vocabulary import Criticality, RelationshipKind

strawberry.enum(RelationshipKind, name="RelationshipKind",
                description="INFLUENCES: contact → contact whose opinion it sways; REPORTS_TO: "
                            "subordinate → manager; KNOWS: our staff user → contact; SUPPLIES: "
                            "supplier account → buyer account.")
strawberry.enum(Criticality, name="Criticality",
                description="How much a buyer depends on a supplier.")


@strawberry.type(description="An edge of the relationship graph as the ledger keeps it.")
class Relationship:
    id: strawberry.ID = strawberry.field(description="Global id.")
    kind: RelationshipKind = strawberry.field(description="Kind of edge.")
    from_id: strawberry.ID = strawberry.field(
        description="Start: a Contact, a User (KNOWS) or the supplier Account (SUPPLIES).")
    to_id: strawberry.ID = strawberry.field(
        description="End: a Contact, or the buyer Account (SUPPLIES).")
    weight: float | None = strawberry.field(
        description="INFLUENCES weight or KNOWS strength in [0, 1]; null for other kinds.")
    manual: bool = strawberry.field(
        description="KNOWS: true when the strength was set by hand (it then wins over the "
                    "strength derived from interactions).")
    evidence: str | None = strawberry.field(description="Why we believe the edge exists.")
    criticality: Criticality | None = strawberry.field(description="SUPPLIES only.")
    share: Decimal | None = strawberry.field(
        description="SUPPLIES: share of the buyer's need in % (two decimal places).")
    products: list[str] = strawberry.field(description="SUPPLIES: what is supplied.")
    annual_volume: Decimal | None = strawberry.field(
        description="SUPPLIES: yearly volume (CNY).")
    valid_from: date = strawberry.field(description="First day the edge holds.")
    valid_to: date | None = strawberry.field(
        description="Last day the edge holds (inclusive); null while it lasts.")
    version: int = strawberry.field(description="Incremented by every change.")

    @classmethod
    def of(cls, row: RelationshipRecord) -> Relationship:
        source, target = resolve.end_ids(row)
        return cls(
            id=strawberry.ID(to_global_id("Relationship", row.id)),
            kind=RelationshipKind(row.kind), from_id=strawberry.ID(source),
            to_id=strawberry.ID(target), weight=row.weight, manual=row.manual,
            evidence=row.evidence,
            criticality=None if row.criticality is None else Criticality(row.criticality),
            share=row.share, products=list(row.products), annual_volume=row.annual_volume,
            valid_from=row.valid_from, valid_to=row.valid_to, version=row.version)


@strawberry.input(description="A new relationship edge; what each kind needs is checked and a "
                              "refusal names the field.")
class RelationshipCreateInput:
    kind: RelationshipKind = strawberry.field(description="Kind of edge.")
    from_id: strawberry.ID = strawberry.field(
        description="A Contact (INFLUENCES, REPORTS_TO: the subordinate), a User (KNOWS) or "
                    "the supplier Account (SUPPLIES).")
    to_id: strawberry.ID = strawberry.field(
        description="A Contact (REPORTS_TO: the manager) or the buyer Account (SUPPLIES).")
    weight: float | None = strawberry.field(
        default=None, description="INFLUENCES: required, in [0, 1]. KNOWS: a manual strength "
                                  "in [0, 1]; omitted, it is derived from interactions.")
    criticality: Criticality | None = strawberry.field(default=None,
                                                       description="SUPPLIES: required.")
    share: Decimal | None = strawberry.field(
        default=None, description="SUPPLIES: share of the buyer's need in %, 0 to 100.")
    products: list[str] = strawberry.field(default_factory=list,
                                           description="SUPPLIES: what is supplied.")
    annual_volume: Decimal | None = strawberry.field(default=None,
                                                     description="SUPPLIES: CNY per year.")
    evidence: str | None = strawberry.field(default=None,
                                            description="Why we believe the edge exists.")
    valid_from: date | None = strawberry.field(default=None,
                                               description="First day; today if omitted.")
    valid_to: date | None = strawberry.field(default=None,
                                             description="Last day (inclusive); open if null.")

    def draft(self) -> RelationshipDraft:
        source, target = resolve.decode_ends(self.kind.value, str(self.from_id), str(self.to_id))
        return RelationshipDraft(
            kind=self.kind.value, from_id=source, to_id=target, weight=self.weight,
            evidence=self.evidence,
            criticality=None if self.criticality is None else self.criticality.value,
            share=self.share, products=self.products, annual_volume=self.annual_volume,
            valid_from=self.valid_from, valid_to=self.valid_to)


@strawberry.input(description="Changes to an edge; omitted fields stay, null clears. Its kind "
                              "and ends never change.")
class RelationshipUpdateInput:
    relationship_id: strawberry.ID = strawberry.field(description="The edge.")
    weight: float | None = strawberry.field(
        default=strawberry.UNSET, description="New weight in [0, 1]; for KNOWS a manual "
                                              "strength, null returns to the derived one.")
    criticality: Criticality | None = strawberry.field(default=strawberry.UNSET,
                                                       description="SUPPLIES.")
    share: Decimal | None = strawberry.field(default=strawberry.UNSET, description="SUPPLIES.")
    products: list[str] | None = strawberry.field(default=strawberry.UNSET,
                                                  description="SUPPLIES.")
    annual_volume: Decimal | None = strawberry.field(default=strawberry.UNSET,
                                                     description="SUPPLIES.")
    evidence: str | None = strawberry.field(default=strawberry.UNSET, description="Evidence.")
    valid_from: date | None = strawberry.field(default=strawberry.UNSET,
                                               description="First day.")
    valid_to: date | None = strawberry.field(default=strawberry.UNSET,
                                             description="Last day; null reopens the edge.")

    def changes(self) -> service.RelationshipChanges:
        given = {"weight": self.weight, "evidence": self.evidence, "share": self.share,
                 "annual_volume": self.annual_volume, "valid_from": self.valid_from,
                 "valid_to": self.valid_to,
                 "criticality": self.criticality if self.criticality in (None, strawberry.UNSET)
                 else self.criticality.value,
                 "products": self.products if self.products is not None else []}
        return service.changes_of(**{key: value for key, value in given.items()
                                     if value is not strawberry.UNSET})


@strawberry.input(description="End an edge: it holds until `validTo` and stays in history.")
class RelationshipEndInput:
    relationship_id: strawberry.ID = strawberry.field(description="The edge.")
    valid_to: date | None = strawberry.field(default=None,
                                             description="Last day it holds; today if omitted.")


@strawberry.type(description="Result of relationshipCreate / Update / End.")
class RelationshipPayload(GraphWrite):
    relationship: Relationship = strawberry.field(description="The edge after the write.")


async def relationship_create(info: Info, input: RelationshipCreateInput) -> RelationshipPayload:
    return RelationshipPayload(relationship=Relationship.of(
        await resolve.create(info.context, input.draft())))


async def relationship_update(info: Info, input: RelationshipUpdateInput) -> RelationshipPayload:
    return RelationshipPayload(relationship=Relationship.of(
        await resolve.update(info.context, str(input.relationship_id), input.changes())))


async def relationship_end(info: Info, input: RelationshipEndInput) -> RelationshipPayload:
    return RelationshipPayload(relationship=Relationship.of(
        await resolve.end(info.context, str(input.relationship_id), input.valid_to)))


@strawberry.type(description="Relationship writes.")
class RelationshipMutations:
    relationship_create = strawberry.mutation(
        resolver=relationship_create, description="Add a relationship edge.",
        extensions=[*guard("relationship:write", audit_as="relationship.create"), Settle()])
    relationship_update = strawberry.mutation(
        resolver=relationship_update, description="Change a relationship edge.",
        extensions=[*guard("relationship:write", audit_as="relationship.update"), Settle()])
    relationship_end = strawberry.mutation(
        resolver=relationship_end, description="End a relationship edge (kept in history).",
        extensions=[*guard("relationship:write", audit_as="relationship.end"), Settle()])
