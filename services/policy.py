"""Object-level decisions called by services; refusals are audited before they are raised."""

from __future__ import annotations

from auth.actor import Actor
from relational.uow import UnitOfWork
from services.errors import DomainError, ErrorCode, Forbidden


class Unauthenticated(DomainError):
    code = ErrorCode.UNAUTHENTICATED


async def require(uow: UnitOfWork, actor: Actor, permission: str, operation: str) -> None:
    """Refuse unless `actor` holds `permission`; the refusal is committed to the audit log."""
    if actor.can(permission):
        return
    uow.audit("denied", [], after={"operation": operation, "permission": permission})
    await uow.commit()
    if not actor.authenticated:
        raise Unauthenticated("log in first")
    raise Forbidden(f"`{permission}` is required")
