"""Record-level decisions called by services: which rows an actor may see (data scope ×
clearance), what reading, filtering or ordering by a protected field needs, and how a record
outside the caller's scope is refused. Whether an actor may call a field at all is declared on
the schema (`schema.directives.Guard`)."""

from __future__ import annotations

from dataclasses import dataclass

from auth.actor import Actor, Clearance, DataScope
from relational.repositories.visibility import Visibility
from services.errors import Forbidden, NotFound, Unauthenticated


def out_of_scope(message: str, *, field: str, operation: str, target_id: object) -> NotFound:
    """A record that exists but lies outside the actor's scope: the caller learns only what a
    missing id would tell (NOT_FOUND), the audit log records the attempt."""
    return NotFound(message, field=field).recorded(
        "denied", [str(target_id)], {"operation": operation, "reason": "outOfScope"})


@dataclass(frozen=True)
class FieldRule:
    """What reading a field needs: the @requires permission and the @classified level."""

    name: str
    permission: str | None = None
    level: Clearance | None = None


def may_read_field(actor: Actor, permission: str | None, level: Clearance | None) -> bool:
    """The one decision behind reading, filtering and ordering by a protected field."""
    cleared = level is None or actor.clearance >= level
    return cleared and (permission is None or actor.can(permission))


def check_field(actor: Actor, rule: FieldRule, *, argument: str, use: str) -> None:
    """Filtering or ordering by a field tells about its values: refuse it unless the actor
    may read the field."""
    if may_read_field(actor, rule.permission, rule.level):
        return
    if not actor.authenticated:
        raise Unauthenticated("log in first")
    need = f"`{rule.permission}`" if rule.permission else ""
    if rule.level is not None and actor.clearance < rule.level:
        need = f"clearance {rule.level.name}"
    raise Forbidden(f"{use} `{rule.name}` needs {need}", field=argument)


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


def amount_visible(actor: Actor, owner_id: object, department_id: object) -> bool:
    """Deal amounts: finance and admins (`amount:read` with scope ALL), the deal's owner, and
    the owner's management chain (a DEPARTMENT-scope reader whose subtree holds the owner's
    department); everyone else who may see the deal sees the amount masked."""
    if not actor.authenticated or not actor.can("amount:read"):
        return False
    if actor.scope is DataScope.ALL or (owner_id is not None and owner_id == actor.user_id):
        return True
    return actor.scope is DataScope.DEPARTMENT and department_id in actor.department_ids


def may_approve_quote(actor: Actor, *, author_id: object, owner_id: object,
                      department_id: object, needs_manager: bool) -> str | None:
    """Why the actor may not approve or reject a quote, or None when they may. Above the
    discount threshold: a manager above the owner in the department tree (their subtree holds
    the owner's department) or an admin, never the quote's author or the deal's owner; below
    it: the owner (or anyone who could approve above it)."""
    above = actor.can("quote:approve") and (
        actor.scope is DataScope.ALL
        or (actor.scope is DataScope.DEPARTMENT and department_id in actor.department_ids))
    mine = actor.user_id is not None and actor.user_id in (author_id, owner_id)
    if needs_manager:
        if mine:
            return "a discount above the threshold cannot be approved by its own salesperson"
        return None if above else ("a discount above the threshold needs a manager above the "
                                   "owner in the department tree")
    return None if mine or above else "only the deal's owner or their manager may approve"
@dataclass(frozen=True)
class RecordScope:
    """Who may see one record, as of an event: the columns `visibility` filters on."""

    owner_id: object | None
    department_id: object | None
    region: str | None  # None: not reachable by region (a deal seen through its owner)
    level: int  # the record's classification (a contact: the higher of it and its account's)


def sees(actor: Actor, scope: RecordScope) -> bool:
    """`visibility(actor)` applied to one record in memory (the streams decide per event and
    subscriber without a query); tests/test_subscription_scope.py holds it to the SQL."""
    seen = visibility(actor)
    if seen.nothing or scope.level > seen.max_level:
        return False
    return (seen.everything or (seen.owner_id is not None and scope.owner_id == seen.owner_id)
            or scope.department_id in seen.department_ids
            or (scope.region is not None and scope.region in seen.regions))
