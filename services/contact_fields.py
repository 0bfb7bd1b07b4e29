"""A contact's protected fields (phone, e-mail, 居民身份证号): their input rules, and the move
between plaintext and the row's envelopes and blind indexes.

The associated data of every envelope is (contact id, field name), so an envelope copied to
another contact or another column does not decrypt. A field that does not decrypt is reported
per field (`ContactRecord.protected`), so one damaged value never hides the rest of a page.
"""

from __future__ import annotations

import logging
import re
import unicodedata
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Literal

from auth.field_cipher import CryptoError, FieldCipher
from relational.models import PROTECTED_CONTACT_FIELDS, Contact
from services.errors import BadUserInput, ProtectedDataUnreadable
from services.id_numbers import resident_id_check_digit

PROTECTED = PROTECTED_CONTACT_FIELDS
# The API's (and the audit trail's) name of each protected field.
PUBLIC_NAMES = {"phone": "phone", "email": "email", "id_number": "idNumber"}

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,30}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
_EARLIEST_BIRTH = date(1900, 1, 1)

log = logging.getLogger("crm.contacts")


def phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    if not _PHONE.match(value.strip()):
        raise BadUserInput("`phone` is not a phone number", field="phone")
    return value.strip()


def email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = value.strip()
    if len(cleaned) > 254 or not _EMAIL.match(cleaned):
        raise BadUserInput("`email` is not an e-mail address", field="email")
    return cleaned


def id_number(value: str | None) -> str | None:
    """An 18-character 居民身份证号: region, a real birth date, sequence, GB 11643 check
    character. Stored without spaces, `x` upper-cased (full-width input accepted)."""
    if value is None or not value.strip():
        return None
    cleaned = "".join(unicodedata.normalize("NFKC", value).split()).upper()
    if (not _ID_NUMBER.fullmatch(cleaned) or not _real_birth_date(cleaned[6:14])
            or resident_id_check_digit(cleaned[:17]) != cleaned[17]):
        raise BadUserInput("`idNumber` is not a valid 居民身份证号 (18 characters, GB 11643 "
                           "check character)", field="idNumber")
    return cleaned


def _real_birth_date(text: str) -> bool:
    try:
        born = datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return False
    return _EARLIEST_BIRTH <= born <= date.today()


class ContactRecord:
    """A contact as use cases hand it out. Protected fields are opened on first use: a page
    read decrypts only the fields the request asks for (and holds no other plaintext). A field
    whose envelope fails authentication is logged, then reads as None and is named in
    `unreadable`; `protected` raises for it, so one damaged value never hides the rest of a
    page."""

    __slots__ = (
        "_cipher",
        "_clear",
        "_failed",
        "_sealed",
        "account_id",
        "created_at",
        "department",
        "id",
        "name",
        "title",
        "updated_at",
        "works_since",
        "works_until",
    )

    def __init__(self, row: Contact, *, clear: Mapping[str, str | None] | None = None,
                 unreadable: frozenset[str] = frozenset(),
                 cipher: FieldCipher | None = None) -> None:
        self.id: uuid.UUID = row.id
        self.account_id: uuid.UUID = row.account_id
        self.name: str = row.name
        self.title: str | None = row.title
        self.department: str | None = row.department
        self.works_since: date | None = row.works_since
        self.works_until: date | None = row.works_until
        self.created_at: datetime = row.created_at
        self.updated_at: datetime = row.updated_at
        self._failed = set(unreadable)
        self._cipher = cipher
        self._clear: dict[str, str | None] = {}
        self._sealed: dict[str, tuple[str | None, str | None]] = {}
        if cipher is None:
            self._clear = {name: (clear or {}).get(name) for name in PROTECTED}
        else:
            # Copied now: the row's session may be gone (or the row deleted) when a field is read.
            self._sealed = {name: (_legacy(row, name), getattr(row, f"{name}_enc"))
                            for name in PROTECTED}

    def __repr__(self) -> str:
        return f"ContactRecord(id={self.id!r}, name={self.name!r})"

    def _value(self, name: str) -> str | None:
        if name in self._clear:
            return self._clear[name]
        if name in self._failed or self._cipher is None:
            return None
        legacy, envelope = self._sealed[name]
        try:
            # Legacy plaintext was written by an older instance mid-rollout: newer than any
            # envelope, and encrypted at the next start or `crm keys rotate`.
            value = legacy if legacy is not None else (
                None if envelope is None else self._cipher.open(self.id, name, envelope))
        except CryptoError as error:
            log.error("contact %s: stored %s does not decrypt: %s", self.id, name, error)
            self._failed.add(name)
            return None
        self._clear[name] = value
        return value

    @property
    def phone(self) -> str | None:
        return self._value("phone")

    @property
    def email(self) -> str | None:
        return self._value("email")

    @property
    def id_number(self) -> str | None:
        return self._value("id_number")

    @property
    def unreadable(self) -> frozenset[str]:
        """The protected fields that failed their integrity check (opens every field)."""
        for name in PROTECTED:
            self._value(name)
        return frozenset(self._failed)

    def protected(self, name: str) -> str | None:
        """The clear value of a protected field; `ProtectedDataUnreadable` if it failed."""
        value = self._value(name)
        if name in self._failed:
            raise ProtectedDataUnreadable(
                f"this contact's stored `{PUBLIC_NAMES[name]}` failed its integrity check; "
                "quote the request id to support")
        return value


def record_of(
    row: Contact, clear: dict[str, str | None], unreadable: frozenset[str] = frozenset()
) -> ContactRecord:
    """A record of values already known in clear (just written)."""
    return ContactRecord(row, clear=clear, unreadable=unreadable)


def reveal(cipher: FieldCipher, row: Contact) -> ContactRecord:
    """`row` for reading: each protected field is decrypted when first read."""
    return ContactRecord(row, cipher=cipher)


def _legacy(row: Contact, name: str) -> str | None:
    return {"phone": row.legacy_phone, "email": row.legacy_email}.get(name)


def seal(cipher: FieldCipher, row: Contact, name: str, value: str | None) -> None:
    """Store `value` (None clears) as envelope + blind index; any legacy plaintext goes."""
    sealed = None if value is None else cipher.seal(row.id, name, value)
    setattr(row, f"{name}_enc", None if sealed is None else sealed.envelope)
    setattr(row, f"{name}_bidx", None if sealed is None else sealed.index)
    if name == "phone":
        row.legacy_phone = None
    elif name == "email":
        row.legacy_email = None


def has(row: Contact, name: str) -> bool:
    return getattr(row, f"{name}_enc") is not None or _legacy(row, name) is not None


def legacy_fields(row: Contact) -> set[str]:
    return {name for name in PROTECTED if _legacy(row, name) is not None}


def rekey(
    cipher: FieldCipher, row: Contact, *, reencrypt: bool = True
) -> Literal["encrypted", "reencrypted", "current"]:
    """Encrypt legacy plaintext and (with `reencrypt`) move envelopes to the current key;
    `CryptoError`, with the row left untouched, if an envelope does not decrypt."""
    legacy = legacy_fields(row)
    updates: dict[str, str] = {}
    for name in PROTECTED if reencrypt else ():
        envelope: str | None = getattr(row, f"{name}_enc")
        if name not in legacy and envelope is not None and not cipher.is_current(envelope):
            updates[name] = cipher.reencrypt(row.id, name, envelope)
    for name in legacy:
        seal(cipher, row, name, (_legacy(row, name) or "").strip() or None)
    for name, envelope in updates.items():
        setattr(row, f"{name}_enc", envelope)  # same plaintext: the blind index stays
    return "encrypted" if legacy else "reencrypted" if updates else "current"
