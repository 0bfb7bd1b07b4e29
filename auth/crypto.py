"""Field encryption at rest (SM4-GCM, versioned keys), SM3 hashing and blind indexes.

Pure functions over bytes and text; no I/O. SM2 signatures live in `auth.sm2`.

Envelope format (stable: rows written with it must stay readable)::

    sm4gcm:v<key version>:<base64url(12-byte nonce)>:<base64url(ciphertext || 16-byte tag)>

base64url without padding. The GCM associated data is ``f"{record_id}\\x1f{field}"`` (UTF-8),
so a ciphertext copied to another row or column fails authentication. Nonces are random
(96 bits), which keeps the collision risk negligible below ~2**32 encryptions per key;
rotate keys well before that.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "CryptoError",
    "KeyRing",
    "blind_index",
    "decrypt_field",
    "derive_key",
    "encrypt_field",
    "envelope_key_version",
    "hmac_sm3",
    "needs_rotation",
    "normalize_for_index",
    "reencrypt_field",
    "seal_token",
    "sm3_hex",
    "unseal_token",
]

KEY_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
MIN_INDEX_KEY_BYTES = 16
_SCHEME = "sm4gcm"
_SEP = "\x1f"
# Nonce: 12 bytes -> exactly 16 base64url chars; ciphertext+tag: at least 16 bytes -> 22 chars.
_ENVELOPE_RE = re.compile(r"sm4gcm:v([1-9][0-9]{0,8}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{22,})")
_HEX_RE = re.compile(r"[0-9A-Fa-f]+")
_VERSION_RE = re.compile(r"[1-9][0-9]{0,8}")


class CryptoError(Exception):
    """A ciphertext or key could not be used; the message never contains secrets."""


class KeyRing:
    """Versioned 16-byte SM4 keys; new envelopes are written with `current`.

    Immutable once built. Never prints key material (`repr` shows versions only).
    """

    __slots__ = ("_current", "_keys")

    def __init__(self, keys: Mapping[int, bytes], current: int | None = None) -> None:
        if not keys:
            raise CryptoError("key ring is empty")
        for version, key in keys.items():
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise CryptoError(f"key version must be a positive integer, got {version!r}")
            if not isinstance(key, bytes) or len(key) != KEY_BYTES:
                size = len(key) if isinstance(key, bytes) else "non-bytes"
                raise CryptoError(
                    f"key version {version}: SM4 key must be {KEY_BYTES} bytes, got {size}"
                )
        chosen = max(keys) if current is None else current
        if chosen not in keys:
            raise CryptoError(f"current key version {chosen} is not in the key ring")
        self._keys: Mapping[int, bytes] = MappingProxyType(dict(keys))
        self._current = chosen

    @classmethod
    def parse(cls, spec: str, current: int | None = None) -> KeyRing:
        """Build from settings text ``"1:<key>,2:<key>"``; each key is 32 hex chars or base64."""
        keys: dict[int, bytes] = {}
        for entry in spec.split(","):
            version_text, sep, key_text = entry.strip().partition(":")
            version_text = version_text.strip()
            if not sep or not _VERSION_RE.fullmatch(version_text):
                raise CryptoError("key ring entries must look like '<version>:<key>'")
            version = int(version_text)
            if version in keys:
                raise CryptoError(f"key version {version} appears twice")
            keys[version] = _decode_key_text(version, key_text.strip())
        return cls(keys, current)

    @staticmethod
    def generate_key() -> str:
        """A fresh random key as 32 hex chars, ready to append as ``"<n>:<key>"``."""
        return secrets.token_hex(KEY_BYTES)

    @property
    def current(self) -> int:
        return self._current

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(sorted(self._keys))

    def key(self, version: int) -> bytes:
        try:
            return self._keys[version]
        except KeyError:
            raise CryptoError(f"unknown key version {version}") from None

    def __repr__(self) -> str:
        return f"KeyRing(versions={list(self.versions)}, current={self._current})"

    __str__ = __repr__


def _decode_key_text(version: int, text: str) -> bytes:
    # All-hex text is read as hex even when its length is wrong: a clear error beats reading
    # a mistyped hex key as base64.
    if _HEX_RE.fullmatch(text):
        if len(text) != 2 * KEY_BYTES:
            raise CryptoError(
                f"key version {version}: hex key must be {2 * KEY_BYTES} hex chars, got {len(text)}"
            )
        return bytes.fromhex(text)
    try:
        raw = base64.b64decode(_pad_b64(text.replace("-", "+").replace("_", "/")), validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError(
            f"key version {version}: key is neither 32 hex chars nor base64"
        ) from None
    if len(raw) != KEY_BYTES:
        raise CryptoError(
            f"key version {version}: SM4 key must be {KEY_BYTES} bytes, got {len(raw)}"
        )
    return raw


def _pad_b64(text: str) -> str:
    return text + "=" * (-len(text) % 4)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    # The envelope regex has already restricted `text` to the base64url alphabet.
    return base64.b64decode(_pad_b64(text), altchars=b"-_", validate=True)


def _associated_data(record_id: str, field: str) -> bytes:
    if not record_id or not field:
        raise ValueError("record_id and field must be non-empty")
    if _SEP in record_id or _SEP in field:
        raise ValueError("record_id and field must not contain the \\x1f separator")
    return f"{record_id}{_SEP}{field}".encode()


def encrypt_field(ring: KeyRing, plaintext: str, *, record_id: str, field: str) -> str:
    """Encrypt `plaintext` with the ring's current key, bound to (`record_id`, `field`)."""
    aad = _associated_data(record_id, field)
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(ring.key(ring.current)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(aad)
    sealed = encryptor.update(plaintext.encode("utf-8")) + encryptor.finalize() + encryptor.tag
    return f"{_SCHEME}:v{ring.current}:{_b64url(nonce)}:{_b64url(sealed)}"


def _parse_envelope(envelope: str) -> tuple[int, bytes, bytes]:
    match = _ENVELOPE_RE.fullmatch(envelope) if isinstance(envelope, str) else None
    if match is None:
        raise CryptoError("malformed encrypted field envelope")
    try:
        nonce, sealed = _unb64url(match.group(2)), _unb64url(match.group(3))
    except (binascii.Error, ValueError):
        raise CryptoError("malformed encrypted field envelope") from None
    if len(nonce) != NONCE_BYTES or len(sealed) < TAG_BYTES:
        raise CryptoError("malformed encrypted field envelope")
    return int(match.group(1)), nonce, sealed


def decrypt_field(ring: KeyRing, envelope: str, *, record_id: str, field: str) -> str:
    """Decrypt an envelope from `encrypt_field`; `CryptoError` if it is not authentic here."""
    aad = _associated_data(record_id, field)
    version, nonce, sealed = _parse_envelope(envelope)
    key = ring.key(version)
    ciphertext, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(aad)
    try:
        plaintext = decryptor.update(ciphertext) + decryptor.finalize()
        return plaintext.decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        raise CryptoError(
            f"encrypted field failed authentication (key version {version})"
        ) from None


def envelope_key_version(envelope: str) -> int:
    """The key version an envelope was written with (for finding rows to rotate)."""
    return _parse_envelope(envelope)[0]


def needs_rotation(ring: KeyRing, envelope: str) -> bool:
    """True when the envelope is not under the ring's current key."""
    return envelope_key_version(envelope) != ring.current


def reencrypt_field(ring: KeyRing, envelope: str, *, record_id: str, field: str) -> str:
    """Rewrite an envelope under the current key (a no-op copy if already current)."""
    if not needs_rotation(ring, envelope):
        return envelope
    plaintext = decrypt_field(ring, envelope, record_id=record_id, field=field)
    return encrypt_field(ring, plaintext, record_id=record_id, field=field)


def sm3_hex(data: bytes) -> str:
    """SM3 digest (GB/T 32905-2016) as 64 lowercase hex chars."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC-SM3 tag (32 bytes)."""
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data)
    return mac.finalize()


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 16-byte SM4 key for one `purpose`, derived from a longer-lived secret with HMAC-SM3:
    keys for different purposes are unrelated, and none reveals the secret."""
    if len(secret) < MIN_INDEX_KEY_BYTES or not purpose:
        raise CryptoError("key derivation needs a secret of at least 16 bytes and a purpose")
    return hmac_sm3(secret, f"graph-crm key{_SEP}{purpose}".encode())[:KEY_BYTES]


def seal_token(key: bytes, plaintext: bytes, *, context: str) -> str:
    """SM4-GCM `plaintext` under `key`, bound to `context` (associated data), as base64url of
    nonce || ciphertext || tag: opaque to the holder, and any change to it is detected."""
    nonce = os.urandom(NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(context.encode())
    sealed = encryptor.update(plaintext) + encryptor.finalize() + encryptor.tag
    return _b64url(nonce + sealed)


def unseal_token(key: bytes, token: str, *, context: str) -> bytes:
    """The plaintext of a `seal_token` result; `CryptoError` if it was not sealed with this
    key for this context, or was changed."""
    try:
        raw = base64.b64decode(_pad_b64(token), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise CryptoError("malformed sealed token") from None
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise CryptoError("malformed sealed token")
    nonce, ciphertext, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    decryptor.authenticate_additional_data(context.encode())
    try:
        return decryptor.update(ciphertext) + decryptor.finalize()
    except InvalidTag:
        raise CryptoError("sealed token failed authentication") from None


def _normalize_phone(value: str) -> str:
    digits = "".join(ch for ch in value if "0" <= ch <= "9")
    # +86 / 86 / 0086 in front of an 11-digit mainland mobile number.
    if len(digits) == 13 and digits.startswith("86"):
        return digits[2:]
    if len(digits) == 15 and digits.startswith("0086"):
        return digits[4:]
    return digits


def _normalize_email(value: str) -> str:
    return value.strip().lower()


def _normalize_id_number(value: str) -> str:
    return "".join(value.split()).upper()


_NORMALIZERS: Mapping[str, Callable[[str], str]] = MappingProxyType(
    {"phone": _normalize_phone, "email": _normalize_email, "id_number": _normalize_id_number}
)


def normalize_for_index(field: str, value: str) -> str:
    """Canonical form of `value` for equality search on `field` (phone, email, id_number).

    NFKC first, so full-width input from Chinese IMEs (``１３８…``, ``Ａ＠ｂ．ｃｏｍ``)
    matches its ASCII form.
    """
    try:
        normalizer = _NORMALIZERS[field]
    except KeyError:
        raise ValueError(f"no blind-index normaliser for field {field!r}") from None
    return normalizer(unicodedata.normalize("NFKC", value))


def blind_index(key: bytes, value: str, *, field: str) -> str:
    """Keyed SM3 index (hex) of the normalised value; the field name is mixed in.

    Use a key dedicated to indexing, never an SM4 field key. Raises ValueError when
    nothing is left to index, so junk inputs never all share one index value.
    """
    if len(key) < MIN_INDEX_KEY_BYTES:
        raise ValueError(f"blind-index key must be at least {MIN_INDEX_KEY_BYTES} bytes")
    normalized = normalize_for_index(field, value)
    if not normalized:
        raise ValueError(f"value for {field!r} is empty after normalisation")
    return hmac_sm3(key, f"{field}{_SEP}{normalized}".encode()).hex()
