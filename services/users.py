"""Roles and users: built-in roles kept current, demo users for the demo dataset only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from auth import secrets as tokens
from auth.actor import Actor, Clearance
from auth.roles import BUILTIN_ROLES, widest
from relational.identity_models import Department, Role, User
from relational.repositories import identity as repo
from relational.uow import UnitOfWork
from services import validation as check
from services.errors import Conflict

DEMO_PASSWORD = "Demo#2026"  # noqa: S105 - documented demo credential, seeded by the demo only


async def ensure_builtin_roles(uow: UnitOfWork) -> None:
    for spec in BUILTIN_ROLES:
        await repo.upsert_role(uow.session, Role(
            name=spec.name, description=spec.description, permissions=list(spec.permissions),
            data_scope=spec.scope.value, builtin=True))


async def create_user(
    uow: UnitOfWork, username: str, password: str, *, display_name: str, roles: Sequence[str],
    clearance: Clearance, departments: Sequence[uuid.UUID] = (), regions: Sequence[str] = (),
) -> User:
    name = check.text(username, "username", max_length=64)
    if await repo.user_by_name(uow.session, name) is not None:
        raise Conflict("this username is taken", field="username")
    user = User(id=uuid.uuid4(), username=name, display_name=display_name,
                password_hash=tokens.hash_password(password), clearance=clearance.name,
                roles=list(roles), department_ids=list(departments), regions=list(regions))
    uow.session.add(user)
    await uow.session.flush()
    uow.audit("user.create", [str(user.id)], after={
        "username": name, "roles": list(roles), "clearance": clearance.name,
        "regions": list(regions)})
    return user


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
    specs = [spec for spec in BUILTIN_ROLES if spec.name in user.roles]
    return Actor(kind="user", user_id=user.id, username=user.username, roles=tuple(user.roles),
                 permissions=frozenset(p for spec in specs for p in spec.permissions),
                 scope=widest([spec.scope for spec in specs]),
                 clearance=Clearance[user.clearance], department_ids=tuple(user.department_ids),
                 regions=tuple(user.regions),
                 home_department=user.department_ids[0] if user.department_ids else None)
