"""Step-up bindings: TOTP enrolment, challenges and their verification."""

from __future__ import annotations

from resolvers.context import Context
from services import step_up
from services.step_up import Challenge, StepUpMethod, TotpEnrolment


async def totp_enabled(ctx: Context) -> bool:
    return await step_up.totp_enabled(ctx.stores.read, await ctx.actor())


async def totp_enrol(ctx: Context) -> TotpEnrolment:
    async with await ctx.uow() as uow:
        return await step_up.totp_enrol(uow, ctx.stores.cipher, ctx.stores.settings,
                                        await ctx.actor())


async def totp_confirm(ctx: Context, code: str) -> None:
    async with await ctx.uow() as uow:
        await step_up.totp_confirm(uow, ctx.stores.cipher, ctx.stores.settings, await ctx.actor(),
                                   code)


async def start(ctx: Context, method: StepUpMethod) -> Challenge:
    async with await ctx.uow() as uow:
        return await step_up.start(uow, ctx.stores.cipher, ctx.stores.settings, await ctx.actor(),
                                   method)


async def verify(ctx: Context, method: StepUpMethod, code: str) -> None:
    async with await ctx.uow() as uow:
        await step_up.verify(uow, ctx.stores.cipher, ctx.stores.settings, await ctx.actor(),
                             method, code)
