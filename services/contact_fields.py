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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class ContactRecord:
    """A contact as use cases hand it out: protected fields in clear, or named in `unreadable`
    when their envelope failed authentication."""

    id: uuid.UUID
    account_id: uuid.UUID
    name: str
    title: str | None
    phone: str | None
    email: str | None
    id_number: str | None
    created_at: datetime
    updated_at: datetime
    unreadable: frozenset[str] = frozenset()

    def protected(self, name: str) -> str | None:
        """The clear value of a protected field; `ProtectedDataUnreadable` if it failed."""
        if name in self.unreadable:
            raise ProtectedDataUnreadable(
                f"this contact's stored `{PUBLIC_NAMES[name]}` failed its integrity check; "
                "quote the request id to support")
        value: str | None = getattr(self, name)
        return value


def record_of(
    row: Contact, clear: dict[str, str | None], unreadable: frozenset[str] = frozenset()
) -> ContactRecord:
    return ContactRecord(
        id=row.id, account_id=row.account_id, name=row.name, title=row.title,
        phone=clear.get("phone"), email=clear.get("email"), id_number=clear.get("id_number"),
        created_at=row.created_at, updated_at=row.updated_at, unreadable=unreadable)


def reveal(cipher: FieldCipher, row: Contact) -> ContactRecord:
    """Decrypt every protected field of `row`; failures are logged and marked, not raised."""
    clear: dict[str, str | None] = {}
    unreadable: set[str] = set()
    for name in PROTECTED:
        try:
            clear[name] = _clear(cipher, row, name)
        except CryptoError as error:
            log.error("contact %s: stored %s does not decrypt: %s", row.id, name, error)
            unreadable.add(name)
    return record_of(row, clear, frozenset(unreadable))


def _legacy(row: Contact, name: str) -> str | None:
    return {"phone": row.legacy_phone, "email": row.legacy_email}.get(name)


def _clear(cipher: FieldCipher, row: Contact, name: str) -> str | None:
    legacy = _legacy(row, name)
    if legacy is not None:
        # Written as plaintext by an older instance mid-rollout: newer than any envelope, and
        # encrypted at the next start or `crm keys rotate`.
        return legacy
    envelope: str | None = getattr(row, f"{name}_enc")
    return None if envelope is None else cipher.open(row.id, name, envelope)


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
