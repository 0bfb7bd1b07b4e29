"""Record-level decisions called by services: which rows an actor may see (data scope ×
clearance), and permissions that depend on an argument (filtering or ordering by a protected
field). Whether an actor may call a field at all is declared on the schema (`Guard`)."""

from __future__ import annotations

from auth.actor import Actor, DataScope
from relational.repositories.visibility import Visibility
from services.errors import Forbidden, Unauthenticated


def check(actor: Actor, permission: str) -> None:
    """Refuse an argument that needs `permission` (e.g. searching by a protected field)."""
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
