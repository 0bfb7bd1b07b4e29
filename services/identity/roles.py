"""Role administration: admins define roles beyond the built-in ones, and may restrict any
role to client networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from auth.actor import Actor, DataScope
from auth.roles import PERMISSIONS
from relational.identity_models import Role
from relational.repositories import identity as repo
from relational.uow import UnitOfWork
from services import validation as check
from services.errors import BadUserInput, Forbidden


@dataclass(frozen=True)
class RoleRecord:
    name: str
    description: str
    permissions: tuple[str, ...]
    data_scope: DataScope
    ip_allowlist: tuple[str, ...]
    builtin: bool

    @classmethod
    def of(cls, row: Role) -> RoleRecord:
        return cls(name=row.name, description=row.description,
                   permissions=tuple(row.permissions), data_scope=DataScope(row.data_scope),
                   ip_allowlist=tuple(row.ip_allowlist), builtin=row.builtin)


@dataclass(frozen=True)
class RoleDraft:
    name: str
    description: str
    permissions: Sequence[str]
    data_scope: DataScope
    ip_allowlist: Sequence[str] = ()


def _networks(values: Sequence[str]) -> list[str]:
    try:
        return [str(ipaddress.ip_network(value.strip(), strict=False)) for value in values]
    except ValueError as error:
        raise BadUserInput(f"`ipAllowlist`: {error}", field="ipAllowlist") from error


async def upsert(uow: UnitOfWork, actor: Actor, draft: RoleDraft) -> RoleRecord:
    name = check.text(draft.name, "name", max_length=64)
    unknown = sorted(set(draft.permissions) - set(PERMISSIONS))
    if unknown:
        raise BadUserInput(f"unknown permissions: {', '.join(unknown)}", field="permissions")
    role = await repo.role_for_update(uow.session, name)
    before = None if role is None else _view(role)
    if role is None:
        role = Role(name=name, builtin=False)
        uow.session.add(role)
    elif role.builtin and (set(draft.permissions) != set(role.permissions)
                           or draft.data_scope.value != role.data_scope):
        raise Forbidden("built-in roles keep their permissions and scope; only their address "
                        "allowlist can change", field="name")
    role.description = check.text(draft.description, "description", max_length=200,
                                  required=False)
    role.permissions = sorted(set(draft.permissions))
    role.data_scope = draft.data_scope.value
    role.ip_allowlist = _networks(draft.ip_allowlist)
    await uow.session.flush()
    uow.audit("role.upsert", [name], before=before, after=_view(role))
    return RoleRecord.of(role)


def _view(role: Role) -> dict[str, object]:
    return {"permissions": list(role.permissions), "dataScope": role.data_scope,
            "ipAllowlist": list(role.ip_allowlist)}


def applies_from(role: Role, ip: str | None) -> bool:
    """Whether the role's permissions apply to a request from `ip`."""
    if not role.ip_allowlist:
        return True
    if ip is None:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in role.ip_allowlist)
