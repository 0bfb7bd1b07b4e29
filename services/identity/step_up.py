"""Step-up verification: a login session flagged by a security event (services/
security_events.py) reads no protected field until it passes a second factor — a TOTP code
from an enrolled authenticator app, or a code sent by SMS to the phone on record.

Codes and secrets never reach the audit log: TOTP secrets are SM4 envelopes, SMS codes keyed
SM3 hashes. Wrong codes count; past `STEP_UP_MAX_ATTEMPTS` the challenge is burned.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from auth import otp
from auth.actor import Actor
from auth.field_cipher import FieldCipher
from auth.masking import MaskKind, mask
from relational.identity_models import StepUpChallenge, TotpCredential
from relational.ledger import Reader
from relational.repositories import identity as repo
from relational.repositories import rate_limits
from relational.uow import UnitOfWork
from services.errors import (
    BadUserInput,
    Conflict,
    Forbidden,
    StepUpRequired,
    TooManyAttempts,
    Unauthenticated,
)
from services.identity import sms, users
from settings import Settings

TOTP_FIELD = "totpSecret"  # the envelope's field name


class StepUpMethod(StrEnum):
    SMS = "SMS"
    TOTP = "TOTP"


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    provisioning_uri: str


@dataclass(frozen=True)
class Challenge:
    method: StepUpMethod
    expires_at: datetime
    sent_to: str | None  # the masked phone number of an SMS challenge


def _now() -> datetime:
    return datetime.now(UTC)


def _session(actor: Actor) -> tuple[uuid.UUID, uuid.UUID]:
    """The (user, login session) of a signed-in user; API tokens have no second factor."""
    if not actor.authenticated:
        raise Unauthenticated("log in first")
    if actor.user_id is None or actor.session_id is None:
        raise Forbidden("second factors belong to signed-in users, not API tokens")
    return actor.user_id, actor.session_id


async def totp_enabled(read: Reader, actor: Actor) -> bool:
    if actor.user_id is None or actor.session_id is None:  # anonymous, or an API token
        return False
    async with read() as session:
        return await repo.totp_enabled(session, actor.user_id)


async def totp_enrol(uow: UnitOfWork, cipher: FieldCipher, settings: Settings,
                     actor: Actor) -> TotpEnrolment:
    """A new (unconfirmed) TOTP secret; replaces an earlier unconfirmed one."""
    user_id, _ = _session(actor)
    if actor.step_up_required:
        raise StepUpRequired("pass step-up verification before adding a second factor")
    credential = await repo.totp_credential(uow.session, user_id, lock=True)
    if credential is not None and credential.confirmed_at is not None:
        raise Conflict("TOTP is already enabled")
    secret = otp.new_totp_secret()
    envelope = cipher.encrypt(user_id, TOTP_FIELD, secret)
    if credential is None:
        uow.session.add(TotpCredential(user_id=user_id, secret_envelope=envelope))
    else:
        credential.secret_envelope, credential.last_step = envelope, 0
    uow.audit("auth.stepUpTotpEnrol", [str(user_id)], after={"session": str(actor.session_id)})
    return TotpEnrolment(secret, otp.provisioning_uri(secret, actor.username or str(user_id)))


async def totp_confirm(uow: UnitOfWork, cipher: FieldCipher, settings: Settings, actor: Actor,
                       code: str) -> None:
    """Activate the enrolled secret with a first code from the app."""
    user_id, _ = _session(actor)
    if actor.step_up_required:
        raise StepUpRequired("pass step-up verification before adding a second factor")
    credential = await repo.totp_credential(uow.session, user_id, lock=True)
    if credential is None:
        raise BadUserInput("call totpEnrol first", field="code")
    if credential.confirmed_at is not None:
        raise Conflict("TOTP is already enabled")
    step = _totp_step(cipher, settings, credential, code)
    if step is None:
        uow.audit("auth.stepUpTotpConfirmFailed", [str(user_id)],
                  after={"session": str(actor.session_id)})
        raise BadUserInput("the code is wrong or expired", field="code").keeping_changes()
    credential.confirmed_at, credential.last_step = _now(), step
    uow.audit("auth.stepUpTotpConfirm", [str(user_id)], after={"session": str(actor.session_id)})


def _totp_step(cipher: FieldCipher, settings: Settings, credential: TotpCredential,
               code: str) -> int | None:
    secret = cipher.open(credential.user_id, TOTP_FIELD, credential.secret_envelope)
    return otp.totp_step(secret, code.strip(), time.time(), credential.last_step)


async def _require_pending(uow: UnitOfWork, session_id: uuid.UUID) -> None:
    if not await repo.step_up_pending(uow.session, session_id):
        raise Conflict("this session needs no step-up verification")


async def _count_start(uow: UnitOfWork, cipher: FieldCipher, settings: Settings,
                       session_id: uuid.UUID) -> None:
    """At most `STEP_UP_STARTS_PER_HOUR` challenges per session: 5 guesses each would
    otherwise add up to a brute force of the 10⁶ codes."""
    epoch = int(time.time())
    window = datetime.fromtimestamp(epoch - epoch % 3600, UTC)
    started = await rate_limits.hit(uow.session, f"stepUp:{session_id}", window)
    if started > settings.step_up_starts_per_hour:
        raise TooManyAttempts("too many step-up challenges; try again within the hour",
                              field="method").keeping_changes()


async def start(uow: UnitOfWork, cipher: FieldCipher, settings: Settings, actor: Actor,
                method: StepUpMethod) -> Challenge:
    """Open a challenge (and send its code, for SMS); earlier open ones are superseded."""
    user_id, session_id = _session(actor)
    await _require_pending(uow, session_id)
    await _count_start(uow, cipher, settings, session_id)
    now = _now()
    expires = now + timedelta(minutes=settings.step_up_code_minutes)
    challenge = StepUpChallenge(id=uuid.uuid4(), session_id=session_id, user_id=user_id,
                                method=method.value, attempts=0, expires_at=expires)
    sent_to = None
    if method is StepUpMethod.SMS:
        sent_to = await _send_code(uow, cipher, settings, user_id, challenge)
    elif not await repo.totp_enabled(uow.session, user_id):
        raise BadUserInput("TOTP is not enabled for this user", field="method")
    await repo.close_open_challenges(uow.session, session_id, "superseded", now)
    uow.session.add(challenge)
    uow.audit("auth.stepUpStart", [str(user_id)], after={
        "session": str(session_id), "method": method.value, "sentTo": sent_to})
    return Challenge(method, expires, sent_to)


async def _send_code(uow: UnitOfWork, cipher: FieldCipher, settings: Settings, user_id: uuid.UUID,
                     challenge: StepUpChallenge) -> str:
    user = await repo.user_by_id(uow.session, user_id)
    phone = users.phone_of(cipher, user) if user is not None else None
    if phone is None:
        raise BadUserInput("no phone number on record; ask an administrator, or use TOTP",
                           field="method")
    code = otp.new_sms_code()
    challenge.code_hash = otp.sms_code_hash(cipher.blind_key, challenge.id, code)
    await sms.gateway(settings).send(phone, code)
    return mask(MaskKind.PHONE, phone)


async def verify(uow: UnitOfWork, cipher: FieldCipher, settings: Settings, actor: Actor,
                 method: StepUpMethod,
                 code: str) -> None:
    """Check the code of the session's open challenge; right: the step-up is passed."""
    user_id, session_id = _session(actor)
    await _require_pending(uow, session_id)
    challenge = await repo.open_challenge(uow.session, session_id, method.value)
    if challenge is None:
        raise BadUserInput("no open challenge for this method; call stepUpStart",
                           field="method")
    now, audit_after = _now(), {"session": str(session_id), "method": method.value}
    if challenge.expires_at <= now:
        challenge.closed_at, challenge.outcome = now, "expired"
        uow.audit("auth.stepUpExpired", [str(user_id)], after=audit_after)
        raise BadUserInput("the challenge has expired; call stepUpStart again",
                           field="code").keeping_changes()
    if await _code_matches(uow, cipher, settings, challenge, code.strip()):
        challenge.closed_at, challenge.outcome = now, "verified"
        await repo.clear_step_up(uow.session, session_id, now)
        uow.audit("auth.stepUpVerify", [str(user_id)], after=audit_after)
        return
    await _wrong_code(uow, cipher, settings, challenge, now, audit_after)


async def _code_matches(uow: UnitOfWork, cipher: FieldCipher, settings: Settings,
                        challenge: StepUpChallenge,
                        code: str) -> bool:
    if challenge.method == StepUpMethod.SMS.value:
        digest = otp.sms_code_hash(cipher.blind_key, challenge.id, code)
        return challenge.code_hash is not None and otp.same_hash(challenge.code_hash, digest)
    credential = await repo.totp_credential(uow.session, challenge.user_id, lock=True)
    if credential is None or credential.confirmed_at is None:
        return False
    step = _totp_step(cipher, settings, credential, code)
    if step is None:
        return False
    credential.last_step = step
    return True


async def _wrong_code(uow: UnitOfWork, cipher: FieldCipher, settings: Settings,
                      challenge: StepUpChallenge,
                      now: datetime, audit_after: dict[str, str]) -> None:
    """Count the attempt and commit it before refusing: the count must survive the error."""
    challenge.attempts += 1
    left = settings.step_up_max_attempts - challenge.attempts
    burned = left <= 0
    if burned:
        challenge.closed_at, challenge.outcome = now, "burned"
    uow.audit("auth.stepUpBurned" if burned else "auth.stepUpFailed", [str(challenge.user_id)],
              after={**audit_after, "attempts": challenge.attempts})
    if burned:
        raise TooManyAttempts("too many wrong codes; this challenge is burned, call "
                              "stepUpStart for a new one", field="code").keeping_changes()
    raise BadUserInput(f"the code is wrong; {left} attempt(s) left",
                       field="code").keeping_changes()
