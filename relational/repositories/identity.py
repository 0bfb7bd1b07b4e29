"""Users, roles, departments and tokens."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from relational.identity_models import ApiToken, Department, RefreshToken, Role, User


async def user_by_name(session: AsyncSession, username: str, *, lock: bool = False) -> User | None:
    statement = select(User).where(User.username == username)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def user_by_id(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await session.get(User, user_id)


async def roles(session: AsyncSession, names: Sequence[str]) -> list[Role]:
    return list((await session.scalars(select(Role).where(Role.name.in_(list(names))))).all())


async def upsert_role(session: AsyncSession, role: Role) -> None:
    # An upsert keeps the role's address allowlist: it is the admins' setting, not the code's.
    values = {"name": role.name, "description": role.description,
              "permissions": role.permissions, "data_scope": role.data_scope,
              "builtin": role.builtin}
    statement = insert(Role).values(values).on_conflict_do_update(
        index_elements=[Role.name], set_={k: v for k, v in values.items() if k != "name"})
    await session.execute(statement)


async def department_subtree(
    session: AsyncSession, roots: Sequence[uuid.UUID]
) -> list[uuid.UUID]:
    """The given departments and every department below them."""
    if not roots:
        return []
    tree = select(Department.id).where(Department.id.in_(list(roots))).cte(
        "tree", recursive=True)
    tree = tree.union(select(Department.id).where(Department.parent_id == tree.c.id))
    return list((await session.scalars(select(tree.c.id))).all())


async def refresh_token(
    session: AsyncSession, digest: str, *, lock: bool = True
) -> RefreshToken | None:
    statement = select(RefreshToken).where(RefreshToken.token_hash == digest)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken).where(RefreshToken.family_id == family_id,
                                   RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now()))


async def family_active(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> bool:
    statement = select(func.count()).select_from(RefreshToken).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now)
    return bool(await session.scalar(statement))


async def api_token(session: AsyncSession, digest: str) -> ApiToken | None:
    statement = select(ApiToken).where(ApiToken.token_hash == digest,
                                       ApiToken.revoked_at.is_(None))
    return (await session.scalars(statement)).one_or_none()


async def api_token_active(session: AsyncSession, digest: str) -> bool:
    """Whether an unrevoked API token has this hash (the unique index on the hash answers)."""
    statement = select(ApiToken.id).where(ApiToken.token_hash == digest,
                                          ApiToken.revoked_at.is_(None)).limit(1)
    return (await session.scalar(statement)) is not None


async def touch_api_token(session: AsyncSession, token_id: uuid.UUID) -> None:
    await session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=func.now()))


async def api_tokens(session: AsyncSession) -> list[ApiToken]:
    statement = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id)
    return list((await session.scalars(statement)).all())


async def api_token_for_update(session: AsyncSession, token_id: uuid.UUID) -> ApiToken | None:
    statement = select(ApiToken).where(ApiToken.id == token_id).with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def role_for_update(session: AsyncSession, name: str) -> Role | None:
    return (await session.scalars(select(Role).where(Role.name == name).with_for_update())
            ).one_or_none()


async def revoke_all_sessions(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken).where(RefreshToken.user_id == user_id,
                                   RefreshToken.revoked_at.is_(None))
        .values(revoked_at=func.now()))


async def departments(session: AsyncSession) -> list[Department]:
    return list((await session.scalars(select(Department).order_by(Department.name))).all())


async def department_ids_exist(session: AsyncSession, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not ids:
        return set()
    rows = await session.scalars(select(Department.id).where(Department.id.in_(list(ids))))
    return set(rows)
