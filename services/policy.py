"""Object-level decisions called by services; refusals are audited before they are raised."""

from __future__ import annotations

from auth.actor import Actor, DataScope
from relational.repositories.visibility import Visibility
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


def check(actor: Actor, permission: str) -> None:
    """For reads: refuse without `permission` (reads leave no audit record of the refusal)."""
    if actor.can(permission):
        return
    if not actor.authenticated:
        raise Unauthenticated("log in first")
    raise Forbidden(f"`{permission}` is required")


def visibility(actor: Actor) -> Visibility:
    """Role × data scope × clearance, as the rows the actor may see. Owners always see their
    own records; a wider scope adds the department subtree, the regions, or everything."""
    if not actor.authenticated:
        return Visibility()
    scope = actor.scope
    return Visibility(
        everything=scope is DataScope.ALL,
        owner_id=actor.user_id,
        department_ids=actor.department_ids if scope is DataScope.DEPARTMENT else (),
        regions=actor.regions if scope is DataScope.REGION else (),
        max_level=int(actor.clearance),
    )
