"""Identity types: sessions, the current user, API tokens, user / role / department
administration, step-up verification."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay

from auth.actor import Actor, Clearance, DataScope
from resolvers import identity as resolve
from resolvers.ids import to_global_id
from schema.accounts import Info
from schema.directives import ClassificationLevel
from services.identity.api_tokens import ApiTokenRecord
from services.identity.departments import DepartmentRecord
from services.identity.roles import RoleDraft
from services.identity.sessions import Session
from services.identity.step_up import StepUpMethod
from services.identity.users import UserChanges, UserRecord


@strawberry.type(description="The signed-in user (or integrator) and what they may do.")
class Me:
    id: strawberry.ID = strawberry.field(description="Global id of the user.")
    username: str = strawberry.field(description="Login name (or the API token's name).")
    kind: str = strawberry.field(description="`user` or `api_token`.")
    roles: list[str] = strawberry.field(description="Role names.")
    permissions: list[str] = strawberry.field(description="Effective permissions.")
    data_scope: str = strawberry.field(description="OWN, DEPARTMENT, REGION or ALL.")
    clearance: str = strawberry.field(description="PUBLIC, INTERNAL, SECRET or CONFIDENTIAL.")
    regions: list[str] = strawberry.field(description="Sales regions.")
    step_up_required: bool = strawberry.field(
        description="This session must pass stepUpStart / stepUpVerify before it reads "
                    "protected fields (after a login from a new address or a read burst).")

    @strawberry.field(description="An authenticator app (TOTP) is enrolled and confirmed.")
    async def totp_enabled(self, info: Info) -> bool:
        return await resolve.totp_enabled(info.context)

    @classmethod
    def of(cls, actor: Actor) -> Me:
        return cls(id=strawberry.ID(to_global_id("User", actor.user_id or "")),
                   username=actor.username or "", kind=actor.kind, roles=list(actor.roles),
                   permissions=sorted(actor.permissions), data_scope=actor.scope.value,
                   clearance=actor.clearance.name, regions=list(actor.regions),
                   step_up_required=actor.step_up_required)


@strawberry.type(description="Tokens of a new session.")
class LoginPayload:
    access_token: str = strawberry.field(description="Bearer token, valid for minutes.")
    refresh_token: str = strawberry.field(
        description="Single-use: exchange it with tokenRefresh for a new pair.")
    expires_at: datetime = strawberry.field(description="When the access token expires.")

    @classmethod
    def of(cls, session: Session) -> LoginPayload:
        return cls(access_token=session.access_token, refresh_token=session.refresh_token,
                   expires_at=session.expires_at)


@strawberry.type(description="Result of logout.")
class LogoutPayload:
    ok: bool = strawberry.field(description="The session is revoked.")


@strawberry.type(description="An integrator's API token (the secret itself is never shown "
                             "again).")
class ApiToken(relay.Node):
    id: relay.NodeID[str]
    name: str = strawberry.field(description="What the token is for.")
    prefix: str = strawberry.field(description="First characters, to recognise it.")
    permissions: list[str] = strawberry.field(description="What the token may do.")
    created_at: datetime = strawberry.field(description="Created (UTC).")
    last_used_at: datetime | None = strawberry.field(description="Last request made with it.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked.")

    @classmethod
    def from_row(cls, row: ApiTokenRecord) -> ApiToken:
        return cls(id=str(row.id), name=row.name, prefix=row.prefix,
                   permissions=list(row.permissions), created_at=row.created_at,
                   last_used_at=row.last_used_at, revoked_at=row.revoked_at)


@strawberry.type(description="Result of apiTokenCreate.")
class ApiTokenCreatePayload:
    api_token: ApiToken = strawberry.field(description="The token's record.")
    secret: str = strawberry.field(description="The bearer secret, shown this once only.")


@strawberry.type(description="Result of apiTokenRevoke.")
class ApiTokenRevokePayload:
    api_token: ApiToken = strawberry.field(description="The revoked token.")


@strawberry.input(description="Credentials.")
class LoginInput:
    username: str = strawberry.field(description="Login name.")
    password: str = strawberry.field(description="Password.")


@strawberry.input(description="A refresh token to exchange.")
class TokenRefreshInput:
    refresh_token: str = strawberry.field(description="The refresh token from login.")


@strawberry.input(description="A new API token.")
class ApiTokenCreateInput:
    name: str = strawberry.field(description="What the token is for.")
    permissions: list[str] = strawberry.field(description="Permissions it is limited to.")


@strawberry.input(description="Revoke an API token.")
class ApiTokenRevokeInput:
    id: strawberry.ID = strawberry.field(description="The token.")


async def login(info: Info, input: LoginInput) -> LoginPayload:
    return LoginPayload.of(await resolve.login(info.context, input.username, input.password))


async def token_refresh(info: Info, input: TokenRefreshInput) -> LoginPayload:
    return LoginPayload.of(await resolve.refresh(info.context, input.refresh_token))


async def logout(info: Info) -> LogoutPayload:
    await resolve.logout(info.context)
    return LogoutPayload(ok=True)


async def api_token_create(info: Info, input: ApiTokenCreateInput) -> ApiTokenCreatePayload:
    issued = await resolve.create_api_token(info.context, input.name, input.permissions)
    return ApiTokenCreatePayload(api_token=ApiToken.from_row(issued.token), secret=issued.secret)


async def api_token_revoke(info: Info, input: ApiTokenRevokeInput) -> ApiTokenRevokePayload:
    row = await resolve.revoke_api_token(info.context, str(input.id))
    return ApiTokenRevokePayload(api_token=ApiToken.from_row(row))


async def me(info: Info) -> Me | None:
    actor = await info.context.actor()
    return Me.of(actor) if actor.authenticated else None


async def api_tokens(info: Info) -> list[ApiToken]:
    return [ApiToken.from_row(row) for row in await resolve.list_api_tokens(info.context)]


@strawberry.enum(name="DataScope", description="Which records a role reaches.")
class DataScopeEnum(Enum):
    OWN = "OWN"
    DEPARTMENT = "DEPARTMENT"
    REGION = "REGION"
    ALL = "ALL"


@strawberry.type(description="A named permission set with a data scope.")
class RoleType:
    name: str = strawberry.field(description="Role name.")
    description: str = strawberry.field(description="What it is for.")
    permissions: list[str] = strawberry.field(description="Permissions granted.")
    data_scope: DataScopeEnum = strawberry.field(description="Records reached.")
    ip_allowlist: list[str] = strawberry.field(
        description="Networks the role applies from; empty: any.")
    builtin: bool = strawberry.field(description="Built-in roles keep permissions and scope.")


@strawberry.input(description="Create or change a role (admins).")
class RoleUpsertInput:
    name: str = strawberry.field(description="Role name.")
    description: str = strawberry.field(default="", description="What it is for.")
    permissions: list[str] = strawberry.field(description="Permissions granted.")
    data_scope: DataScopeEnum = strawberry.field(description="Records reached.")
    ip_allowlist: list[str] = strawberry.field(
        default_factory=list, description="CIDRs the role applies from; empty: any.")


@strawberry.type(description="Result of roleUpsert.")
class RoleUpsertPayload:
    role: RoleType = strawberry.field(description="The role after the change.")


async def role_upsert(info: Info, input: RoleUpsertInput) -> RoleUpsertPayload:
    row = await resolve.upsert(info.context, RoleDraft(
        name=input.name, description=input.description, permissions=input.permissions,
        data_scope=DataScope(input.data_scope.value), ip_allowlist=input.ip_allowlist))
    return RoleUpsertPayload(role=RoleType(
        name=row.name, description=row.description, permissions=list(row.permissions),
        data_scope=DataScopeEnum(row.data_scope.value), ip_allowlist=list(row.ip_allowlist),
        builtin=row.builtin))


@strawberry.type(description="A user account (administration view).")
class UserType:
    id: strawberry.ID = strawberry.field(description="Global id.")
    username: str = strawberry.field(description="Login name.")
    display_name: str = strawberry.field(description="Shown name.")
    roles: list[str] = strawberry.field(description="Role names.")
    clearance: ClassificationLevel = strawberry.field(description="Clearance.")
    regions: list[str] = strawberry.field(description="Sales regions.")
    active: bool = strawberry.field(description="Inactive users cannot sign in.")
    has_phone: bool = strawberry.field(
        description="A phone number (encrypted at rest) is on record for step-up SMS codes.")

    @classmethod
    def of(cls, row: UserRecord) -> UserType:
        return cls(id=strawberry.ID(to_global_id("User", row.id)), username=row.username,
                   display_name=row.display_name, roles=list(row.roles),
                   clearance=ClassificationLevel(row.clearance.name),
                   regions=list(row.regions), active=row.active, has_phone=row.has_phone)


@strawberry.input(description="A new user (admins).")
class UserCreateInput:
    username: str = strawberry.field(description="Login name.")
    password: str = strawberry.field(description="At least 10 characters.")
    display_name: str = strawberry.field(description="Shown name.")
    roles: list[str] = strawberry.field(description="Role names.")
    clearance: ClassificationLevel = strawberry.field(description="At most your own.")
    regions: list[str] = strawberry.field(default_factory=list, description="Sales regions.")
    department_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Departments; the first is the user's home.")
    phone: str | None = strawberry.field(
        default=None, description="Mobile number for step-up SMS codes.")


@strawberry.input(description="Changes to a user (admins); omitted fields stay.")
class UserUpdateInput:
    id: strawberry.ID = strawberry.field(description="The user.")
    roles: list[str] | None = strawberry.field(default=None, description="Role names.")
    clearance: ClassificationLevel | None = strawberry.field(default=None, description="Clearance.")
    regions: list[str] | None = strawberry.field(default=None, description="Sales regions.")
    active: bool | None = strawberry.field(
        default=None, description="False locks the user out and ends their sessions.")
    password: str | None = strawberry.field(
        default=None, description="A new password; ends the user's sessions.")
    department_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Departments; the first is the user's home.")
    phone: str | None = strawberry.field(
        default=None, description="Mobile number for step-up SMS codes; \"\" removes it.")


@strawberry.type(description="Result of userCreate / userUpdate.")
class UserPayload:
    user: UserType = strawberry.field(description="The user.")


async def user_create(info: Info, input: UserCreateInput) -> UserPayload:
    row = await resolve.create_user(
        info.context, input.username, input.password, input.display_name, input.roles,
        Clearance[input.clearance.value], input.regions, [str(v) for v in input.department_ids],
        input.phone)
    return UserPayload(user=UserType.of(row))


async def user_update(info: Info, input: UserUpdateInput) -> UserPayload:
    row = await resolve.update_user(info.context, str(input.id), UserChanges(
        roles=input.roles, regions=input.regions, active=input.active, password=input.password,
        phone=input.phone, clearance=Clearance[input.clearance.value] if input.clearance else None),
        None if input.department_ids is None else [str(v) for v in input.department_ids])
    return UserPayload(user=UserType.of(row))


@strawberry.type(description="A node of the department tree.")
class DepartmentType:
    id: strawberry.ID = strawberry.field(description="Global id.")
    name: str = strawberry.field(description="Name.")
    parent_id: strawberry.ID | None = strawberry.field(description="Parent department.")

    @classmethod
    def of(cls, row: DepartmentRecord) -> DepartmentType:
        return cls(id=strawberry.ID(to_global_id("Department", row.id)), name=row.name,
                   parent_id=strawberry.ID(to_global_id("Department", row.parent_id))
                   if row.parent_id else None)


@strawberry.input(description="A new department (admins).")
class DepartmentCreateInput:
    name: str = strawberry.field(description="Name.")
    parent_id: strawberry.ID | None = strawberry.field(default=None,
                                                       description="Parent department.")


@strawberry.type(description="Result of departmentCreate.")
class DepartmentCreatePayload:
    department: DepartmentType = strawberry.field(description="The new department.")


async def department_create(info: Info, input: DepartmentCreateInput) -> DepartmentCreatePayload:
    row = await resolve.create_department(
        info.context, input.name, None if input.parent_id is None else str(input.parent_id))
    return DepartmentCreatePayload(department=DepartmentType.of(row))


async def departments(info: Info) -> list[DepartmentType]:
    return [DepartmentType.of(row) for row in await resolve.list_departments(info.context)]


# After a security event the session proves itself with a TOTP or SMS code before it reads
# protected fields again.
StepUpMethodEnum = strawberry.enum(StepUpMethod, name="StepUpMethod",
                                   description="A second factor: SMS code or TOTP app.")


@strawberry.type(description="Result of totpEnrol: put the secret into an authenticator app, "
                             "then confirm with totpConfirm.")
class TotpEnrolPayload:
    secret: str = strawberry.field(description="Base32 TOTP secret, shown this once only.")
    provisioning_uri: str = strawberry.field(
        description="otpauth:// URI of the secret (for a QR code).")


@strawberry.input(description="The first code from the authenticator app.")
class TotpConfirmInput:
    code: str = strawberry.field(description="The app's current 6-digit code.")


@strawberry.type(description="Result of totpConfirm.")
class TotpConfirmPayload:
    totp_enabled: bool = strawberry.field(description="TOTP can now be used for step-up.")


@strawberry.input(description="Open a step-up challenge.")
class StepUpStartInput:
    method: StepUpMethod = strawberry.field(description="SMS (a code is sent) or TOTP.")


@strawberry.type(description="Result of stepUpStart.")
class StepUpStartPayload:
    method: StepUpMethod = strawberry.field(description="The challenge's method.")
    expires_at: datetime = strawberry.field(description="Verify before this time (UTC).")
    sent_to: str | None = strawberry.field(
        description="The masked phone number the SMS code went to; null for TOTP.")


@strawberry.input(description="Answer the open step-up challenge.")
class StepUpVerifyInput:
    method: StepUpMethod = strawberry.field(description="The challenge's method.")
    code: str = strawberry.field(description="The 6-digit code.")


@strawberry.type(description="Result of stepUpVerify.")
class StepUpVerifyPayload:
    step_up_required: bool = strawberry.field(
        description="False: protected fields answer again from the next request on.")


async def totp_enrol(info: Info) -> TotpEnrolPayload:
    enrolment = await resolve.totp_enrol(info.context)
    return TotpEnrolPayload(secret=enrolment.secret,
                            provisioning_uri=enrolment.provisioning_uri)


async def totp_confirm(info: Info, input: TotpConfirmInput) -> TotpConfirmPayload:
    await resolve.totp_confirm(info.context, input.code)
    return TotpConfirmPayload(totp_enabled=True)


async def step_up_start(info: Info, input: StepUpStartInput) -> StepUpStartPayload:
    challenge = await resolve.start(info.context, input.method)
    return StepUpStartPayload(method=challenge.method, expires_at=challenge.expires_at,
                              sent_to=challenge.sent_to)


async def step_up_verify(info: Info, input: StepUpVerifyInput) -> StepUpVerifyPayload:
    await resolve.verify(info.context, input.method, input.code)
    return StepUpVerifyPayload(step_up_required=False)
