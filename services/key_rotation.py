"""`crm keys rotate` / `crm keys status`, and the encryption of legacy plaintext at start.

Rows are visited by id in short batches, each its own transaction that locks its rows with
`FOR UPDATE SKIP LOCKED`: a row a request is changing right now is skipped (that request
writes it under the current key anyway) instead of waited for, so the app keeps serving.
Idempotent: rows already on the current key are never selected.

Adding a key version without downtime: give every instance `FIELD_KEYS="1:…,2:…"` with
`FIELD_KEY_CURRENT=1` (they can now read version 2), then drop `FIELD_KEY_CURRENT` (new writes
use 2), then run `crm keys rotate`; only after `crm keys status` shows no version-1 envelope
may key 1 leave the ring.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from auth.field_cipher import CryptoError, FieldCipher
from relational.ledger import Ledger, Reader
from relational.models import Contact
from relational.repositories import contacts as repo
from relational.repositories import identity as identity_repo
from relational.repositories import money as money_repo
from relational.uow import RequestMeta
from services import contact_fields as fields
from services.contracts import KEY_FIELD as SIGNING_FIELD
from services.identity.step_up import TOTP_FIELD
from services.identity.users import PHONE_FIELD

DEFAULT_BATCH = 500
_MAX_PASSES = 5

log = logging.getLogger("crm.keys")


@dataclass
class RotationReport:
    current: int
    plaintext_only: bool = False
    encrypted: int = 0  # rows whose legacy plaintext was encrypted (and cleared)
    reencrypted: int = 0  # rows whose envelopes moved to the current key
    batches: int = 0
    failed: set[uuid.UUID] = field(default_factory=set)  # envelopes that do not decrypt
    pending: int = 0  # rows still to do afterwards: locked by transactions, or failed
    identity: int = 0  # users' phone envelopes and TOTP secrets re-encrypted

    @property
    def complete(self) -> bool:
        return self.pending == 0

    def summary(self) -> list[str]:
        lines = [f"encrypted legacy plaintext in {self.encrypted} contacts"]
        if not self.plaintext_only:
            lines[0] += (f"; re-encrypted {self.reencrypted} contacts to key version "
                         f"{self.current} ({self.batches} batches)")
        if self.failed:
            lines.append(f"{len(self.failed)} contacts hold envelopes that do not decrypt "
                         f"(see the log): {', '.join(sorted(map(str, self.failed)))}")
        if self.pending:
            lines.append(f"{self.pending} contacts still to do (locked by running "
                         "transactions, or failed); run again")
        elif not self.plaintext_only:
            lines.append(f"every contact field is on key version {self.current}")
        if not self.plaintext_only:
            lines.append(f"re-encrypted {self.identity} user phone numbers and TOTP secrets")
        return lines


@dataclass(frozen=True)
class KeyStatus:
    versions: tuple[int, ...]
    current: int
    envelopes: dict[str, dict[str, int]]  # field -> {"v1": n, …, "plaintext": n}

    def summary(self) -> list[str]:
        lines = [describe_ring(self.versions, self.current)]
        for name, counts in self.envelopes.items():
            described = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
            lines.append(f"{name}: {described or 'none'}")
        return lines


def describe_ring(versions: tuple[int, ...], current: int) -> str:
    return f"key ring: versions {', '.join(map(str, versions))}; current {current}"


Progress = Callable[[int, int], None]  # (rows done, rows to do)


def _ignore(done: int, total: int) -> None:
    return None


async def rotate(
    ledger: Ledger, cipher: FieldCipher, *, batch: int = DEFAULT_BATCH,
    plaintext_only: bool = False, progress: Progress = _ignore,
) -> RotationReport:
    """Encrypt legacy plaintext and (unless `plaintext_only`) re-encrypt envelopes of older
    key versions under the current one. A few passes at most: rows locked during one pass are
    picked up by the next, and an instance still writing under an old key cannot keep this
    running forever (it shows up as `pending`). Interrupted (Ctrl-C), the batches committed so
    far stay done and the batch in flight rolls back: the next run continues with the rest."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    prefix = None if plaintext_only else cipher.current_prefix
    report = RotationReport(current=cipher.keyring.current, plaintext_only=plaintext_only)
    async with ledger.read() as session:
        total = await repo.count_needing_keys(session, prefix=prefix)
    progress(0, total)
    for _ in range(_MAX_PASSES):
        progressed = await _pass(ledger, cipher, prefix, batch, report,
                                 lambda: progress(report.encrypted + report.reencrypted
                                                  + len(report.failed), total))
        async with ledger.read() as session:
            report.pending = await repo.count_needing_keys(session, prefix=prefix)
        if report.pending <= len(report.failed) or not progressed:
            break
    if prefix is not None:
        report.identity = await _rekey_identity(ledger, cipher, prefix)
    return report


async def _rekey_identity(ledger: Ledger, cipher: FieldCipher, prefix: str) -> int:
    """Users' phone numbers, TOTP secrets (services/step_up.py) and SM2 signing keys
    (services/contracts.py) onto the current key."""
    meta = RequestMeta(actor="system:keys", reason=f"key rotation to v{cipher.keyring.current}")
    async with ledger.uow(meta) as uow:
        users, credentials = await identity_repo.lock_stale_envelopes(uow.session, prefix)
        signing = await money_repo.lock_stale_signing_keys(uow.session, prefix)
        rows = [(user, "phone_envelope", PHONE_FIELD, user.id) for user in users] + [
            (c, "secret_envelope", TOTP_FIELD, c.user_id) for c in credentials] + [
            (key, "private_envelope", SIGNING_FIELD, key.user_id) for key in signing]
        changed: list[str] = []
        for row, attribute, name, user_id in rows:
            try:
                setattr(row, attribute, cipher.reencrypt(user_id, name, getattr(row, attribute)))
            except CryptoError as error:
                log.error("user %s: cannot re-encrypt %s: %s", user_id, name, error)
                continue
            changed.append(str(user_id))
        if changed:
            uow.audit("user.rekey", sorted(set(changed)), after={
                "keyVersion": cipher.keyring.current, "envelopes": len(changed)})
    return len(changed)


async def _pass(ledger: Ledger, cipher: FieldCipher, prefix: str | None, batch: int,
                report: RotationReport, step: Callable[[], None]) -> int:
    """One walk over the table by id, a transaction per batch; returns the rows changed."""
    after: uuid.UUID | None = None
    progressed = 0
    meta = RequestMeta(actor="system:keys", reason=f"key rotation to v{report.current}"
                       if prefix else "encrypt legacy plaintext")
    while True:
        async with ledger.uow(meta) as uow:
            rows = await repo.lock_needing_keys(uow.session, prefix=prefix, after=after,
                                                limit=batch)
            if not rows:
                return progressed
            after = rows[-1].id
            done = _rekey_all(cipher, rows, reencrypt=prefix is not None, failed=report.failed)
            await uow.session.flush()
            changed = done["encrypted"] + done["reencrypted"]
            if changed:
                uow.audit("contact.rekey", changed, after={
                    "keyVersion": report.current, "encrypted": len(done["encrypted"]),
                    "reencrypted": len(done["reencrypted"])})
        report.batches += 1
        report.encrypted += len(done["encrypted"])
        report.reencrypted += len(done["reencrypted"])
        progressed += len(changed)
        step()


def _rekey_all(cipher: FieldCipher, rows: list[Contact], *, reencrypt: bool,
               failed: set[uuid.UUID]) -> dict[str, list[str]]:
    """Ids of the rows encrypted / re-encrypted; a row that does not decrypt stays as it is."""
    done: dict[str, list[str]] = {"encrypted": [], "reencrypted": []}
    for row in rows:
        try:
            outcome = fields.rekey(cipher, row, reencrypt=reencrypt)
        except CryptoError as error:
            log.error("contact %s: cannot re-encrypt: %s", row.id, error)
            failed.add(row.id)
            continue
        if outcome != "current":
            done[outcome].append(str(row.id))
    return done


async def status(read: Reader, cipher: FieldCipher) -> KeyStatus:
    async with read() as session:
        envelopes = {**await repo.envelope_versions(session),
                     **await identity_repo.envelope_versions(session)}
    ring = cipher.keyring
    return KeyStatus(versions=ring.versions, current=ring.current, envelopes=envelopes)
