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


@dataclass(frozen=True)
class RecordScope:
    """Who may see one record, as of an event: the columns `visibility` filters on."""

    owner_id: object | None
    department_id: object | None
    region: str
    level: int  # the record's classification (a contact: the higher of it and its account's)


def sees(actor: Actor, scope: RecordScope) -> bool:
    """`visibility(actor)` applied to one record in memory (the streams decide per event and
    subscriber without a query); tests/test_subscription_scope.py holds it to the SQL."""
    seen = visibility(actor)
    if seen.nothing or scope.level > seen.max_level:
        return False
    return (seen.everything or (seen.owner_id is not None and scope.owner_id == seen.owner_id)
            or scope.department_id in seen.department_ids or scope.region in seen.regions)
