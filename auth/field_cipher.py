"""Protected fields at rest: SM4-GCM envelopes bound to (record id, field) and keyed SM3 blind
indexes for exact-match search. Services encrypt and decrypt here; repositories only ever see
the envelopes and index values this produces."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from auth import crypto
from auth.crypto import CryptoError, KeyRing

__all__ = ["CryptoError", "FieldCipher", "Sealed"]


@dataclass(frozen=True)
class Sealed:
    envelope: str
    index: str | None  # None: nothing searchable left after normalisation


@dataclass(frozen=True)
class FieldCipher:
    keyring: KeyRing
    blind_key: bytes = field(repr=False)

    @property
    def current_prefix(self) -> str:
        """Every envelope written under the current key starts with this (see `auth.crypto`)."""
        return f"sm4gcm:v{self.keyring.current}:"

    def seal(self, record_id: uuid.UUID, name: str, value: str) -> Sealed:
        envelope = crypto.encrypt_field(self.keyring, value, record_id=str(record_id), field=name)
        try:
            index: str | None = self.index(name, value)
        except ValueError:
            index = None
        return Sealed(envelope, index)

    def encrypt(self, record_id: uuid.UUID, name: str, value: str) -> str:
        """An envelope without a blind index (secrets nobody searches for)."""
        return crypto.encrypt_field(self.keyring, value, record_id=str(record_id), field=name)

    def open(self, record_id: uuid.UUID, name: str, envelope: str) -> str:
        """The plaintext; `CryptoError` if the envelope is not authentic for this record/field."""
        return crypto.decrypt_field(self.keyring, envelope, record_id=str(record_id), field=name)

    def reencrypt(self, record_id: uuid.UUID, name: str, envelope: str) -> str:
        return crypto.reencrypt_field(self.keyring, envelope, record_id=str(record_id),
                                      field=name)

    def is_current(self, envelope: str) -> bool:
        return not crypto.needs_rotation(self.keyring, envelope)

    def index(self, name: str, value: str) -> str:
        """Blind index of `value`; ValueError when nothing is left of it after normalisation."""
        return crypto.blind_index(self.blind_key, value, field=name)
