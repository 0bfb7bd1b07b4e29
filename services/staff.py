"""Our staff as other records name them (assignees, escalation targets)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from relational.ledger import Reader
from relational.repositories import inbox as repo


async def display_names(read: Reader, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    async with read() as session:
        found = await repo.users(session, list(ids))
    return {key: user.display_name for key, user in found.items()}
