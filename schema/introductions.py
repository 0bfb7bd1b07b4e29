"""Introduction paths: who on our staff can reach a contact, and through whom."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from resolvers import decisions as resolve
from resolvers.ids import to_global_id
from schema.accounts import Info
from schema.decisions import DecisionMapNodeKind
from schema.directives import guard
from services.introductions import IntroductionPath as PathRecord
from services.vocabulary import RelationshipKind


@strawberry.type(description="A person on an introduction path.")
class PathNode:
    id: strawberry.ID = strawberry.field(description="Global id (a User, then Contacts).")
    kind: DecisionMapNodeKind = strawberry.field(description="STAFF or CONTACT.")
    name: str | None = strawberry.field(description="Name.")


@strawberry.type(description="A step of an introduction path, in the path's order.")
class PathEdge:
    from_id: strawberry.ID = strawberry.field(description="Where the step starts.")
    to_id: strawberry.ID = strawberry.field(description="Where it ends.")
    kind: RelationshipKind = strawberry.field(description="The tie walked (either direction).")
    strength: float = strawberry.field(description="KNOWS strength or tie weight, in [0, 1].")


@strawberry.type(description="A way to be introduced to a contact.")
class IntroductionPath:
    strength: float = strawberry.field(description="Product of the strengths along the path.")
    nodes: list[PathNode] = strawberry.field(description="From our staff user to the contact.")
    edges: list[PathEdge] = strawberry.field(description="The ties between the nodes.")

    @classmethod
    def of(cls, path: PathRecord) -> IntroductionPath:
        def gid(kind: str, raw: object) -> strawberry.ID:
            return strawberry.ID(to_global_id("User" if kind == "STAFF" else "Contact", str(raw)))

        kinds = {step.id: step.kind for step in path.nodes}
        return cls(strength=path.strength,
                   nodes=[PathNode(id=gid(step.kind, step.id),
                                   kind=DecisionMapNodeKind(step.kind), name=step.name)
                          for step in path.nodes],
                   edges=[PathEdge(from_id=gid(kinds[hop.from_id], hop.from_id),
                                   to_id=gid(kinds[hop.to_id], hop.to_id),
                                   kind=RelationshipKind(hop.kind), strength=hop.strength)
                          for hop in path.edges])


@strawberry.type(description="Relationship graph reads.")
class DecisionQueries:
    @strawberry.field(description="The strongest ways from you (or `from`, a staff user) to a "
                                  "contact: a KNOWS edge, then ties in either direction; "
                                  "never through a person you may not see.",
                      extensions=guard("relationship:read"))
    async def introduction_paths(
        self, info: Info,
        to: Annotated[strawberry.ID, strawberry.argument(description="The contact.")],
        from_: Annotated[strawberry.ID | None, strawberry.argument(
            name="from", description="The staff user (a User id); you if omitted.")] = None,
        max_hops: Annotated[int | None, strawberry.argument(
            description="Edges per path, 1 to 4.")] = 3,
        first: Annotated[int | None, strawberry.argument(
            description="Paths, 1 to 10.")] = 10,
        as_of: Annotated[date | None, strawberry.argument(
            description="Ties valid on this day; today if omitted.")] = None,
    ) -> list[IntroductionPath]:
        found = await resolve.introduction_paths(
            info.context, str(to), None if from_ is None else str(from_), max_hops, first,
            as_of)
        return [IntroductionPath.of(path) for path in found]
