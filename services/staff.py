"""Our staff as other records name them: deal owners, assignees, escalation targets, the people
of interactions and decision maps. One service, one DataLoader pair, one GraphQL type."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from relational.ledger import Reader
from relational.repositories import inbox as repo
from relational.repositories import relationships as relationship_repo


@dataclass(frozen=True)
class StaffRecord:
    id: uuid.UUID
    username: str
    display_name: str
    active: bool


async def records(read: Reader, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, StaffRecord]:
    """Names every signed-in colleague may see, active or not."""
    async with read() as session:
        found = await repo.users(session, list(ids))
    return {key: StaffRecord(key, user.username, user.display_name, user.active)
            for key, user in found.items()}


async def display_names(read: Reader, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names of the active ones (a deactivated user shows no name)."""
    async with read() as session:
        return await relationship_repo.active_users(session, list(ids))
