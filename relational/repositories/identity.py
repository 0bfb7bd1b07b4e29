"""Users, roles, departments, tokens and second factors."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from relational.identity_models import (
    ApiToken,
    Department,
    RefreshToken,
    Role,
    SessionStepUp,
    StepUpChallenge,
    TotpCredential,
    User,
)


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


async def family_state(session: AsyncSession, family_id: uuid.UUID,
                       now: datetime) -> tuple[bool, bool]:
    """(the session is live, it is pending step-up) in one round trip: every request asks."""
    live = select(func.count()).select_from(RefreshToken).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > now).scalar_subquery()
    pending = select(SessionStepUp.session_id).where(
        SessionStepUp.session_id == family_id, SessionStepUp.verified_at.is_(None)).exists()
    row = (await session.execute(select(live > 0, pending))).one()
    return bool(row[0]), bool(row[1])


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


async def require_step_up(session: AsyncSession, session_id: uuid.UUID, user_id: uuid.UUID,
                          reason: str, now: datetime) -> None:
    """Mark the login session pending step-up (again, if it had passed one before)."""
    values = {"session_id": session_id, "user_id": user_id, "reason": reason,
              "required_at": now, "verified_at": None}
    await session.execute(insert(SessionStepUp).values(values).on_conflict_do_update(
        index_elements=[SessionStepUp.session_id],
        set_={"reason": reason, "required_at": now, "verified_at": None}))


async def step_up_pending(session: AsyncSession, session_id: uuid.UUID) -> bool:
    statement = select(SessionStepUp.session_id).where(
        SessionStepUp.session_id == session_id, SessionStepUp.verified_at.is_(None))
    return (await session.scalar(statement)) is not None


async def clear_step_up(session: AsyncSession, session_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(SessionStepUp).where(
        SessionStepUp.session_id == session_id, SessionStepUp.verified_at.is_(None))
        .values(verified_at=now))


async def close_open_challenges(session: AsyncSession, session_id: uuid.UUID, outcome: str,
                                now: datetime) -> None:
    await session.execute(update(StepUpChallenge).where(
        StepUpChallenge.session_id == session_id, StepUpChallenge.closed_at.is_(None))
        .values(closed_at=now, outcome=outcome))


async def open_challenge(session: AsyncSession, session_id: uuid.UUID,
                         method: str) -> StepUpChallenge | None:
    """The session's newest open challenge of this method, locked (attempts are counted)."""
    statement = (select(StepUpChallenge)
                 .where(StepUpChallenge.session_id == session_id,
                        StepUpChallenge.method == method, StepUpChallenge.closed_at.is_(None))
                 .order_by(StepUpChallenge.created_at.desc()).limit(1).with_for_update())
    return (await session.scalars(statement)).one_or_none()


async def totp_credential(session: AsyncSession, user_id: uuid.UUID, *,
                          lock: bool = False) -> TotpCredential | None:
    statement = select(TotpCredential).where(TotpCredential.user_id == user_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.scalars(statement)).one_or_none()


async def totp_enabled(session: AsyncSession, user_id: uuid.UUID) -> bool:
    statement = select(TotpCredential.user_id).where(
        TotpCredential.user_id == user_id, TotpCredential.confirmed_at.is_not(None))
    return (await session.scalar(statement)) is not None


async def lock_stale_envelopes(
    session: AsyncSession, prefix: str
) -> tuple[list[User], list[TotpCredential]]:
    """Users' phone envelopes and TOTP secrets not under the key `prefix` names (few rows:
    one batch)."""
    users = await session.scalars(
        select(User).where(User.phone_envelope.is_not(None),
                           ~User.phone_envelope.startswith(prefix))
        .with_for_update(skip_locked=True))
    secrets = await session.scalars(
        select(TotpCredential).where(~TotpCredential.secret_envelope.startswith(prefix))
        .with_for_update(skip_locked=True))
    return list(users.all()), list(secrets.all())


async def envelope_versions(session: AsyncSession) -> dict[str, dict[str, int]]:
    """Envelopes per key version ("v1": n, …) of users' phones and TOTP secrets."""
    result: dict[str, dict[str, int]] = {}
    for name, column in (("user phone", User.phone_envelope),
                         ("totp secret", TotpCredential.secret_envelope)):
        version = func.split_part(column, ":", 2)
        rows = await session.execute(
            select(version, func.count()).where(column.is_not(None)).group_by(version))
        result[name] = {str(key): int(number) for key, number in rows}
    return result


async def api_token_by_id(session: AsyncSession, token_id: uuid.UUID) -> ApiToken | None:
    """An unrevoked API token by id (the owner of a webhook endpoint)."""
    statement = select(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
    return (await session.scalars(statement)).one_or_none()
