"""Step-up verification types: after a security event the session proves itself with a TOTP
or SMS code before it reads protected fields again."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers import step_up as resolve
from schema.accounts import Info
from services.step_up import StepUpMethod

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
