"""The field-encryption keys as a backup carries them: the key file's text sealed under an
operator's passphrase (scrypt → SM4-GCM), so a stolen backup without the passphrase reveals
no encrypted field, and a restore without the keys is refused loudly rather than silently
serving ciphertext."""

from __future__ import annotations

import base64
import json
import os

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from auth.crypto import CryptoError, seal_token, unseal_token
from auth.keys import key_file
from settings import Settings

__all__ = ["key_file_text", "seal", "unseal"]

_CONTEXT = "graph-crm backup key file"
# scrypt at 64 MiB: a second on a laptop per guess, for whoever copies the backup.
_N, _R, _P = 2**16, 8, 1
_MIN_PASSPHRASE = 12


def key_file_text(settings: Settings) -> str | None:
    """What restores the keys: FIELD_KEYS / FIELD_KEY_CURRENT / BLIND_INDEX_KEY from the
    settings when they are set there, else the key file's text; None when neither exists."""
    if settings.field_keys is not None and settings.blind_index_key is not None:
        lines = [f"FIELD_KEYS={settings.field_keys.get_secret_value()}",
                 f"BLIND_INDEX_KEY={settings.blind_index_key.get_secret_value()}"]
        if settings.field_key_current is not None:
            lines.append(f"FIELD_KEY_CURRENT={settings.field_key_current}")
        return "\n".join(lines) + "\n"
    path = key_file(settings)
    return path.read_text(encoding="utf-8") if path.exists() else None


def _derive(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=16, n=_N, r=_R, p=_P).derive(passphrase.encode())


def seal(text: str, passphrase: str) -> str:
    """The key file sealed under `passphrase`, as a small JSON document."""
    if len(passphrase) < _MIN_PASSPHRASE:
        raise CryptoError(f"the backup passphrase must have at least {_MIN_PASSPHRASE} "
                          "characters")
    salt = os.urandom(16)
    sealed = seal_token(_derive(passphrase, salt), text.encode(), context=_CONTEXT)
    return json.dumps({"kdf": "scrypt", "n": _N, "r": _R, "p": _P,
                       "salt": base64.b64encode(salt).decode(), "sealed": sealed}, indent=1)


def unseal(document: str, passphrase: str) -> str:
    """The key file's text; CryptoError for a wrong passphrase or a changed file."""
    try:
        fields = json.loads(document)
        salt = base64.b64decode(fields["salt"])
        sealed = str(fields["sealed"])
    except (ValueError, KeyError, TypeError):
        raise CryptoError("the sealed key file is malformed") from None
    try:
        return unseal_token(_derive(passphrase, salt), sealed, context=_CONTEXT).decode()
    except CryptoError:
        raise CryptoError("wrong backup passphrase (or the sealed key file was changed)") from None
