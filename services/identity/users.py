"""Roles and users: built-in roles kept current, demo users for the demo dataset only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from auth import secrets as tokens
from auth.actor import Actor, Clearance
from auth.field_cipher import FieldCipher
from auth.roles import BUILTIN_ROLES
from relational.identity_models import Department, Role, User
from relational.repositories import identity as repo
from relational.uow import UnitOfWork
from services import validation as check
from services import vocabulary
from services.contact_fields import phone as valid_phone
from services.errors import BadUserInput, Conflict, Forbidden, NotFound
from services.identity import departments as departments_service
from services.identity.sessions import actor_of


@dataclass(frozen=True)
class UserRecord:
    """A user as administration use cases hand it out (never the ledger row)."""

    id: uuid.UUID
    username: str
    display_name: str
    roles: tuple[str, ...]
    clearance: Clearance
    regions: tuple[str, ...]
    active: bool
    has_phone: bool

    @classmethod
    def of(cls, row: User) -> UserRecord:
        return cls(id=row.id, username=row.username, display_name=row.display_name,
                   roles=tuple(row.roles), clearance=Clearance[row.clearance],
                   regions=tuple(row.regions), active=row.active,
                   has_phone=row.phone_envelope is not None)

PHONE_FIELD = "phone"  # the field name bound into a user's phone envelope
DEMO_PASSWORD = "Demo#2026"  # noqa: S105 - documented demo credential, seeded by the demo only


async def ensure_builtin_roles(uow: UnitOfWork) -> None:
    for spec in BUILTIN_ROLES:
        await repo.upsert_role(uow.session, Role(
            name=spec.name, description=spec.description, permissions=list(spec.permissions),
            data_scope=spec.scope.value, builtin=True))


async def create_user(
    uow: UnitOfWork, username: str, password: str, *, display_name: str, roles: Sequence[str],
    clearance: Clearance, departments: Sequence[uuid.UUID] = (), regions: Sequence[str] = (),
    phone: str | None = None, cipher: FieldCipher | None = None,
) -> User:
    name = check.text(username, "username", max_length=64)
    if await repo.user_by_name(uow.session, name) is not None:
        raise Conflict("this username is taken", field="username")
    user = User(id=uuid.uuid4(), username=name, display_name=display_name,
                password_hash=tokens.hash_password(password), clearance=clearance.name,
                roles=list(roles), department_ids=list(departments), regions=list(regions))
    if phone and cipher is not None:
        _set_phone(user, cipher, phone)
    uow.session.add(user)
    await uow.session.flush()
    uow.audit("user.create", [str(user.id)], after={
        "username": name, "roles": list(roles), "clearance": clearance.name,
        "regions": list(regions), "hasPhone": user.phone_envelope is not None})
    return user


def _set_phone(user: User, cipher: FieldCipher, phone: str) -> None:
    """The number step-up SMS codes go to; an SM4 envelope bound to the user."""
    cleaned = valid_phone(phone)
    user.phone_envelope = None if cleaned is None else cipher.encrypt(user.id, PHONE_FIELD, cleaned)


def phone_of(cipher: FieldCipher, user: User) -> str | None:
    if user.phone_envelope is None:
        return None
    return cipher.open(user.id, PHONE_FIELD, user.phone_envelope)


@dataclass(frozen=True)
class DemoDepartments:
    head_office: uuid.UUID
    east: uuid.UUID
    north: uuid.UUID


async def _demo_departments(uow: UnitOfWork) -> DemoDepartments:
    head, east, north = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    uow.session.add(Department(id=head, name="总部"))
    await uow.session.flush()
    uow.session.add_all([Department(id=east, name="华东销售部", parent_id=head),
                         Department(id=north, name="华北销售部", parent_id=head)])
    await uow.session.flush()
    return DemoDepartments(head, east, north)


async def seed_demo_users(uow: UnitOfWork) -> dict[str, User]:
    """One user per role, all with the password `Demo#2026` (README)."""
    await ensure_builtin_roles(uow)
    depts = await _demo_departments(uow)
    people: tuple[tuple[str, str, list[str], Clearance, list[uuid.UUID], list[str]], ...] = (
        ("admin", "系统管理员", ["admin"], Clearance.CONFIDENTIAL, [depts.head_office], []),
        ("manager.east", "华东销售主管", ["manager"], Clearance.SECRET, [depts.east], ["华东"]),
        ("sales.east", "华东业务员", ["sales"], Clearance.INTERNAL, [depts.east], ["华东"]),
        ("sales.north", "华北业务员", ["sales"], Clearance.INTERNAL, [depts.north], ["华北"]),
        ("finance", "财务专员", ["finance"], Clearance.INTERNAL, [depts.head_office], []),
        ("service", "客服专员", ["service"], Clearance.INTERNAL, [depts.head_office],
         ["华东", "华北"]),
        ("auditor", "审计员", ["auditor"], Clearance.SECRET, [depts.head_office], []),
    )
    return {
        username: await create_user(uow, username, DEMO_PASSWORD, display_name=display,
                                    roles=roles, clearance=clearance, departments=departments,
                                    regions=regions)
        for username, display, roles, clearance, departments, regions in people
    }


def builtin_actor(user: User) -> Actor:
    """The actor of a user holding only built-in roles, without a database round trip (the
    demo seed acts as its users inside the transaction that creates them)."""
    return actor_of(user, [(spec.permissions, spec.scope) for spec in BUILTIN_ROLES
                           if spec.name in user.roles], user.department_ids)


@dataclass(frozen=True)
class UserChanges:
    """Fields to change; None leaves a field as it is."""

    roles: Sequence[str] | None = None
    departments: Sequence[uuid.UUID] | None = None
    regions: Sequence[str] | None = None
    clearance: Clearance | None = None
    active: bool | None = None
    password: str | None = None
    phone: str | None = None  # "" removes the phone number


async def _check_assignment(uow: UnitOfWork, actor: Actor, roles: Sequence[str],
                            clearance: Clearance) -> None:
    known = {role.name for role in await repo.roles(uow.session, roles)}
    if unknown := sorted(set(roles) - known):
        raise BadUserInput(f"unknown roles: {', '.join(unknown)}", field="roles")
    if clearance > actor.clearance:
        raise Forbidden("you cannot grant a clearance above your own", field="clearance")


def _password(value: str) -> str:
    if len(value) < 10 or value.isalpha() or value.isdigit():
        raise BadUserInput("`password` needs at least 10 characters, not only letters or "
                           "digits", field="password")
    return value


async def admin_create(uow: UnitOfWork, actor: Actor, username: str, password: str, *,
                       display_name: str, roles: Sequence[str], clearance: Clearance,
                       departments: Sequence[uuid.UUID] = (),
                       regions: Sequence[str] = (), phone: str | None = None,
                       cipher: FieldCipher | None = None) -> UserRecord:
    await _check_assignment(uow, actor, roles, clearance)
    await departments_service.require_existing(uow, departments)
    return UserRecord.of(await create_user(uow, username, _password(password),
                             display_name=check.text(display_name, "displayName",
                                                     max_length=100),
                             roles=roles, clearance=clearance, departments=departments,
                             regions=[check.choice(region, "regions", vocabulary.REGIONS)
                                      for region in regions], phone=phone, cipher=cipher))


async def admin_update(uow: UnitOfWork, actor: Actor, user_id: uuid.UUID,
                       changes: UserChanges, cipher: FieldCipher | None = None) -> UserRecord:
    user = await repo.user_by_id(uow.session, user_id)
    if user is None:
        raise NotFound("no user with this id", field="id")
    before = _user_view(user)
    roles = list(changes.roles) if changes.roles is not None else user.roles
    clearance = changes.clearance or Clearance[user.clearance]
    await _check_assignment(uow, actor, roles, clearance)
    user.roles, user.clearance = roles, clearance.name
    if changes.departments is not None:
        await departments_service.require_existing(uow, changes.departments)
        user.department_ids = list(changes.departments)
    if changes.regions is not None:
        user.regions = [check.choice(region, "regions", vocabulary.REGIONS)
                        for region in changes.regions]
    if changes.active is not None:
        user.active = changes.active
    if changes.password is not None:
        user.password_hash = tokens.hash_password(_password(changes.password))
    if changes.phone is not None and cipher is not None:
        _set_phone(user, cipher, changes.phone)
    if changes.active is False or changes.password is not None:
        await repo.revoke_all_sessions(uow.session, user.id)
    await uow.session.flush()
    uow.audit("user.update", [str(user.id)], before=before,
              after={**_user_view(user), "passwordChanged": changes.password is not None,
                     "phoneChanged": changes.phone is not None})
    return UserRecord.of(user)


def _user_view(user: User) -> dict[str, object]:
    return {"username": user.username, "roles": list(user.roles), "clearance": user.clearance,
            "regions": list(user.regions), "active": user.active,
            "departments": [str(value) for value in user.department_ids]}
