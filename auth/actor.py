"""Who is asking: the identity every service call is made on behalf of."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum


class Clearance(IntEnum):
    """公开 < 内部 < 秘密 < 机密; records and fields above a user's clearance are not shown."""

    PUBLIC = 0
    INTERNAL = 1
    SECRET = 2
    CONFIDENTIAL = 3


class DataScope(StrEnum):
    OWN = "OWN"
    DEPARTMENT = "DEPARTMENT"
    REGION = "REGION"
    ALL = "ALL"


@dataclass(frozen=True)
class Actor:
    kind: str  # "user", "api_token" or "anonymous"
    user_id: uuid.UUID | None = None
    username: str | None = None
    roles: tuple[str, ...] = ()
    permissions: frozenset[str] = field(default_factory=frozenset)
    scope: DataScope = DataScope.OWN
    clearance: Clearance = Clearance.PUBLIC
    department_ids: tuple[uuid.UUID, ...] = ()
    regions: tuple[str, ...] = ()
    session_id: uuid.UUID | None = None
    home_department: uuid.UUID | None = None
    # The session raised a security event: protected fields stay closed until it passes a
    # second factor (services/step_up.py).
    step_up_required: bool = False

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    @property
    def label(self) -> str:
        """How audit records name the actor."""
        if self.kind == "api_token":
            return f"token:{self.username}"
        return self.username or "anonymous"


ANONYMOUS = Actor(kind="anonymous")
