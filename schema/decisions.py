"""Decision map types (the shape the explorer page draws), committees and their mutations."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum

import strawberry

from analytics.influence import Contribution
from resolvers import decisions as resolve
from resolvers.ids import to_global_id
from schema.accounts import Info
from schema.contacts import ContactRef, contact_ref
from schema.directives import guard
from schema.relationships import Relationship  # noqa: F401  (registers RelationshipKind)
from schema.writes import GraphWrite, Settle
from services.committees import MemberRecord
from services.decision_maps import DecisionMap as MapRecord
from services.decision_maps import MapNode
from services.vocabulary import CommitteeRole, RelationshipKind, Stance

strawberry.enum(CommitteeRole, name="CommitteeRole",
                description="Roles on a buying committee; a member may hold several.")
strawberry.enum(Stance, name="Stance", description="A committee member's attitude towards us.")


@strawberry.enum(name="DecisionMapNodeKind",
                 description="CONTACT: a person at a customer; STAFF: one of our users; "
                             "RESTRICTED: a person outside your scope (a stub).")
class DecisionMapNodeKind(Enum):
    CONTACT = "CONTACT"
    STAFF = "STAFF"
    RESTRICTED = "RESTRICTED"


def contact_gid(raw: str | uuid.UUID) -> strawberry.ID:
    return strawberry.ID(to_global_id("Contact", raw))


@strawberry.type(description="How much one tie contributes to a person's influence.")
class InfluenceContribution:
    from_id: strawberry.ID = strawberry.field(description="The person scored.")
    to_id: strawberry.ID = strawberry.field(description="The person they sway.")
    kind: RelationshipKind = strawberry.field(description="INFLUENCES or REPORTS_TO.")
    weight: float = strawberry.field(description="Weight of the tie (REPORTS_TO: 0.5).")
    share: float = strawberry.field(description="Share of the person's reach through this tie.")
    path: list[strawberry.ID] = strawberry.field(
        description="The strongest path from the person through this tie to a decision maker.")

    @classmethod
    def of(cls, item: Contribution) -> InfluenceContribution:
        return cls(from_id=contact_gid(item.from_id), to_id=contact_gid(item.to_id),
                   kind=RelationshipKind(item.kind), weight=item.weight, share=item.share,
                   path=[contact_gid(step) for step in item.path])


@strawberry.type(description="A person on the map: a contact, one of our staff, or a stub.")
class DecisionMapNode:
    id: strawberry.ID = strawberry.field(description="Global id (Contact or User).")
    kind: DecisionMapNodeKind = strawberry.field(description="What the node is.")
    name: str | None = strawberry.field(description="Null when RESTRICTED.")
    title: str | None = strawberry.field(description="Job title (contacts).")
    account_id: strawberry.ID | None = strawberry.field(description="Where the contact works.")
    influence: float | None = strawberry.field(
        description="Influence coefficient in [0, 1]; null for STAFF and RESTRICTED.")
    role: CommitteeRole | None = strawberry.field(
        description="Primary committee role; null if not on the committee.")
    roles: list[CommitteeRole] = strawberry.field(description="Every committee role held.")
    stance: Stance | None = strawberry.field(description="Stance, for committee members.")
    last_contact_at: date | None = strawberry.field(
        description="Last interaction with our staff (committee members).")
    restricted: bool = strawberry.field(description="True for a stub.")
    explanation: list[InfluenceContribution] = strawberry.field(
        description="The ties contributing most to the influence, with their share.")

    @classmethod
    def of(cls, node: MapNode) -> DecisionMapNode:
        staff = node.kind == "STAFF"
        return cls(
            id=strawberry.ID(to_global_id("User" if staff else "Contact", node.id)),
            kind=DecisionMapNodeKind(node.kind), name=node.name, title=node.title,
            account_id=None if node.account_id is None else strawberry.ID(
                to_global_id("Account", node.account_id)),
            influence=node.influence, role=CommitteeRole(node.roles[0]) if node.roles else None,
            roles=[CommitteeRole(role) for role in node.roles],
            stance=None if node.stance is None else Stance(node.stance),
            last_contact_at=node.last_contact_at, restricted=node.restricted,
            explanation=[InfluenceContribution.of(item) for item in node.explanation])


@strawberry.type(description="A tie on the map, valid on the map's date.")
class DecisionMapEdge:
    id: strawberry.ID = strawberry.field(description="Global id of the Relationship.")
    from_id: strawberry.ID = strawberry.field(description="Start (a Contact, or a User).")
    to_id: strawberry.ID = strawberry.field(description="End (a Contact).")
    kind: RelationshipKind = strawberry.field(description="Kind of tie.")
    weight: float = strawberry.field(
        description="INFLUENCES weight, KNOWS strength, REPORTS_TO 0.5; in [0, 1].")
    valid_from: date | None = strawberry.field(description="First day.")
    valid_to: date | None = strawberry.field(description="Last day; null while it lasts.")
    manual: bool = strawberry.field(description="KNOWS: strength set by hand.")


@strawberry.type(description="A person on the paths between everyone else.")
class Broker:
    id: strawberry.ID = strawberry.field(description="The contact.")
    betweenness: float = strawberry.field(description="Normalised betweenness centrality.")


@strawberry.type(description="A decision maker no one on our staff has a path to.")
class Gap:
    id: strawberry.ID = strawberry.field(description="The decision maker's node id.")
    reason: str = strawberry.field(description="Why it is a gap.")


@strawberry.type(description="How complete our map of the committee is.")
class Coverage:
    completeness: float = strawberry.field(description="Key roles filled, in percent (0–100).")
    filled_roles: list[CommitteeRole] = strawberry.field(description="Key roles filled.")
    missing_roles: list[CommitteeRole] = strawberry.field(description="Key roles missing.")
    unreachable_decision_makers: list[strawberry.ID] = strawberry.field(
        description="Decision makers no staff member has a path to.")


@strawberry.type(description="A buying committee and the ties around it, ready to draw.")
class DecisionMap:
    as_of: date = strawberry.field(description="The day the map shows.")
    computed_at: datetime | None = strawberry.field(
        description="When the stored influence scores were computed (null for a past day, "
                    "whose scores are computed from that day's graph).")
    nodes: list[DecisionMapNode] = strawberry.field(description="People.")
    edges: list[DecisionMapEdge] = strawberry.field(description="Ties.")
    brokers: list[Broker] = strawberry.field(description="Highest betweenness first.")
    gaps: list[Gap] = strawberry.field(description="Unreachable decision makers.")
    coverage: Coverage = strawberry.field(description="Role coverage.")

    @classmethod
    def of(cls, found: MapRecord) -> DecisionMap:
        from services.decision_maps import GAP_REASON

        return cls(
            as_of=found.as_of, computed_at=found.computed_at,
            nodes=[DecisionMapNode.of(node) for node in found.nodes],
            edges=[DecisionMapEdge(
                id=strawberry.ID(to_global_id("Relationship", edge.id)),
                from_id=strawberry.ID(to_global_id(
                    "User" if edge.kind == "KNOWS" else "Contact", edge.from_id)),
                to_id=contact_gid(edge.to_id), kind=RelationshipKind(edge.kind),
                weight=0.5 if edge.kind == "REPORTS_TO" else float(edge.weight or 0.0),
                valid_from=None if edge.valid_from is None else date.fromisoformat(
                    edge.valid_from),
                valid_to=None if edge.valid_to is None else date.fromisoformat(edge.valid_to),
                manual=edge.manual) for edge in found.edges],
            brokers=[Broker(id=contact_gid(key), betweenness=value)
                     for key, value in found.brokers],
            gaps=[Gap(id=contact_gid(key), reason=GAP_REASON) for key in found.gaps],
            coverage=Coverage(
                completeness=found.coverage.completeness,
                filled_roles=[CommitteeRole(r) for r in found.coverage.filled],
                missing_roles=[CommitteeRole(r) for r in found.coverage.missing],
                unreachable_decision_makers=[contact_gid(k)
                                             for k in found.coverage.unreachable]))


@strawberry.type(description="A person on an account's buying committee.")
class CommitteeMember:
    id: strawberry.ID = strawberry.field(description="Global id of the membership.")
    role: CommitteeRole = strawberry.field(description="Primary role.")
    roles: list[CommitteeRole] = strawberry.field(description="Every role held.")
    stance: Stance = strawberry.field(description="Stance towards us.")
    last_contact_at: date | None = strawberry.field(description="Last interaction with us.")
    influence: float | None = strawberry.field(
        description="Influence in [0, 1]; null for a restricted person.")
    contact_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The person, or a stub outside your scope.")
    async def contact(self, info: Info) -> ContactRef:
        return await contact_ref(info, self.contact_id)

    @classmethod
    def of_node(cls, node: MapNode) -> CommitteeMember:
        return cls(id=strawberry.ID(to_global_id("CommitteeMember", node.member_id or "")),
                   role=CommitteeRole(node.roles[0]),
                   roles=[CommitteeRole(r) for r in node.roles],
                   stance=Stance(node.stance or "UNKNOWN"),
                   last_contact_at=node.last_contact_at, influence=node.influence,
                   contact_id=node.id)


async def account_decision_map(info: Info, account_id: uuid.UUID,
                               as_of: date | None) -> DecisionMap:
    return DecisionMap.of(await resolve.decision_map(info.context, account_id, as_of))


async def opportunity_decision_map(info: Info, account_id: uuid.UUID, opportunity_id: uuid.UUID,
                                   as_of: date | None) -> DecisionMap:
    return DecisionMap.of(await resolve.decision_map(info.context, account_id, as_of,
                                                     opportunity_id))


async def account_committee(info: Info, account_id: uuid.UUID,
                            as_of: date | None) -> list[CommitteeMember]:
    found = await resolve.decision_map(info.context, account_id, as_of)
    return [CommitteeMember.of_node(node) for node in found.nodes if node.member_id]


@strawberry.input(description="Put a person on an account's buying committee.")
class CommitteeMemberAddInput:
    account_id: strawberry.ID = strawberry.field(description="The account.")
    contact_id: strawberry.ID = strawberry.field(description="The person.")
    role: CommitteeRole = strawberry.field(description="Primary role.")
    roles: list[CommitteeRole] = strawberry.field(default_factory=list,
                                                  description="Further roles.")
    stance: Stance | None = strawberry.field(default=None, description="UNKNOWN if omitted.")
    opportunity_id: strawberry.ID | None = strawberry.field(
        default=None, description="The opportunity's committee instead of the account's.")
    valid_from: date | None = strawberry.field(
        default=None, description="On the committee since this day; today if omitted.")


@strawberry.input(description="Change a membership; omitted fields stay.")
class CommitteeMemberUpdateInput:
    member_id: strawberry.ID = strawberry.field(description="The membership.")
    role: CommitteeRole | None = strawberry.field(default=None, description="Primary role.")
    roles: list[CommitteeRole] | None = strawberry.field(
        default=None, description="Further roles (replace the current ones).")
    stance: Stance | None = strawberry.field(default=None, description="Stance.")


@strawberry.input(description="Take a person off the committee (kept for earlier dates).")
class CommitteeMemberRemoveInput:
    member_id: strawberry.ID = strawberry.field(description="The membership.")


@strawberry.type(description="A membership after a committee write.")
class CommitteeMemberRef:
    id: strawberry.ID = strawberry.field(description="Global id of the membership.")
    role: CommitteeRole = strawberry.field(description="Primary role.")
    roles: list[CommitteeRole] = strawberry.field(description="Every role held.")
    stance: Stance = strawberry.field(description="Stance.")

    @classmethod
    def of(cls, row: MemberRecord) -> CommitteeMemberRef:
        return cls(id=strawberry.ID(to_global_id("CommitteeMember", row.id)),
                   role=CommitteeRole(row.role), roles=[CommitteeRole(r) for r in row.roles],
                   stance=Stance(row.stance))


@strawberry.type(description="Result of committeeMemberAdd / Update / Remove.")
class CommitteeMemberPayload(GraphWrite):
    member: CommitteeMemberRef = strawberry.field(description="The membership.")


def _values(items: list[CommitteeRole] | None) -> list[str] | None:
    return None if items is None else [item.value for item in items]


async def committee_member_add(info: Info,
                               input: CommitteeMemberAddInput) -> CommitteeMemberPayload:
    row = await resolve.member_add(
        info.context, str(input.account_id), str(input.contact_id), input.role.value,
        _values(input.roles) or [], None if input.stance is None else input.stance.value,
        None if input.opportunity_id is None else str(input.opportunity_id), input.valid_from)
    return CommitteeMemberPayload(member=CommitteeMemberRef.of(row))


async def committee_member_update(info: Info,
                                  input: CommitteeMemberUpdateInput) -> CommitteeMemberPayload:
    row = await resolve.member_update(
        info.context, str(input.member_id), None if input.role is None else input.role.value,
        _values(input.roles), None if input.stance is None else input.stance.value)
    return CommitteeMemberPayload(member=CommitteeMemberRef.of(row))


async def committee_member_remove(info: Info,
                                  input: CommitteeMemberRemoveInput) -> CommitteeMemberPayload:
    row = await resolve.member_remove(info.context, str(input.member_id))
    return CommitteeMemberPayload(member=CommitteeMemberRef.of(row))


@strawberry.type(description="Committee writes.")
class DecisionMutations:
    committee_member_add = strawberry.mutation(
        resolver=committee_member_add, description="Put a person on a buying committee.",
        extensions=[*guard("relationship:write", audit_as="committee.add"), Settle()])
    committee_member_update = strawberry.mutation(
        resolver=committee_member_update, description="Change a committee membership.",
        extensions=[*guard("relationship:write", audit_as="committee.update"), Settle()])
    committee_member_remove = strawberry.mutation(
        resolver=committee_member_remove, description="Take a person off a committee.",
        extensions=[*guard("relationship:write", audit_as="committee.remove"), Settle()])
