"""One of our staff users, as deals, tickets, interactions and maps name them."""

from __future__ import annotations

import uuid

import strawberry

from resolvers import staff as resolve
from resolvers.context import Context
from resolvers.ids import to_global_id

Info = strawberry.Info[Context, None]


@strawberry.type(description="One of our staff users (a colleague).")
class Staff:
    id: strawberry.ID = strawberry.field(description="Global id of the User.")
    user_id: strawberry.Private[uuid.UUID]

    @classmethod
    def of(cls, user_id: uuid.UUID) -> Staff:
        return cls(id=strawberry.ID(to_global_id("User", user_id)), user_id=user_id)

    @classmethod
    def maybe(cls, user_id: uuid.UUID | None) -> Staff | None:
        return None if user_id is None else cls.of(user_id)

    @strawberry.field(description="Display name; null for a user no longer active.")
    async def name(self, info: Info) -> str | None:
        return await resolve.name(info.context, self.user_id)

    @strawberry.field(description="Login name.")
    async def username(self, info: Info) -> str | None:
        found = await resolve.record(info.context, self.user_id)
        return None if found is None else found.username

    @strawberry.field(description="Shown name, also of a user no longer active.")
    async def display_name(self, info: Info) -> str | None:
        found = await resolve.record(info.context, self.user_id)
        return None if found is None else found.display_name
